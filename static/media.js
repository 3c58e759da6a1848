// media.js: this browser's own media: camera, microphone, speaker choice and screen sharing.
//
// No socket and no peer connections here. LocalMedia holds the tracks this page sends and fires
// one 'change' event whenever what it sends changes (a track, on/off, sharing); room.js hands
// the tracks to call.js and tells the server with a `media` frame.

/** localStorage keys for the devices picked last time, by MediaDeviceInfo.kind. */
const DEVICE_KEYS = {
  audioinput: 'room.micId',
  videoinput: 'room.cameraId',
  audiooutput: 'room.speakerId',
};

const VIDEO_SIZE = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

function loadDeviceId(kind) {
  try {
    return localStorage.getItem(DEVICE_KEYS[kind]) || '';
  } catch {
    return '';
  }
}

/** Remembers a device for next time; storage may be off, which only costs the memory. */
export function saveDeviceId(kind, id) {
  try {
    if (id) localStorage.setItem(DEVICE_KEYS[kind], id);
  } catch {
    // Private window: the choice lasts as long as the page.
  }
}

/** The speaker picked last time, or '' for the system's default. */
export function savedSpeakerId() {
  return loadDeviceId('audiooutput');
}

/**
 * Why this page cannot ask for a camera at all, or null if it can. Browsers only offer
 * getUserMedia on secure pages: https, or http on localhost.
 */
export function mediaUnavailableReason() {
  if (window.isSecureContext === false) {
    return (
      'Your browser only allows the camera and microphone on secure pages, and plain http works ' +
      'only on localhost. Run Room with TLS (--tls-self-signed, or --tls-cert and --tls-key) and ' +
      'open its https:// address. You can still join to watch, listen and chat.'
    );
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    return 'This browser cannot use a camera or microphone. You can still join to watch, listen and chat.';
  }
  return null;
}

/** Whether audio output can be routed to a chosen speaker (HTMLMediaElement.setSinkId). */
export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/** Whether this browser can share a screen (not on most phones). */
export function canShareScreen() {
  return typeof navigator.mediaDevices?.getDisplayMedia === 'function';
}

const NOUNS = { audio: 'microphone', video: 'camera', both: 'camera and microphone' };

/** A sentence for people saying why getUserMedia failed for `kind` ('audio', 'video', 'both'). */
export function explainMediaError(err, kind = 'both') {
  const noun = NOUNS[kind];
  switch (err?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return (
        `Your browser blocked the ${noun} for this page. Allow it in the site settings ` +
        '(the icon next to the address) and press Try again, or join without it.'
      );
    case 'SecurityError':
      return mediaUnavailableReason() ?? `The browser does not allow the ${noun} here.`;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return `No ${noun} found.`;
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return `The ${noun} could not be started: another app may be using it.`;
    default:
      return `The ${noun} could not be started (${err?.message || err}).`;
  }
}

function constraintsFor(kind, deviceId, exact) {
  const id = deviceId ? { deviceId: exact ? { exact: deviceId } : { ideal: deviceId } } : {};
  return kind === 'audio'
    ? { echoCancellation: true, noiseSuppression: true, autoGainControl: true, ...id }
    : { ...VIDEO_SIZE, ...id };
}

/**
 * The tracks this page sends, and whether they are on.
 *
 * Muting sets `track.enabled`, so unmuting is instant and no renegotiation is needed; what is
 * sent for video is the screen while sharing, the camera otherwise.
 */
export class LocalMedia extends EventTarget {
  /** @type {MediaStreamTrack | null} */
  mic = null;
  /** @type {MediaStreamTrack | null} */
  camera = null;
  /** @type {MediaStreamTrack | null} */
  screen = null;
  audioOn = true;
  videoOn = true;

  /** The video track to send: the screen while sharing, else the camera (or null). */
  get videoTrack() {
    return this.screen ?? this.camera;
  }

  /**
   * What goes out: sound (`audio`), a picture on this page's own tile (`video`: the screen while
   * sharing, else the camera), the camera itself (`camera`) and a shared screen (`screen`). The
   * `media` frame says `audio`, `camera` (as its `video`) and `screen`.
   */
  get sending() {
    const camera = Boolean(this.camera && this.videoOn);
    return {
      audio: Boolean(this.mic && this.audioOn),
      video: Boolean(this.screen) || camera,
      camera,
      screen: Boolean(this.screen),
    };
  }

