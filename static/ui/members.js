// members.js: the list of people in the room, with their microphone and camera, who hosts,
// and, for the room's hosts, buttons to mute people or ask them to unmute, remove them and
// name co-hosts.

import { button, el } from './dom.js';

function mediaFlag(kind, on) {
  const label = kind === 'audio' ? 'Microphone' : 'Camera';
  const flag = el('span', `media-flag ${kind} ${on ? 'on' : 'off'}`, kind === 'audio' ? 'mic' : 'cam');
  flag.title = `${label} ${on ? 'on' : 'off'}`;
  flag.setAttribute('aria-label', flag.title);
  return flag;
}

const ROLE_LABELS = { host: 'Host', cohost: 'Co-host' };

export class MembersPanel {
  #list;
  #count;
  #onRemove;
  #onCohost;
  #onMute;
  #onAskUnmute;
  #onLowerHand;
  #onSpotlight;

  /**
   * @param {{ list: HTMLElement, count: HTMLElement }} nodes
   * @param {{ onRemove: (id: string) => void, onCohost: (id: string, cohost: boolean) => void,
   *   onMute: (id: string) => void, onAskUnmute: (id: string) => void,
   *   onLowerHand: (id: string) => void, onSpotlight: (id: string | null) => void }} actions
   */
  constructor({ list, count }, actions) {
    const { onRemove, onCohost, onMute, onAskUnmute, onLowerHand, onSpotlight } = actions;
    this.#list = list;
    this.#count = count;
    this.#onRemove = onRemove;
    this.#onCohost = onCohost;
    this.#onMute = onMute;
    this.#onAskUnmute = onAskUnmute;
    this.#onLowerHand = onLowerHand;
    this.#onSpotlight = onSpotlight;
  }

  /**
   * Shows `members` (in join order); `selfId` is marked "(you)". `roleOf(id)` says who hosts;
   * the page's own role decides which buttons it gets: a host may remove anyone and name
   * co-hosts, a co-host may remove members.
   */
  render(members, selfId, roleOf, { hands = [], spotlight = null } = {}) {
    const mine = roleOf(selfId);
    const items = [...members.values()].map((m) => {
      const li = el('li', m.id === selfId ? 'member me' : 'member');
      li.dataset.peerId = m.id;
      li.append(el('span', 'member-name', m.label ?? m.name));
      if (m.id === selfId) li.append(el('span', 'member-you', '(you)'));
      const role = roleOf(m.id);
      if (ROLE_LABELS[role]) li.append(el('span', `member-role ${role}`, ROLE_LABELS[role]));
      const hand = hands.indexOf(m.id);
      if (hand >= 0) {
        const raised = el('span', 'member-hand', `✋ ${hand + 1}`);
        raised.title = 'Hand raised';
        li.append(raised);
      }
      const flags = el('span', 'member-media');
      flags.append(mediaFlag('audio', m.audio), mediaFlag('video', m.video));
      li.append(flags);
      if (m.id !== selfId) {
        const actions = this.#actions(m, mine, role, hand >= 0, spotlight === m.id);
        if (actions.childElementCount > 0) li.append(actions);
      }
      return li;
    });
    this.#list.replaceChildren(...items);
    this.#count.textContent = String(members.size);
  }

  #actions(m, mine, role, handRaised, spotlit) {
    const actions = el('span', 'member-actions');
    if (mine !== 'member') {
      const spot = button('secondary spotlight', spotlit ? 'Unspotlight' : 'Spotlight');
      const what = spotlit ? `Take ${m.name} off` : `Put ${m.name} on`;
      spot.setAttribute('aria-label', `${what} everyone's stage`);
      spot.addEventListener('click', () => this.#onSpotlight(spotlit ? null : m.id));
      actions.append(spot);
    }
    if (handRaised && mine !== 'member') {
      const lower = button('secondary lower-hand', 'Lower hand');
      lower.setAttribute('aria-label', `Lower ${m.name}'s hand`);
      lower.addEventListener('click', () => this.#onLowerHand(m.id));
      actions.append(lower);
    }
    if (mine === 'host' || (mine === 'cohost' && role === 'member')) {
      const label = m.audio ? 'Mute' : 'Ask to unmute';
      const mute = button(`secondary ${m.audio ? 'mute' : 'ask-unmute'}`, label);
      mute.setAttribute('aria-label', `${label} ${m.name}`);
      mute.addEventListener('click', () => (m.audio ? this.#onMute : this.#onAskUnmute)(m.id));
      actions.append(mute);
    }
    if (mine === 'host') {
      const cohost = role === 'cohost';
      const name = button('secondary cohost', cohost ? 'Unmake co-host' : 'Make co-host');
      name.setAttribute('aria-label', `${cohost ? 'Unmake' : 'Make'} ${m.name} co-host`);
      name.addEventListener('click', () => this.#onCohost(m.id, !cohost));
      actions.append(name);
    }
    if (mine === 'host' || (mine === 'cohost' && role === 'member')) {
      const remove = button('secondary danger remove', 'Remove');
      remove.setAttribute('aria-label', `Remove ${m.name} from the meeting`);
      remove.addEventListener('click', () => this.#onRemove(m.id));
      actions.append(remove);
    }
    return actions;
  }
}
