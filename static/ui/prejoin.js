// prejoin.js: before joining: the preview, the device pickers, the microphone and camera
// switches, how many people are in, and the Join button. The pickers move into the call's
// settings panel on joining, so the same ones switch devices mid-call.

import { canChooseSpeaker, listDevices, mediaUnavailableReason } from '../media.js';
import { people } from '../common.js';
import { el } from './dom.js';

function fillSelect(select, devices, current, noun) {
  const options = devices.map((device, i) => {
    const option = el('option', '', device.label || `${noun} ${i + 1}`);
    option.value = device.deviceId;
    return option;
  });
  if (options.length === 0) {
    const none = el('option', '', mediaUnavailableReason() ? 'Not available' : `No ${noun.toLowerCase()} found`);
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

  /**
   * @param {{ section: HTMLElement, form: HTMLFormElement, preview: HTMLVideoElement,
   *   previewOff: HTMLElement, occupancy: HTMLElement, devices: HTMLElement,
   *   mic: HTMLSelectElement, camera: HTMLSelectElement, speaker: HTMLSelectElement,
   *   micOn: HTMLInputElement, cameraOn: HTMLInputElement, mediaError: HTMLElement,
   *   join: HTMLButtonElement }} nodes
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

  /** Says what did not work of the camera and microphone. */
  showProblems(problems) {
    this.nodes.mediaError.textContent = problems.join(' ');
    this.nodes.mediaError.hidden = problems.length === 0;
  }

  /** Fills the pickers with the devices there are, the ones in use chosen. */
  async refreshDevices(media, speakerId) {
    const { mic, camera, speaker } = this.nodes;
    const lists = await listDevices();
    fillSelect(mic, lists.audioinput, media.mic?.getSettings().deviceId, 'Microphone');
    fillSelect(camera, lists.videoinput, media.camera?.getSettings().deviceId, 'Camera');
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

  /** Says how many people are in the room. */
  showOccupancy(count) {
    this.nodes.occupancy.textContent =
      count === 0 ? 'No one is here yet.' : `${people(count)} ${count === 1 ? 'is' : 'are'} here.`;
  }

  /** Whether Join may be pressed. */
  setJoinable(joinable) {
    this.nodes.join.disabled = !joinable;
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
