// grid.js: the video grid: one tile per member (`div.tile[data-peer-id]`), and one per shared
// screen the server forwards (`data-peer-id="screen:<id>"`), sized to fill the stage the way
// meeting apps do: all alike, or one tile large on the stage (`setStage`) and the others in a
// strip below it. Each tile can be pinned (`onPin`) and shown full screen. It tells its owner
// how big each tile is drawn (`onSizes`), so the server can send each picture at the size it
// is shown.

import { el } from './dom.js';

const TILE_GAP_PX = 8;
/** The height of the strip of tiles under the stage. */
const STRIP_PX = 112;
/** How long a reaction stays on its tile. */
const REACTION_SHOWN_MS = 3000;

/** What a tile says while its connection is not up. */
const STATE_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  disconnected: 'Reconnecting…',
  failed: 'Reconnecting…',
  lost: 'Connection lost',
};

function initial(name) {
  return [...String(name ?? '?').trim()][0]?.toUpperCase() ?? '?';
}

export class Grid {
  #node;
  /** The tiles by peer id: { tile, video, name, letter, state, hand, reaction, ... }. */
  #tiles = new Map();
  #onBlockedSound;
  #onSizes;
  #speakerId = '';
  #tileObserver;
  #onPin;
  /** The tile on the stage, or null for the grid of equals. */
  #stageId = null;
  #pinnedId = null;

