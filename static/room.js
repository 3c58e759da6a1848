// room.js: the room page. Joins the room named in #room-page[data-room], draws the members and
// the chat, and sends chat and renames. All socket traffic goes through protocol.js; text from
// other people only ever reaches the page through textContent.

import { Connection } from './protocol.js';
import { checkName, loadNickname, maxChars, saveNickname } from './common.js';

const page = document.getElementById('room-page');
const status = document.getElementById('status');
const errorBanner = document.getElementById('error');
const copyLinkButton = document.getElementById('copy-link');
const nicknameForm = document.getElementById('nickname-form');
const nicknameInput = document.getElementById('nickname');
const renameButton = document.getElementById('rename');
const membersList = document.getElementById('members');
const memberCount = document.getElementById('member-count');
const chatLog = document.getElementById('chat-log');
const chatForm = document.getElementById('chat-form');
const chatInput = document.getElementById('chat-input');
const chatSend = document.getElementById('chat-send');

const roomName = page.dataset.room;
const NICKNAME_MAX = maxChars(nicknameInput, 32);
/** Longest chat message, as src/chat.rs says. */
const TEXT_MAX_CHARS = 2000;
/** Error codes after which this page cannot be in its room. */
const FATAL_ERRORS = new Set(['room_full', 'invalid_room']);

/** Everyone in the room, this connection included, by id, in the order they joined. */
const members = new Map();
/** The chat entries shown, by seq. */
const entries = new Map();
let inRoom = false;

// ---- small DOM helpers -------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let errorTimer = 0;

/** Shows a message in the alert banner; non-sticky messages go away after a while. */
function showError(message, { sticky = false, action = null } = {}) {
  clearTimeout(errorTimer);
  const text = el('span', 'banner-text', message);
  const close = el('button', 'banner-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', hideError);
  errorBanner.replaceChildren(text, ...(action ? [action] : []), close);
  errorBanner.hidden = false;
  if (!sticky) errorTimer = setTimeout(hideError, 8000);
}

function hideError() {
  clearTimeout(errorTimer);
  errorBanner.hidden = true;
  errorBanner.replaceChildren();
}

function setChatEnabled(enabled) {
  chatInput.disabled = !enabled;
  chatSend.disabled = !enabled;
}

// ---- members -----------------------------------------------------------------------------

function mediaFlag(kind, on) {
  const label = kind === 'audio' ? 'Microphone' : 'Camera';
  const flag = el('span', `media-flag ${kind} ${on ? 'on' : 'off'}`, kind === 'audio' ? 'mic' : 'cam');
  flag.title = `${label} ${on ? 'on' : 'off'}`;
  flag.setAttribute('aria-label', flag.title);
  return flag;
}

function renderMembers() {
  const items = [...members.values()].map((m) => {
    const li = el('li', 'member');
    li.dataset.peerId = m.id;
    const name = el('span', 'member-name', m.name);
    li.append(name);
    if (m.id === conn.id) {
      li.classList.add('me');
      li.append(el('span', 'member-you', '(you)'));
    }
    const media = el('span', 'member-media');
    media.append(mediaFlag('audio', m.audio), mediaFlag('video', m.video));
    li.append(media);
    return li;
  });
  membersList.replaceChildren(...items);
  memberCount.textContent = String(members.size);
}

function memberName(id) {
  return members.get(id)?.name ?? 'Someone';
}

// ---- chat --------------------------------------------------------------------------------

function isScrolledToBottom() {
  return chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
}

function formatTime(ts) {
  const date = new Date(ts);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Adds one entry in seq order; an entry already shown is ignored. */
function addChat(entry) {
  if (typeof entry.seq !== 'number' || entries.has(entry.seq)) return;
  const stick = isScrolledToBottom();

  const li = el('li', 'chat-entry');
  li.dataset.seq = String(entry.seq);
  if (entry.from === conn.id) li.classList.add('mine');
  const meta = el('div', 'chat-meta');
  const time = el('time', 'chat-time', formatTime(entry.ts));
  if (Number.isFinite(entry.ts)) time.dateTime = new Date(entry.ts).toISOString();
  meta.append(el('span', 'chat-name', entry.name), time);
  li.append(meta, el('div', 'chat-text', entry.text));

  // Frames arrive in order, so this is nearly always an append; the search keeps the
  // transcript in seq order even if they do not.
  let next = null;
  for (const [seq, node] of entries) {
    if (seq > entry.seq && (next === null || seq < Number(next.dataset.seq))) next = node;
  }
  chatLog.insertBefore(li, next);
  entries.set(entry.seq, li);

  if (stick || entry.from === conn.id) chatLog.scrollTop = chatLog.scrollHeight;
}

/** A line from the page itself (someone joined, left, renamed), not part of the transcript. */
function addNotice(text) {
  const stick = isScrolledToBottom();
  chatLog.append(el('li', 'chat-notice', text));
  if (stick) chatLog.scrollTop = chatLog.scrollHeight;
}

function resetChat(history) {
  entries.clear();
  chatLog.replaceChildren();
  for (const entry of history) addChat(entry);
  chatLog.scrollTop = chatLog.scrollHeight;
}

chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = chatInput.value;
  if (text.trim() === '') return;
  if ([...text].length > TEXT_MAX_CHARS) {
    showError(`A message can be at most ${TEXT_MAX_CHARS} characters.`);
    return;
  }
  if (conn.chat(text)) chatInput.value = '';
});

