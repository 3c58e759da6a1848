// chat.js: the chat panel: the transcript in seq order, notices from the page, the input, and
// how many messages came that the person has not seen yet (the log scrolled up, or the tab in
// the background): a badge on the panel's heading and a count in the tab's title.

import { el, maxChars } from './dom.js';

function formatTime(ts) {
  const date = new Date(ts);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export class ChatPanel {
  #log;
  #form;
  #input;
  #send;
  #badges;
  #title;
  /** Messages of others shown while nobody could see them. */
  #unread = 0;
  /** The rendered entries, by seq. */
  #entries = new Map();
  #selfId = () => null;
  /** The longest message, from the page (the server's own limit). */
  maxChars;

  /**
   * @param {{ log: HTMLElement, form: HTMLFormElement, input: HTMLTextAreaElement,
   *           send: HTMLButtonElement, badges: HTMLElement[] }} nodes
   * @param {{ selfId: () => string | null, onSend: (text: string) => boolean,
   *           onTooLong: (max: number) => void }} hooks
   */
  constructor({ log, form, input, send, badges }, { selfId, onSend, onTooLong }) {
    this.#log = log;
    this.#form = form;
    this.#input = input;
    this.#send = send;
    this.#badges = badges;
    this.#title = document.title;
    log.addEventListener('scroll', () => this.#maybeSeen());
    document.addEventListener('visibilitychange', () => this.#maybeSeen());
    this.#selfId = selfId;
    this.maxChars = maxChars(input);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = input.value;
      if (text.trim() === '') return;
      if ([...text].length > this.maxChars) {
        onTooLong(this.maxChars);
        return;
      }
      if (onSend(text)) input.value = '';
    });
    input.addEventListener('keydown', (ev) => {
      // Enter sends, Shift+Enter makes a new line; Enter that ends an IME composition (Korean,
      // Japanese, ...) only confirms the composed text.
      if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
      ev.preventDefault();
      this.#form.requestSubmit();
    });
  }

  setEnabled(enabled) {
    this.#input.disabled = !enabled;
    this.#send.disabled = !enabled;
  }

  /** Shows `entries` (in seq order) instead of what is there. */
  reset(entries) {
    this.#entries.clear();
    this.#log.replaceChildren();
    for (const entry of entries) this.add(entry);
    this.#log.scrollTop = this.#log.scrollHeight;
    this.#setUnread(0);
  }

  /** How many messages came that nobody has seen yet. */
  get unread() {
    return this.#unread;
  }

  /** Adds one entry in seq order; an entry already shown is ignored. */
  add(entry) {
    if (typeof entry.seq !== 'number' || this.#entries.has(entry.seq)) return;
    const stick = this.#atBottom();
    const mine = entry.from === this.#selfId();
    const li = el('li', mine ? 'chat-entry mine' : 'chat-entry');
    li.dataset.seq = String(entry.seq);
    const meta = el('div', 'chat-meta');
    const time = el('time', 'chat-time', formatTime(entry.ts));
    if (Number.isFinite(entry.ts)) time.dateTime = new Date(entry.ts).toISOString();
    meta.append(el('span', 'chat-name', entry.name), time);
    const text = el('div', 'chat-text', entry.text);
    text.dir = 'auto';
    li.append(meta, text);
    // Frames arrive in order, so this is nearly always an append; the search keeps the
    // transcript in seq order even if they do not.
    let next = null;
    for (const [seq, node] of this.#entries) {
      if (seq > entry.seq && (next === null || seq < Number(next.dataset.seq))) next = node;
    }
    this.#log.insertBefore(li, next);
    this.#entries.set(entry.seq, li);
    if (stick || mine) this.#log.scrollTop = this.#log.scrollHeight;
    if (!mine && (document.hidden || !this.#atBottom())) this.#setUnread(this.#unread + 1);
  }

  /** A line from the page itself (someone joined, left, renamed), not part of the transcript. */
  notice(text) {
    const stick = this.#atBottom();
    this.#log.append(el('li', 'chat-notice', text));
    if (stick) this.#log.scrollTop = this.#log.scrollHeight;
  }

  /** Seen once the tab is in front and the log, on screen, is scrolled to its end. */
  #maybeSeen() {
    if (!document.hidden && this.#atBottom()) this.#setUnread(0);
  }

  /** The log came on screen (a phone's chat panel opened): what it shows is seen. */
  shown() {
    this.#log.scrollTop = this.#log.scrollHeight;
    this.#maybeSeen();
  }

  #setUnread(count) {
    this.#unread = count;
    for (const badge of this.#badges) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
      badge.setAttribute('aria-label', `${count} unread`);
    }
    document.title = count === 0 ? this.#title : `(${count}) ${this.#title}`;
  }

  #atBottom() {
    // A log that is not drawn (a phone's closed chat panel) shows nothing.
    if (this.#log.offsetParent === null) return false;
    return this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
  }
}
