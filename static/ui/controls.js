// controls.js: the call's control bar (microphone, camera, screen, hand, reactions, settings)
// and the single-key shortcuts (M, V, S, H, C, L and ? for their list), which a setting turns
// off (WCAG 2.1.4). Each toggle keeps one accessible name (Microphone, Camera, ...) and says
// whether it is on with aria-pressed; the visible label says what a press does.

import { isTyping } from './dom.js';

/**
 * Shows a toggle's state: aria-pressed says whether the thing is on (microphone, camera,
 * sharing); the visible label says what a press does ("Mute" / "Unmute"), as meeting apps do.
 */
function setToggle(button, { name, on, available, onLabel, offLabel, shortcut }) {
  button.classList.toggle('off', !on);
  button.disabled = !available;
  button.setAttribute('aria-label', name);
  button.setAttribute('aria-pressed', String(on));
  button.querySelector('.control-label').textContent = on ? onLabel : offLabel;
  button.title = `${on ? onLabel : offLabel}${shortcut ? ` (${shortcut})` : ''}`;
}

export class Controls {
  #mic;
  #camera;
  #share;
  #hand;

  /**
   * @param {{ mic: HTMLButtonElement, camera: HTMLButtonElement, share: HTMLButtonElement,
   *           hand: HTMLButtonElement, react: HTMLButtonElement, picker: HTMLElement,
   *           settings: HTMLButtonElement, settingsPanel: HTMLElement }} nodes
   * @param {{ toggleMic: () => void, toggleCamera: () => void, toggleShare: () => void,
   *           toggleHand: () => void, react: (emoji: string) => void, focusChat: () => void,
   *           leave: () => void, showShortcuts: () => void,
   *           canShare: boolean, shortcutsOn: () => boolean }} hooks
   */
  constructor({ mic, camera, share, hand, react, picker, settings, settingsPanel }, hooks) {
    this.#mic = mic;
    this.#camera = camera;
    this.#share = share;
    this.#hand = hand;
    mic.addEventListener('click', hooks.toggleMic);
    camera.addEventListener('click', hooks.toggleCamera);
    share.addEventListener('click', hooks.toggleShare);
    hand.addEventListener('click', hooks.toggleHand);
    react.addEventListener('click', () => {
      picker.hidden = !picker.hidden;
      react.setAttribute('aria-expanded', String(!picker.hidden));
    });
    picker.addEventListener('click', (ev) => {
      const emoji = ev.target.closest('[data-emoji]')?.dataset.emoji;
      if (!emoji) return;
      hooks.react(emoji);
      picker.hidden = true;
      react.setAttribute('aria-expanded', 'false');
    });
    share.hidden = !hooks.canShare;
    settings.addEventListener('click', () => {
      settingsPanel.hidden = !settingsPanel.hidden;
      settings.setAttribute('aria-expanded', String(!settingsPanel.hidden));
      settings.classList.toggle('active', !settingsPanel.hidden);
    });
    document.addEventListener('keydown', (ev) => {
      if (!hooks.shortcutsOn() || ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      if (isTyping(ev.target)) return;
      const key = ev.key.toLowerCase();
      const actions = {
        m: hooks.toggleMic,
        v: hooks.toggleCamera,
        s: hooks.toggleShare,
        h: hooks.toggleHand,
        c: hooks.focusChat,
        l: hooks.leave,
        '?': hooks.showShortcuts,
      };
      if (!actions[key]) return;
      actions[key]();
      ev.preventDefault();
    });
  }

  /** Shows whether this page's hand is up. */
  showHand(raised) {
    this.#hand.setAttribute('aria-label', 'Hand');
    this.#hand.setAttribute('aria-pressed', String(raised));
    this.#hand.classList.toggle('active', raised);
    const label = raised ? 'Lower hand' : 'Raise hand';
    this.#hand.querySelector('.control-label').textContent = label;
    this.#hand.title = `${label} (H)`;
  }

  /** Shows what `media` (a LocalMedia) sends. */
  sync(media) {
    setToggle(this.#mic, {
      name: 'Microphone',
      on: media.sending.audio,
      available: Boolean(media.mic),
      onLabel: 'Mute',
      offLabel: 'Unmute',
      shortcut: 'M',
    });
    setToggle(this.#camera, {
      name: 'Camera',
      on: Boolean(media.camera && media.videoOn),
      available: Boolean(media.camera),
      onLabel: 'Stop video',
      offLabel: 'Start video',
      shortcut: 'V',
    });
    setToggle(this.#share, {
      name: 'Share screen',
      on: Boolean(media.screen),
      available: !this.#share.hidden,
      onLabel: 'Stop sharing',
      offLabel: 'Share',
    });
    // The share button reads as "active" while sharing, unlike mic and camera that read as
    // "off" when not sending.
    this.#share.classList.toggle('off', false);
    this.#share.classList.toggle('active', Boolean(media.screen));
  }
}
