// banner.js: the alert banner at the top of the room page.

import { button, el } from './dom.js';

/** How long a message that is not sticky stays. */
const SHOWN_MS = 8000;

export class Banner {
  #node;
  #timer = 0;

  /** @param {HTMLElement} node the `#error` element (role="alert") */
  constructor(node) {
    this.#node = node;
  }

  /** Shows `message`, with an `action` element beside it; a message not `sticky` goes away. */
  show(message, { sticky = false, action = null } = {}) {
    clearTimeout(this.#timer);
    const close = button('banner-close', '×');
    close.setAttribute('aria-label', 'Dismiss');
    close.addEventListener('click', () => this.hide());
    this.#node.replaceChildren(el('span', 'banner-text', message), ...(action ? [action] : []), close);
    this.#node.hidden = false;
    if (!sticky) this.#timer = setTimeout(() => this.hide(), SHOWN_MS);
  }

  hide() {
    clearTimeout(this.#timer);
    this.#node.hidden = true;
    this.#node.replaceChildren();
  }
}

/** A link back to the home page, for banners that end the visit. */
export function homeLink() {
  const home = el('a', 'button secondary', 'Back to the home page');
  home.href = '/';
  return home;
}