  /**
   * Opens the camera and microphone picked last time (or the defaults). Whatever works is kept:
   * a missing camera does not cost the microphone. Returns the sentences to show about what did
   * not work (empty when all is well).
   */
  async start() {
    const unavailable = mediaUnavailableReason();
    if (unavailable) return [unavailable];
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: constraintsFor('audio', loadDeviceId('audioinput')),
        video: constraintsFor('video', loadDeviceId('videoinput')),
      });
      this.#adopt(stream);
      return [];
    } catch (err) {
      // A refusal covers both devices: asking again one by one would only be refused again.
      if (err?.name === 'NotAllowedError' || err?.name === 'SecurityError') {
        return [explainMediaError(err, 'both')];
      }
    }
    // One of the two is missing or busy: try each alone so the other one still works.
    const problems = [];
    for (const kind of ['audio', 'video']) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({
          [kind]: constraintsFor(kind, loadDeviceId(kind === 'audio' ? 'audioinput' : 'videoinput')),
        });
        this.#adopt(stream);
      } catch (err) {
        problems.push(explainMediaError(err, kind));
      }
    }
    if (problems.length === 2 && problems[0] === 'No microphone found.' && problems[1] === 'No camera found.') {
      return ['No camera or microphone found. You can still join to watch, listen and chat.'];
    }
    return problems;
  }

  /** Switches the microphone ('audio') or camera ('video') to another device. */
  async useDevice(kind, deviceId) {
    const old = kind === 'audio' ? this.mic : this.camera;
    const ask = () =>
      navigator.mediaDevices.getUserMedia({ [kind]: constraintsFor(kind, deviceId, true) });
    let stream;
    try {
      stream = await ask();
    } catch (err) {
      // Many phones open one camera at a time: let go of the old one and try again.
      if (!old || err?.name !== 'NotReadableError') throw err;
      old.stop();
      stream = await ask();
    }
    old?.stop();
    this.#adopt(stream);
    saveDeviceId(kind === 'audio' ? 'audioinput' : 'videoinput', deviceId);
  }

  /** Turns the microphone on or off (the track stays open, so it comes back at once). */
  setAudioOn(on) {
    this.audioOn = Boolean(on);
    if (this.mic) this.mic.enabled = this.audioOn;
    this.#changed();
  }

  /** Turns the camera on or off. */
  setVideoOn(on) {
    this.videoOn = Boolean(on);
    if (this.camera) this.camera.enabled = this.videoOn;
    this.#changed();
  }

  /**
   * Shares a screen, window or tab instead of the camera until stopScreenShare() or until the
   * browser's own "Stop sharing" ends the track. Rejects if the person cancels the picker.
   */
  async startScreenShare() {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const [track] = stream.getVideoTracks();
    if (!track) throw new Error('the shared screen has no video');
    // Text and lines stay sharp at the cost of frame rate: right for slides and code.
    if ('contentHint' in track) track.contentHint = 'detail';
    track.addEventListener('ended', () => {
      if (this.screen === track) this.stopScreenShare();
    });
    this.screen?.stop();
    this.screen = track;
    this.#changed();
  }

  /** Goes back from the shared screen to the camera. */
  stopScreenShare() {
    const track = this.screen;
    if (!track) return;
    this.screen = null;
    track.stop();
    this.#changed();
  }

  /** Closes every device: the camera light goes off. */
  stop() {
    for (const track of [this.mic, this.camera, this.screen]) track?.stop();
    this.mic = this.camera = this.screen = null;
    this.#changed();
  }

  /** Takes the tracks of a getUserMedia stream as the new microphone and/or camera. */
  #adopt(stream) {
    for (const track of stream.getTracks()) {
      if (track.kind === 'audio') {
        this.mic?.stop();
        this.mic = track;
        track.enabled = this.audioOn;
      } else {
        this.camera?.stop();
        this.camera = track;
        track.enabled = this.videoOn;
      }
      // An unplugged device ends its track: stop sending it and say so.
      track.addEventListener('ended', () => {
        if (this.mic === track) this.mic = null;
        else if (this.camera === track) this.camera = null;
        else return;
        this.#changed();
        this.dispatchEvent(
          new CustomEvent('problem', {
            detail: `The ${track.kind === 'audio' ? 'microphone' : 'camera'} stopped working.`,
          }),
        );
      });
    }
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }
}

/**
 * The devices by kind: { audioinput, videoinput, audiooutput }, each a list of
 * { deviceId, label }, and `hidden`: by kind, how many the browser lists without letting the
 * page use them (no permission). Labels are empty until the page has had permission once.
 */
export async function listDevices() {
  const lists = { audioinput: [], videoinput: [], audiooutput: [], hidden: {} };
  if (!navigator.mediaDevices?.enumerateDevices) return lists;
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return lists;
  }
  for (const device of devices) {
    // Without permission browsers list placeholder devices with an empty id: no use to pick,
    // but they say the devices are there, only blocked.
    if (!lists[device.kind]) continue;
    if (!device.deviceId) {
      lists.hidden[device.kind] = (lists.hidden[device.kind] ?? 0) + 1;
      continue;
    }
    lists[device.kind].push({ deviceId: device.deviceId, label: device.label });
  }
  return lists;
}
