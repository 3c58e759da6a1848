// device-check.js: is the microphone heard, does the speaker play? A level meter of the
// microphone in use and a button that plays a short tone on the chosen speaker, both in the
// device fieldset, so the preview and the call's settings have them.

/** How often the meter is redrawn. */
const METER_EVERY_MS = 100;
/** The test tone: A4 for 0.6 s, quietly. */
const TONE_HZ = 440;
const TONE_S = 0.6;
const TONE_VOLUME = 0.3;
const SAMPLE_RATE = 16000;

/** A WAV file (16-bit mono PCM) of the test tone, as a Blob. */
export function toneWav() {
  const samples = Math.round(SAMPLE_RATE * TONE_S);
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const ascii = (at, text) => [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, SAMPLE_RATE, true);
  view.setUint32(28, SAMPLE_RATE * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i += 1) {
    // A short fade in and out, so the tone does not click.
    const fade = Math.min(1, i / 400, (samples - i) / 400);
    const value = Math.sin((2 * Math.PI * TONE_HZ * i) / SAMPLE_RATE) * TONE_VOLUME * fade;
    view.setInt16(44 + i * 2, Math.round(value * 32767), true);
  }
  return new Blob([buffer], { type: 'audio/wav' });
}

export class DeviceCheck {
  #meter;
  #test;
  #context = null;
  #analyser = null;
  #source = null;
  #track = null;
  #samples = null;

  /**
   * @param {{ meter: HTMLMeterElement, test: HTMLButtonElement }} nodes
   * @param {{ speakerId: () => string }} hooks
   */
  constructor({ meter, test }, { speakerId }) {
    this.#meter = meter;
    this.#test = test;
    test.addEventListener('click', () => this.#playTone(speakerId()));
    // Browsers start sound only after the person does something on the page.
    document.addEventListener('pointerdown', () => this.#context?.resume(), { once: true });
    setInterval(() => this.#draw(), METER_EVERY_MS);
  }

  /** Measures `track` (the microphone in use; null for none). */
  listenTo(track) {
    if (track === this.#track) return;
    this.#track = track;
    this.#source?.disconnect();
    this.#source = null;
    if (!track) return;
    if (!this.#context) {
      this.#context = new AudioContext();
      this.#analyser = this.#context.createAnalyser();
      this.#analyser.fftSize = 512;
      this.#samples = new Float32Array(this.#analyser.fftSize);
    }
    this.#source = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(this.#analyser);
  }

  /** The microphone's level now, 0 to 1 (the peak of the last few milliseconds). */
  get level() {
    if (!this.#source || !this.#track?.enabled) return 0;
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let peak = 0;
    for (const sample of this.#samples) peak = Math.max(peak, Math.abs(sample));
    return Math.min(1, peak);
  }

  #draw() {
    this.#meter.value = this.level;
  }

  async #playTone(speakerId) {
    const audio = new Audio(URL.createObjectURL(toneWav()));
    try {
      if (speakerId && typeof audio.setSinkId === 'function') await audio.setSinkId(speakerId);
      this.#test.disabled = true;
      this.#test.textContent = 'Playing…';
      audio.addEventListener('ended', () => this.#done(audio), { once: true });
      await audio.play();
    } catch (err) {
      console.warn('room: the test tone could not play', err);
      this.#done(audio);
    }
  }

  #done(audio) {
    URL.revokeObjectURL(audio.src);
    this.#test.disabled = false;
    this.#test.textContent = 'Test speaker';
  }
}