chatInput.addEventListener('keydown', (ev) => {
  // Enter sends, Shift+Enter makes a new line; Enter that ends an IME composition (Korean,
  // Japanese, ...) only confirms the composed text.
  if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
  ev.preventDefault();
  chatForm.requestSubmit();
});

// ---- nickname ----------------------------------------------------------------------------

nicknameInput.value = loadNickname();
nicknameInput.addEventListener('input', () => nicknameInput.setCustomValidity(''));

nicknameForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const { value, error } = checkName(nicknameInput.value, NICKNAME_MAX);
  if (error) {
    nicknameInput.setCustomValidity(`Name ${error}.`);
    nicknameInput.reportValidity();
    return;
  }
  // Saved when the server confirms it with a `nickname` frame.
  conn.nickname(value);
});

// ---- copy link ---------------------------------------------------------------------------

copyLinkButton.addEventListener('click', async () => {
  const url = new URL(copyLinkButton.dataset.href, location.href).href;
  try {
    await navigator.clipboard.writeText(url);
    copyLinkButton.textContent = 'Copied!';
    setTimeout(() => {
      copyLinkButton.textContent = 'Copy link';
    }, 2000);
  } catch {
    // No clipboard (plain http, or permission refused): let the person copy it by hand.
    window.prompt('Copy this link to invite people:', url);
  }
});

// ---- the connection ----------------------------------------------------------------------

const conn = new Connection();

conn.addEventListener('open', () => {
  status.textContent = 'Joining…';
});

conn.addEventListener('welcome', (ev) => {
  const stored = checkName(loadNickname(), NICKNAME_MAX).value;
  if (stored) conn.nickname(stored);
  else nicknameInput.value = ev.detail.name;
  renameButton.disabled = false;
  conn.join(roomName);
});

conn.addEventListener('joined', (ev) => {
  const { peers = [], history = [] } = ev.detail;
  inRoom = true;
  members.clear();
  for (const peer of peers) members.set(peer.id, { ...peer });
  members.set(conn.id, { id: conn.id, name: conn.name, audio: false, video: false });
  renderMembers();
  resetChat(history);
  hideError();
  setChatEnabled(true);
  status.textContent = 'In the room';
  chatInput.focus();
});

conn.addEventListener('left', () => {
  inRoom = false;
  members.clear();
  renderMembers();
  setChatEnabled(false);
  status.textContent = 'You left the room.';
});

conn.addEventListener('peer_joined', (ev) => {
  const { peer } = ev.detail;
  members.set(peer.id, { ...peer });
  renderMembers();
  addNotice(`${peer.name} joined`);
});

conn.addEventListener('peer_left', (ev) => {
  const { id } = ev.detail;
  if (!members.has(id)) return;
  const name = memberName(id);
  members.delete(id);
  renderMembers();
  addNotice(`${name} left`);
});

conn.addEventListener('nickname', (ev) => {
  const { id, name } = ev.detail;
  if (id === conn.id) {
    nicknameInput.value = name;
    saveNickname(name);
  }
  const member = members.get(id);
  if (member) {
    const old = member.name;
    member.name = name;
    renderMembers();
    if (old !== name) addNotice(`${old} is now ${name}`);
  }
});

conn.addEventListener('chat', (ev) => addChat(ev.detail));

conn.addEventListener('media', (ev) => {
  const { id, audio, video } = ev.detail;
  const member = members.get(id);
  if (!member) return;
  member.audio = audio;
  member.video = video;
  renderMembers();
});

conn.addEventListener('error', (ev) => {
  const { code, message } = ev.detail;
  const fatal = FATAL_ERRORS.has(code) && !inRoom;
  if (fatal) {
    setChatEnabled(false);
    status.textContent = code === 'room_full' ? 'This room is full.' : 'Could not join this room.';
    const home = el('a', 'button secondary', 'Back to the home page');
    home.href = '/';
    showError(message, { sticky: true, action: home });
  } else {
    showError(message);
  }
});

conn.addEventListener('close', () => {
  inRoom = false;
  setChatEnabled(false);
  renameButton.disabled = true;
  status.textContent = 'Disconnected.';
  const reload = el('button', 'secondary', 'Reconnect');
  reload.type = 'button';
  reload.addEventListener('click', () => location.reload());
  showError('The connection to the server was lost.', { sticky: true, action: reload });
});