  /**
   * @param {HTMLElement} node `#video-grid`
   * @param {() => void} onBlockedSound called once when the browser refuses to play sound
   *   before the person clicks something
   * @param {(sizes: Map<string, {width: number, height: number, visible: boolean}>) => void}
   *   [onSizes] called with every tile's size, by tile id, when one changes
   * @param {(id: string | null) => void} [onPin] called with the tile pinned, or null
   */
  constructor(node, onBlockedSound, onSizes = () => {}, onPin = () => {}) {
    this.#node = node;
    this.#onBlockedSound = onBlockedSound;
    this.#onSizes = onSizes;
    this.#onPin = onPin;
    new ResizeObserver(() => this.#layout()).observe(node);
    this.#tileObserver = new ResizeObserver(() => this.#onSizes(this.sizes()));
    document.addEventListener('visibilitychange', () => this.#onSizes(this.sizes()));
  }

  /** How big each tile is drawn, by tile id; a hidden page shows none of them. */
  sizes() {
    const visible = document.visibilityState !== 'hidden';
    const sizes = new Map();
    for (const [id, { tile }] of this.#tiles) {
      sizes.set(id, {
        width: tile.clientWidth,
        height: tile.clientHeight,
        visible: visible && tile.isConnected && tile.clientWidth > 0,
      });
    }
    return sizes;
  }

  /**
   * The tile of `id`, made on first use. `self` marks this page's own tile (muted, mirrored);
   * `screen` a shared screen's (its sound, if any, comes with the member's tile).
   */
  ensure(id, { self = false, screen = false } = {}) {
    let entry = this.#tiles.get(id);
    if (entry) return entry;
    const tile = el('div', ['tile', self && 'self', screen && 'screen'].filter(Boolean).join(' '));
    tile.dataset.peerId = id;
    const video = el('video', 'tile-video');
    video.autoplay = true;
    video.playsInline = true;
    // The own tile must never play our own microphone back.
    video.muted = self || screen;
    if (!self) this.#useSpeaker(video);
    const avatar = el('div', 'tile-avatar');
    avatar.setAttribute('aria-hidden', 'true');
    const letter = el('span', 'tile-initial');
    avatar.append(letter);
    const state = el('div', 'tile-state');
    const hand = el('div', 'tile-hand');
    const reaction = el('div', 'tile-reaction');
    reaction.setAttribute('aria-live', 'polite');
    const footer = el('div', 'tile-footer');
    const quality = el('span', 'tile-quality');
    quality.setAttribute('role', 'img');
    const mic = el('span', 'tile-mic');
    mic.title = 'Microphone off';
    const name = el('span', 'tile-name');
    footer.append(quality, mic, name);
    const tools = el('div', 'tile-tools');
    const pin = el('button', 'tile-pin', '📌');
    pin.type = 'button';
    pin.setAttribute('aria-pressed', 'false');
    pin.addEventListener('click', () => this.#onPin(this.#pinnedId === id ? null : id));
    const full = el('button', 'tile-fullscreen', '⛶');
    full.type = 'button';
    full.addEventListener('click', () => {
      if (document.fullscreenElement === tile) document.exitFullscreen();
      else tile.requestFullscreen?.().catch(() => {});
    });
    tools.append(pin, full);
    tile.append(video, avatar, state, hand, reaction, tools, footer);
    entry = { tile, video, name, letter, state, self, hand, reaction, reactionTimer: 0 };
    this.#tiles.set(id, entry);
    if (!self && !screen) this.setState(id, 'new');
    this.#node.append(tile);
    this.#tileObserver.observe(tile);
    this.#layout();
    return entry;
  }

  /** Names a tile that is not a member's own, such as a shared screen's. */
  label(id, text) {
    const entry = this.#tiles.get(id);
    if (!entry) return;
    entry.name.textContent = text;
    entry.letter.textContent = initial(text);
    this.#labelTools(id);
  }

  /** Puts the tile `id` on the stage, or none (`null`: the grid of equals). */
  setStage(id) {
    const stage = id !== null && this.#tiles.has(id) ? id : null;
    if (stage === this.#stageId) return;
    this.#stageId = stage;
    for (const [tileId, { tile }] of this.#tiles) {
      tile.classList.toggle('on-stage', tileId === stage);
    }
    this.#layout();
  }

  /** The tile on the stage, if any. */
  get stageId() {
    return this.#stageId;
  }

  /** Marks the tile this page pinned, if any. */
  setPinned(id) {
    this.#pinnedId = id;
    for (const [tileId, { tile }] of this.#tiles) {
      tile.classList.toggle('pinned', tileId === id);
      tile.querySelector('.tile-pin').setAttribute('aria-pressed', String(tileId === id));
    }
  }

  /** The ids of the tiles of shared screens. */
  screens() {
    return [...this.#tiles.keys()].filter((id) => id.startsWith('screen:'));
  }

  #labelTools(id) {
    const entry = this.#tiles.get(id);
    const name = entry.name.textContent;
    entry.tile.querySelector('.tile-pin').setAttribute('aria-label', `Pin ${name}`);
    const full = entry.tile.querySelector('.tile-fullscreen');
    full.setAttribute('aria-label', `Show ${name} full screen`);
  }

  /**
   * Whether a picture reaches the tile of `id` at all (SFU mode: members beyond the video slots
   * get none): without one it shows the name's letter, never a black or frozen picture.
   */
  setHasVideo(id, hasVideo) {
    this.#tiles.get(id)?.tile.classList.toggle('no-video', !hasVideo);
  }

  /** Marks the tiles of who speaks now, and the one who speaks most. */
  setSpeaking(ids, dominant) {
    const speaking = new Set(ids);
    for (const [id, { tile }] of this.#tiles) {
      tile.classList.toggle('speaking', speaking.has(id));
      tile.classList.toggle('dominant', id === dominant);
    }
  }

  /** Marks how good the connection bringing the tile of `id` is ('good', 'fair', 'poor'). */
  setQuality(id, mark, text) {
    const quality = this.#tiles.get(id)?.tile.querySelector('.tile-quality');
    if (!quality) return;
    quality.dataset.quality = mark ?? '';
    quality.title = text ?? '';
    quality.setAttribute('aria-label', text ?? 'Connection not measured yet');
  }

  /** Marks the raised hands, numbered in the order they went up. */
  setHands(ids) {
    for (const [id, { tile, hand }] of this.#tiles) {
      const place = ids.indexOf(id);
      tile.classList.toggle('hand-raised', place >= 0);
      hand.textContent = place >= 0 ? `✋ ${place + 1}` : '';
    }
  }

  /** Shows `emoji` on the tile of `id` for a few seconds. */
  showReaction(id, emoji) {
    const entry = this.#tiles.get(id);
    if (!entry) return;
    entry.reaction.textContent = emoji;
    clearTimeout(entry.reactionTimer);
    entry.reactionTimer = setTimeout(() => {
      entry.reaction.textContent = '';
    }, REACTION_SHOWN_MS);
  }

  /** The ids of every tile. */
  ids() {
    return [...this.#tiles.keys()];
  }

  /** Puts a member's name and media flags on its tile. */
  update(member) {
    const entry = this.#tiles.get(member.id);
    if (!entry) return;
    const name = member.label ?? member.name;
    entry.name.textContent = entry.self ? `${name} (you)` : name;
    entry.letter.textContent = initial(member.name);
    this.#labelTools(member.id);
    entry.tile.classList.toggle('audio-off', !member.audio);
    entry.tile.classList.toggle('video-off', !member.video);
  }

  /** Shows `stream` on the tile of `id` and plays it. */
  show(id, stream) {
    const { video } = this.ensure(id);
    if (video.srcObject !== stream) video.srcObject = stream;
    this.#play(video);
  }

  /** Shows this page's own picture (or none) on its tile; `mirror` for a camera. */
  showSelf(id, stream, { mirror, screen }) {
    const entry = this.#tiles.get(id);
    if (!entry) return;
    if (entry.video.srcObject !== stream) entry.video.srcObject = stream;
    entry.video.classList.toggle('mirror', mirror);
    entry.tile.classList.toggle('screen', screen);
  }

  /** Says on the tile how its connection is. */
  setState(id, state) {
    const entry = this.#tiles.get(id);
    if (!entry) return;
    entry.tile.dataset.state = state;
    entry.state.textContent = STATE_TEXT[state] ?? '';
  }

  remove(id) {
    const entry = this.#tiles.get(id);
    if (!entry) return;
    entry.video.srcObject = null;
    this.#tileObserver.unobserve(entry.tile);
    entry.tile.remove();
    this.#tiles.delete(id);
    if (this.#stageId === id) this.#stageId = null;
    this.#layout();
  }

  /** Removes every tile, or all but this page's own. */
  clear({ keepSelf = false } = {}) {
    for (const [id, entry] of [...this.#tiles]) {
      if (!(keepSelf && entry.self)) this.remove(id);
    }
  }

  /** Plays the others' sound on `speakerId` ('' for the system's choice). */
  useSpeaker(speakerId) {
    this.#speakerId = speakerId;
    for (const { video, self } of this.#tiles.values()) if (!self) this.#useSpeaker(video);
  }

  /** Tries again to play every tile, after a click allowed sound. */
  resume() {
    for (const { video } of this.#tiles.values()) video.play().catch(() => {});
  }

  async #useSpeaker(video) {
    if (!this.#speakerId || typeof video.setSinkId !== 'function') return;
    try {
      await video.setSinkId(this.#speakerId);
    } catch (err) {
      console.warn('room: could not choose the speaker', err);
    }
  }

  #play(video) {
    video.play().catch((err) => {
      if (err?.name === 'NotAllowedError') this.#onBlockedSound();
    });
  }

  /**
   * Sizes the tiles like a meeting app does: for each possible number of columns, the largest
   * tile that fits its cell with an aspect between 4:3 and 16:9; the layout that shows a 16:9
   * picture biggest wins. Written as the CSS custom properties --tile-width and --tile-height
   * (CSSOM, which the page's CSP allows; inline style attributes it does not).
   */
  #layout() {
    const count = this.#tiles.size;
    this.#node.dataset.count = String(count);
    const width = this.#node.clientWidth;
    const height = this.#node.clientHeight;
    const staged = this.#stageId !== null && count > 1;
    this.#node.classList.toggle('staged', staged);
    if (count === 0 || width === 0 || height === 0) return;
    if (staged) {
      // The stage takes what the strip leaves; the strip's tiles share its width, 16:9.
      const others = count - 1;
      const stripH = Math.min(STRIP_PX, height / 4);
      const w = Math.min((stripH * 16) / 9, (width - TILE_GAP_PX * (others - 1)) / others);
      this.#node.style.setProperty('--tile-width', `${Math.floor(w)}px`);
      this.#node.style.setProperty('--tile-height', `${Math.floor((w * 9) / 16)}px`);
      this.#node.style.setProperty('--stage-width', `${Math.floor(width)}px`);
      const stageH = Math.floor(height - stripH - TILE_GAP_PX);
      this.#node.style.setProperty('--stage-height', `${stageH}px`);
      return;
    }
    let best = { w: 0, h: 0 };
    for (let cols = 1; cols <= count; cols += 1) {
      const rows = Math.ceil(count / cols);
      const cellW = (width - TILE_GAP_PX * (cols - 1)) / cols;
      const cellH = (height - TILE_GAP_PX * (rows - 1)) / rows;
      const w = Math.min(cellW, (cellH * 16) / 9);
      const h = Math.min(cellH, (w * 3) / 4);
      // Every tile is at most 16:9, so a 16:9 picture is as wide as the tile.
      if (w > best.w) best = { w, h };
    }
    this.#node.style.setProperty('--tile-width', `${Math.floor(best.w)}px`);
    this.#node.style.setProperty('--tile-height', `${Math.floor(best.h)}px`);
  }
}
