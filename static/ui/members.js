// members.js: the list of people in the room, with their microphone and camera.

import { el } from './dom.js';

function mediaFlag(kind, on) {
  const label = kind === 'audio' ? 'Microphone' : 'Camera';
  const flag = el('span', `media-flag ${kind} ${on ? 'on' : 'off'}`, kind === 'audio' ? 'mic' : 'cam');
  flag.title = `${label} ${on ? 'on' : 'off'}`;
  flag.setAttribute('aria-label', flag.title);
  return flag;
}

export class MembersPanel {
  #list;
  #count;

  /** @param {{ list: HTMLElement, count: HTMLElement }} nodes */
  constructor({ list, count }) {
    this.#list = list;
    this.#count = count;
  }

  /** Shows `members` (in join order); `selfId` is marked "(you)". */
  render(members, selfId) {
    const items = [...members.values()].map((m) => {
      const li = el('li', m.id === selfId ? 'member me' : 'member');
      li.dataset.peerId = m.id;
      li.append(el('span', 'member-name', m.name));
      if (m.id === selfId) li.append(el('span', 'member-you', '(you)'));
      const flags = el('span', 'member-media');
      flags.append(mediaFlag('audio', m.audio), mediaFlag('video', m.video));
      li.append(flags);
      return li;
    });
    this.#list.replaceChildren(...items);
    this.#count.textContent = String(members.size);
  }
}
