// prejoin.js: before joining: the preview, the device pickers, the microphone and camera
// switches, how many people are in, and the Join button. The pickers move into the call's
// settings panel on joining, so the same ones switch devices mid-call.

import { canChooseSpeaker, listDevices, mediaUnavailableReason } from '../media.js';
import { people } from '../common.js';
import { el } from './dom.js';

function fillSelect(select, devices, current, noun, hidden = 0) {
  const options = devices.map((device, i) => {
    const option = el('option', '', device.label || `${noun} ${i + 1}`);
    option.value = device.deviceId;
    return option;
  });
  if (options.length === 0) {
    let text = `No ${noun.toLowerCase()} found`;
    if (mediaUnavailableReason()) text = 'Not available';
    else if (hidden > 0) text = `${noun} blocked for this page`;
    const none = el('option', '', text);
    none.value = '';
    options.push(none);
  }
  const known = Boolean(current) && devices.some((d) => d.deviceId === current);
  if (!known && devices.length > 0) {
    // Nothing in use (a camera plugged in later, say): picking one must be a change.
    const choose = el('option', '', `Choose a ${noun.toLowerCase()}`);
    choose.value = '';
    options.unshift(choose);
  }
  select.replaceChildren(...options);
  select.disabled = devices.length === 0;
  select.value = known ? current : '';
}

export class Prejoin {
  nodes;
  #joinable = false;
  #full = false;

  /**
   * @param {{ section: HTMLElement, form: HTMLFormElement, preview: HTMLVideoElement,
   *   previewOff: HTMLElement, occupancy: HTMLElement, devices: HTMLElement,
   *   mic: HTMLSelectElement, camera: HTMLSelectElement, speaker: HTMLSelectElement,
   *   micOn: HTMLInputElement, cameraOn: HTMLInputElement, mediaError: HTMLElement,
   *   retry: HTMLButtonElement, join: HTMLButtonElement }} nodes
   */
  constructor(nodes) {
    this.nodes = nodes;
  }

  /** Shows the camera's picture (not the screen) without sound, and the switches' state. */
  sync(media, previewStream) {
    const { preview, previewOff, micOn, cameraOn } = this.nodes;
    // A video element on a stream without tracks delays the page's load event for ever.
    if (preview.srcObject !== (media.camera ? previewStream : null)) {
      preview.srcObject = media.camera ? previewStream : null;
    }
    const cameraVisible = Boolean(media.camera && media.videoOn);
    previewOff.hidden = cameraVisible;
    previewOff.textContent = media.camera ? 'Your camera is off' : 'No camera';
    micOn.disabled = !media.mic;
    cameraOn.disabled = !media.camera;
    micOn.checked = Boolean(media.mic && media.audioOn);
    cameraOn.checked = cameraVisible;
  }

  /** Says what did not work of the camera and microphone, and offers to try again. */
  showProblems(problems) {
    this.nodes.mediaError.textContent = problems.join(' ');
    this.nodes.mediaError.hidden = problems.length === 0;
    this.nodes.retry.hidden = problems.length === 0;
  }

  /** Fills the pickers with the devices there are, the ones in use chosen. */
  async refreshDevices(media, speakerId) {
    const { mic, camera, speaker } = this.nodes;
    const lists = await listDevices();
    const { hidden } = lists;
    const inUse = (track) => track?.getSettings().deviceId;
    fillSelect(mic, lists.audioinput, inUse(media.mic), 'Microphone', hidden.audioinput);
    fillSelect(camera, lists.videoinput, inUse(media.camera), 'Camera', hidden.videoinput);
    if (canChooseSpeaker()) {
      const outputs = lists.audiooutput;
      // '' is the system's default output, listed by Chrome as 'default'.
      const current = outputs.some((d) => d.deviceId === speakerId) ? speakerId : outputs[0]?.deviceId;
      fillSelect(speaker, outputs, current, 'Speaker');
      if (outputs.length === 0) {
        // Some browsers list no outputs until asked; the system's choice still works.
        const system = el('option', '', 'System default');
        system.value = '';
        speaker.replaceChildren(system);
      }
    } else {
      const system = el('option', '', 'Chosen by your browser');
      system.value = '';
      speaker.replaceChildren(system);
      speaker.disabled = true;
    }
  }

  /**
   * Says how many people are in the room of at most `limit`; while it is full, Join waits.
   * Returns whether the room is full.
   */
  showOccupancy(count, limit) {
    this.#full = Number.isInteger(limit) && count >= limit;
    let text;
    if (count === 0) text = 'No one is here yet.';
    else if (this.#full) {
      text = `This room is full (${people(limit)}). Join opens when someone leaves.`;
    } else if (Number.isInteger(limit)) text = `${count} of ${people(limit)} here.`;
    else text = `${people(count)} ${count === 1 ? 'is' : 'are'} here.`;
    this.nodes.occupancy.textContent = text;
    this.#showJoinable();
    return this.#full;
  }

  /** Whether Join may be pressed (it still waits while the room is full). */
  setJoinable(joinable) {
    this.#joinable = joinable;
    this.#showJoinable();
  }

  #showJoinable() {
    this.nodes.join.disabled = !this.#joinable || this.#full;
  }

  /** Moves the device pickers into the call's `panel` and hides the preview. */
  hideInto(panel) {
    this.nodes.section.hidden = true;
    panel.append(this.nodes.devices);
  }

  /** Shows the preview again, with the pickers back in it. */
  show() {
    const { section, form, devices } = this.nodes;
    section.hidden = false;
    form.insertBefore(devices, form.querySelector('.prejoin-toggles'));
  }
}
