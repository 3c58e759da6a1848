// controls.js: the call's control bar (microphone, camera, screen, settings) and the
// single-key shortcuts M and V.

import { isTyping } from './dom.js';

/**
 * Shows a toggle's state: aria-pressed says whether the thing is on (microphone, camera,
 * sharing); the visible label says what a press does ("Mute" / "Unmute"), as meeting apps do.
 */
function setToggle(button, { on, available, onLabel, offLabel, shortcut }) {
  button.classList.toggle('off', !on);
  button.disabled = !available;
  button.setAttribute('aria-pressed', String(on));
  button.querySelector('.control-label').textContent = on ? onLabel : offLabel;
  button.title = `${on ? onLabel : offLabel}${shortcut ? ` (${shortcut})` : ''}`;
}

export class Controls {
  #mic;
  #camera;
  #share;

  /**
   * @param {{ mic: HTMLButtonElement, camera: HTMLButtonElement, share: HTMLButtonElement,
   *           settings: HTMLButtonElement, settingsPanel: HTMLElement }} nodes
   * @param {{ toggleMic: () => void, toggleCamera: () => void, toggleShare: () => void,
   *           canShare: boolean, shortcutsOn: () => boolean }} hooks
   */
  constructor({ mic, camera, share, settings, settingsPanel }, hooks) {
    this.#mic = mic;
    this.#camera = camera;
    this.#share = share;
    mic.addEventListener('click', hooks.toggleMic);
    camera.addEventListener('click', hooks.toggleCamera);
    share.addEventListener('click', hooks.toggleShare);
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
      if (key === 'm') hooks.toggleMic();
      else if (key === 'v') hooks.toggleCamera();
      else return;
      ev.preventDefault();
    });
  }

  /** Shows what `media` (a LocalMedia) sends. */
  sync(media) {
    setToggle(this.#mic, {
      on: media.sending.audio,
      available: Boolean(media.mic),
      onLabel: 'Mute',
      offLabel: 'Unmute',
      shortcut: 'M',
    });
    setToggle(this.#camera, {
      on: Boolean(media.camera && media.videoOn),
      available: Boolean(media.camera),
      onLabel: 'Stop video',
      offLabel: 'Start video',
      shortcut: 'V',
    });
    setToggle(this.#share, {
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
