// room.js: the room page. First a preview to check camera and microphone (#prejoin), then the
// meeting (#call): the video grid and its controls, the people and the chat.
//
// This module only draws and wires: protocol.js owns the socket, media.js this browser's
// devices, call.js the peer connections. Text from other people only ever reaches the page
// through textContent.

import { Connection } from './protocol.js';
import { checkName, loadNickname, maxChars, people, saveNickname } from './common.js';
import {
  LocalMedia,
  canChooseSpeaker,
  canShareScreen,
  explainMediaError,
  listDevices,
  mediaUnavailableReason,
  saveDeviceId,
  savedSpeakerId,
} from './media.js';
import { Call } from './call.js';

const $ = (id) => document.getElementById(id);

const page = $('room-page');
const status = $('status');
const errorBanner = $('error');
const copyLinkButton = $('copy-link');
// Before joining.
const prejoin = $('prejoin');
const prejoinForm = $('prejoin-form');
const preview = $('preview');
const previewOff = $('preview-off');
const occupancy = $('occupancy');
const nicknameInput = $('nickname');
const devicesFieldset = $('devices');
const micSelect = $('mic-select');
const cameraSelect = $('camera-select');
const speakerSelect = $('speaker-select');
const prejoinMic = $('prejoin-mic');
const prejoinCamera = $('prejoin-camera');
const mediaError = $('media-error');
const joinButton = $('join-button');
// In the call.
const callView = $('call');
const grid = $('video-grid');
const micButton = $('toggle-mic');
const cameraButton = $('toggle-camera');
const shareButton = $('share-screen');
const settingsButton = $('toggle-settings');
const settingsPanel = $('settings');
const leaveButton = $('leave');
const renameForm = $('nickname-form');
const renameInput = $('rename-input');
const renameButton = $('rename');
const membersList = $('members');
const memberCount = $('member-count');
const chatLog = $('chat-log');
const chatForm = $('chat-form');
const chatInput = $('chat-input');
const chatSend = $('chat-send');

const roomName = page.dataset.room;
const NICKNAME_MAX = maxChars(nicknameInput, 32);
/** Longest chat message, as src/chat.rs says. */
const TEXT_MAX_CHARS = 2000;
/** Error codes after which this page cannot be in its room. */
const FATAL_ERRORS = new Set(['room_full', 'invalid_room']);
/** Reconnecting waits 0.5 s, 1 s, 2 s, ... up to 8 s, each ±25 %. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8000;

/** Everyone in the room, this connection included, by id, in the order they joined. */
const members = new Map();
/** The chat entries shown, by seq. */
const entries = new Map();
/** The video tiles by peer id: { tile, video, name }. */
const tiles = new Map();

/** @type {Connection | null} the current connection; a new one after every reconnect. */
let conn = null;
/** Whether the person asked to be in the meeting (so a reconnect joins again). */
let wantInRoom = false;
/** Whether the server says this connection is in the room. */
let inRoom = false;
/** Set when the person leaves: nothing reconnects after that. */
let leaving = false;
let reconnectAttempt = 0;
let reconnectTimer = 0;
/** The last `media` frame sent on this connection, to skip repeats. */
let sentMedia = null;
/** The nickname chosen on this page ('' for the server's "Guest N"); storage may be off. */
let chosenName = '';

// ---- small DOM helpers -------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

let errorTimer = 0;

/** Shows a message in the alert banner; non-sticky messages go away after a while. */
function showError(message, { sticky = false, action = null } = {}) {
  clearTimeout(errorTimer);
  const text = el('span', 'banner-text', message);
  const close = el('button', 'banner-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', hideError);
  errorBanner.replaceChildren(text, ...(action ? [action] : []), close);
  errorBanner.hidden = false;
  if (!sticky) errorTimer = setTimeout(hideError, 8000);
}

function hideError() {
  clearTimeout(errorTimer);
  errorBanner.hidden = true;
  errorBanner.replaceChildren();
}

function homeLink() {
  const home = el('a', 'button secondary', 'Back to the home page');
  home.href = '/';
  return home;
}

function setChatEnabled(enabled) {
  chatInput.disabled = !enabled;
  chatSend.disabled = !enabled;
}

/** Whether a key press belongs to a text field rather than to the page's shortcuts. */
function isTyping(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))
  );
}

// ---- local media: preview, devices, controls ------------------------------------------------

const media = new LocalMedia();
/** What the preview and the own tile show: the camera (or shared screen) without sound. */
const previewStream = new MediaStream();
const selfStream = new MediaStream();

function showInStream(stream, track) {
  for (const old of stream.getTracks()) if (old !== track) stream.removeTrack(old);
  if (track && !stream.getTracks().includes(track)) stream.addTrack(track);
}

function attach(video, stream) {
  if (video.srcObject !== stream) video.srcObject = stream;
}

function showMediaProblems(problems) {
  mediaError.textContent = problems.join(' ');
  mediaError.hidden = problems.length === 0;
}

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

let speakerId = savedSpeakerId();

async function refreshDevices() {
  const lists = await listDevices();
  fillSelect(micSelect, lists.audioinput, media.mic?.getSettings().deviceId, 'Microphone');
  fillSelect(cameraSelect, lists.videoinput, media.camera?.getSettings().deviceId, 'Camera');
  if (canChooseSpeaker()) {
    const outputs = lists.audiooutput;
    // '' is the system's default output, listed by Chrome as 'default'.
    const current = outputs.some((d) => d.deviceId === speakerId) ? speakerId : outputs[0]?.deviceId;
    fillSelect(speakerSelect, outputs, current, 'Speaker');
    if (outputs.length === 0) {
      // Some browsers list no outputs until asked; the system's choice still works.
      const system = el('option', '', 'System default');
      system.value = '';
      speakerSelect.replaceChildren(system);
    }
  } else {
    const system = el('option', '', 'Chosen by your browser');
    system.value = '';
    speakerSelect.replaceChildren(system);
    speakerSelect.disabled = true;
  }
}

async function useSpeaker(video) {
  if (!canChooseSpeaker() || !speakerId) return;
  try {
    await video.setSinkId(speakerId);
  } catch (err) {
    console.warn('room: could not choose the speaker', err);
  }
}

function setControl(button, { on, available, onLabel, offLabel, shortcut }) {
  // aria-pressed says whether the thing is on (microphone, camera, sharing); the visible
  // label says what a press does ("Mute" / "Unmute"), as meeting apps do.
  button.classList.toggle('off', !on);
  button.disabled = !available;
  button.setAttribute('aria-pressed', String(on));
  button.querySelector('.control-label').textContent = on ? onLabel : offLabel;
  button.title = `${on ? onLabel : offLabel}${shortcut ? ` (${shortcut})` : ''}`;
}

/** Makes everything that shows or sends local media agree with `media`. */
function syncMedia() {
  call.setLocalTrack('audio', media.mic);
  call.setLocalTrack('video', media.videoTrack);

  showInStream(previewStream, media.camera);
  // A video element on a stream without tracks delays the page's load event for ever.
  attach(preview, media.camera ? previewStream : null);
  const cameraVisible = Boolean(media.camera && media.videoOn);
  previewOff.hidden = cameraVisible;
  previewOff.textContent = media.camera ? 'Your camera is off' : 'No camera';
  prejoinMic.disabled = !media.mic;
  prejoinCamera.disabled = !media.camera;
  prejoinMic.checked = Boolean(media.mic && media.audioOn);
  prejoinCamera.checked = cameraVisible;

  showInStream(selfStream, media.videoTrack);
  const selfTile = conn && tiles.get(conn.id);
  if (selfTile) attach(selfTile.video, media.videoTrack ? selfStream : null);
  // A mirror image of the camera feels natural; a mirrored screen does not.
  selfTile?.video.classList.toggle('mirror', !media.screen);
  selfTile?.tile.classList.toggle('screen', Boolean(media.screen));

  const { audio, video } = media.sending;
  setControl(micButton, { on: audio, available: Boolean(media.mic), onLabel: 'Mute', offLabel: 'Unmute', shortcut: 'M' });
  setControl(cameraButton, {
    on: Boolean(media.camera && media.videoOn),
    available: Boolean(media.camera),
    onLabel: 'Stop video',
    offLabel: 'Start video',
    shortcut: 'V',
  });
  setControl(shareButton, {
    on: Boolean(media.screen),
    available: canShareScreen(),
    onLabel: 'Stop sharing',
    offLabel: 'Share',
  });
  // The share button reads as "active" while sharing, unlike mic and camera that read as
  // "off" when not sending.
  shareButton.classList.toggle('off', false);
  shareButton.classList.toggle('active', Boolean(media.screen));
  sendMedia();
}

/** Tells the room what this page sends, once per change. */
function sendMedia() {
  if (!inRoom || !conn) return;
  const { audio, video } = media.sending;
  if (sentMedia && sentMedia.audio === audio && sentMedia.video === video) return;
  if (conn.media(audio, video)) sentMedia = { audio, video };
}

media.addEventListener('change', syncMedia);
media.addEventListener('problem', (ev) => showError(ev.detail));

prejoinMic.addEventListener('change', () => media.setAudioOn(prejoinMic.checked));
prejoinCamera.addEventListener('change', () => media.setVideoOn(prejoinCamera.checked));

async function switchDevice(kind, select) {
  if (!select.value) return;
  try {
    await media.useDevice(kind, select.value);
  } catch (err) {
    showError(explainMediaError(err, kind));
  }
  await refreshDevices();
}

micSelect.addEventListener('change', () => switchDevice('audio', micSelect));
cameraSelect.addEventListener('change', () => switchDevice('video', cameraSelect));
speakerSelect.addEventListener('change', () => {
  speakerId = speakerSelect.value;
  saveDeviceId('audiooutput', speakerId);
  for (const { video } of tiles.values()) if (!video.muted) useSpeaker(video);
});
navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);

function toggleMic() {
  if (media.mic) media.setAudioOn(!media.audioOn);
}

function toggleCamera() {
  if (media.camera) media.setVideoOn(!media.videoOn);
}

async function toggleScreenShare() {
  if (media.screen) {
    media.stopScreenShare();
    return;
  }
  try {
    await media.startScreenShare();
  } catch (err) {
    // Cancelling the browser's picker is a choice, not an error.
    if (err?.name !== 'NotAllowedError' && err?.name !== 'AbortError') {
      showError(`Could not share the screen (${err?.message || err}).`);
    }
  }
}

micButton.addEventListener('click', toggleMic);
cameraButton.addEventListener('click', toggleCamera);
shareButton.addEventListener('click', toggleScreenShare);

settingsButton.addEventListener('click', () => {
  settingsPanel.hidden = !settingsPanel.hidden;
  settingsButton.setAttribute('aria-expanded', String(!settingsPanel.hidden));
  settingsButton.classList.toggle('active', !settingsPanel.hidden);
});

document.addEventListener('keydown', (ev) => {
  if (!inRoom || ev.repeat || ev.ctrlKey || ev.metaKey || ev.altKey || isTyping(ev.target)) return;
  const key = ev.key.toLowerCase();
  if (key === 'm') toggleMic();
  else if (key === 'v') toggleCamera();
  else return;
  ev.preventDefault();
});

// ---- the video grid -----------------------------------------------------------------------

function initial(name) {
  return [...String(name ?? '?').trim()][0]?.toUpperCase() ?? '?';
}

/** The tile of `id`, made on first use: a video, a placeholder letter, the name and flags. */
function ensureTile(id) {
  let entry = tiles.get(id);
  if (entry) return entry;
  const self = id === conn?.id;
  const tile = el('div', self ? 'tile self' : 'tile');
  tile.dataset.peerId = id;
  const video = el('video', 'tile-video');
  video.autoplay = true;
  video.playsInline = true;
  // The own tile must never play our own microphone back.
  video.muted = self;
  if (self) {
    attach(video, media.videoTrack ? selfStream : null);
    video.classList.toggle('mirror', !media.screen);
  } else {
    useSpeaker(video);
  }
  const avatar = el('div', 'tile-avatar');
  avatar.setAttribute('aria-hidden', 'true');
  const letter = el('span', 'tile-initial');
  avatar.append(letter);
  const state = el('div', 'tile-state');
  const footer = el('div', 'tile-footer');
  const mic = el('span', 'tile-mic');
  mic.title = 'Microphone off';
  const name = el('span', 'tile-name');
  footer.append(mic, name);
  tile.append(video, avatar, state, footer);
  entry = { tile, video, name, letter, state };
  tiles.set(id, entry);
  if (!self) setTileState(id, 'new');
  grid.append(tile);
  updateTile(id);
  layoutGrid();
  return entry;
}

/** Puts a member's name and media flags on its tile. */
function updateTile(id) {
  const entry = tiles.get(id);
  const member = members.get(id);
  if (!entry || !member) return;
  const self = id === conn?.id;
  entry.name.textContent = self ? `${member.name} (you)` : member.name;
  entry.letter.textContent = initial(member.name);
  entry.tile.classList.toggle('audio-off', !member.audio);
  entry.tile.classList.toggle('video-off', !member.video);
}

function removeTile(id) {
  const entry = tiles.get(id);
  if (!entry) return;
  entry.video.srcObject = null;
  entry.tile.remove();
  tiles.delete(id);
  layoutGrid();
}

/** Removes the tiles of others, and the own one too unless `keepSelf`. */
function clearTiles({ keepSelf = false } = {}) {
  for (const [id, { tile }] of [...tiles]) {
    if (!(keepSelf && tile.classList.contains('self'))) removeTile(id);
  }
}

const TILE_GAP_PX = 8;

/**
 * Sizes the tiles like a meeting app does: for each possible number of columns, the largest
 * tile that fits its cell with an aspect between 4:3 and 16:9; the layout that shows a 16:9
 * picture biggest wins. Written as the CSS custom properties --tile-width and --tile-height
 * (CSSOM, which the page's CSP allows; inline style attributes it does not).
 */
function layoutGrid() {
  const count = tiles.size;
  grid.dataset.count = String(count);
  const width = grid.clientWidth;
  const height = grid.clientHeight;
  if (count === 0 || width === 0 || height === 0) return;
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
  grid.style.setProperty('--tile-width', `${Math.floor(best.w)}px`);
  grid.style.setProperty('--tile-height', `${Math.floor(best.h)}px`);
}

new ResizeObserver(layoutGrid).observe(grid);

const STATE_TEXT = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  disconnected: 'Reconnecting…',
  failed: 'Reconnecting…',
  lost: 'Connection lost',
};

function setTileState(id, state) {
  const entry = tiles.get(id);
  if (!entry) return;
  entry.tile.dataset.state = state;
  entry.state.textContent = STATE_TEXT[state] ?? '';
}

let soundBlocked = false;

/** Plays a remote video; if the browser wants a click before sound, asks for one. */
function play(video) {
  video.play().catch((err) => {
    if (err?.name !== 'NotAllowedError' || soundBlocked) return;
    soundBlocked = true;
    const button = el('button', 'secondary', 'Turn on sound');
    button.type = 'button';
    button.addEventListener('click', () => {
      soundBlocked = false;
      hideError();
      for (const { video: v } of tiles.values()) v.play().catch(() => {});
    });
    showError('Your browser paused the sound of this meeting.', { sticky: true, action: button });
  });
}

// ---- the call -----------------------------------------------------------------------------

function iceServers() {
  try {
    const servers = JSON.parse(page.dataset.iceServers || '[]');
    if (Array.isArray(servers)) return servers;
  } catch (err) {
    console.warn('room: data-ice-servers is not JSON; calling without ICE servers', err);
  }
  return [];
}

const call = new Call({
  iceServers: iceServers(),
  relayOnly: page.dataset.iceRelayOnly === 'true',
  signal: {
    description(to, desc) {
      if (desc.type === 'offer') conn?.offer(to, desc.sdp);
      else if (desc.type === 'answer') conn?.answer(to, desc.sdp);
    },
    candidate(to, candidate) {
      conn?.candidate(to, candidate);
    },
  },
});

call.addEventListener('peerstream', (ev) => {
  const { id, stream } = ev.detail;
  // Normally `peer_joined` made the tile already; if not, it gets its name when that comes.
  if (!inRoom) return;
  const { video } = ensureTile(id);
  if (video.srcObject !== stream) video.srcObject = stream;
  play(video);
});
call.addEventListener('peerstate', (ev) => setTileState(ev.detail.id, ev.detail.state));
call.addEventListener('peerfailed', (ev) => {
  setTileState(ev.detail.id, 'lost');
  showError(`The connection to ${memberName(ev.detail.id)} was lost.`);
});

/**
 * Read-only hook for the browser tests (e2e/), and nothing else uses it:
 * - peerConnections(): the live RTCPeerConnections by remote peer id (a copy of the map);
 * - selfId(): this page's own peer id while it is in the room, null before joining, after a
 *   refused join and while reconnecting.
 */
window.roomCall = Object.freeze({
  peerConnections: () => call.peerConnections(),
  selfId: () => (inRoom && conn?.id) || null,
});

/**
 * Ends every peer connection and forgets the room, keeping the local media. While reconnecting
 * the own tile stays, so the stage is not empty; the rejoin replaces it (the id changes).
 */
function tearDownCall({ keepSelf = false } = {}) {
  call.close();
  clearTiles({ keepSelf });
  members.clear();
  renderMembers();
  inRoom = false;
  sentMedia = null;
  setChatEnabled(false);
  renameButton.disabled = true;
}

function showCall() {
  prejoin.hidden = true;
  callView.hidden = false;
  document.body.classList.add('in-call');
  // The same pickers switch devices mid-call.
  settingsPanel.append(devicesFieldset);
}

function showPrejoin() {
  document.body.classList.remove('in-call');
  callView.hidden = true;
  prejoin.hidden = false;
  prejoinForm.insertBefore(devicesFieldset, prejoinForm.querySelector('.prejoin-toggles'));
  joinButton.disabled = !conn?.isOpen;
}

function leave() {
  leaving = true;
  clearTimeout(reconnectTimer);
  tearDownCall();
  media.stop();
  if (conn) {
    conn.leave();
    conn.close();
  }
}

leaveButton.addEventListener('click', () => {
  leave();
  location.assign('/');
});

// Closing the tab or navigating away ends the calls at once rather than when ICE times out.
window.addEventListener('pagehide', () => {
  if (!leaving) leave();
});
// Coming back through the back/forward cache finds everything closed: start afresh.
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted) location.reload();
});

// ---- members ------------------------------------------------------------------------------

function mediaFlag(kind, on) {
  const label = kind === 'audio' ? 'Microphone' : 'Camera';
  const flag = el('span', `media-flag ${kind} ${on ? 'on' : 'off'}`, kind === 'audio' ? 'mic' : 'cam');
  flag.title = `${label} ${on ? 'on' : 'off'}`;
  flag.setAttribute('aria-label', flag.title);
  return flag;
}

function renderMembers() {
  const items = [...members.values()].map((m) => {
    const li = el('li', 'member');
    li.dataset.peerId = m.id;
    const name = el('span', 'member-name', m.name);
    li.append(name);
    if (m.id === conn?.id) {
      li.classList.add('me');
      li.append(el('span', 'member-you', '(you)'));
    }
    const flags = el('span', 'member-media');
    flags.append(mediaFlag('audio', m.audio), mediaFlag('video', m.video));
    li.append(flags);
    return li;
  });
  membersList.replaceChildren(...items);
  memberCount.textContent = String(members.size);
  if (inRoom) status.textContent = `In the meeting · ${people(members.size)}`;
}

function memberName(id) {
  return members.get(id)?.name ?? 'Someone';
}

// ---- chat ---------------------------------------------------------------------------------

function isScrolledToBottom() {
  return chatLog.scrollHeight - chatLog.scrollTop - chatLog.clientHeight < 40;
}

function formatTime(ts) {
  const date = new Date(ts);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Adds one entry in seq order; an entry already shown is ignored. */
function addChat(entry) {
  if (typeof entry.seq !== 'number' || entries.has(entry.seq)) return;
  const stick = isScrolledToBottom();

  const li = el('li', 'chat-entry');
  li.dataset.seq = String(entry.seq);
  if (entry.from === conn?.id) li.classList.add('mine');
  const meta = el('div', 'chat-meta');
  const time = el('time', 'chat-time', formatTime(entry.ts));
  if (Number.isFinite(entry.ts)) time.dateTime = new Date(entry.ts).toISOString();
  meta.append(el('span', 'chat-name', entry.name), time);
  const text = el('div', 'chat-text', entry.text);
  text.dir = 'auto';
  li.append(meta, text);

  // Frames arrive in order, so this is nearly always an append; the search keeps the
  // transcript in seq order even if they do not.
  let next = null;
  for (const [seq, node] of entries) {
    if (seq > entry.seq && (next === null || seq < Number(next.dataset.seq))) next = node;
  }
  chatLog.insertBefore(li, next);
  entries.set(entry.seq, li);

  if (stick || entry.from === conn?.id) chatLog.scrollTop = chatLog.scrollHeight;
}

/** A line from the page itself (someone joined, left, renamed), not part of the transcript. */
function addNotice(text) {
  const stick = isScrolledToBottom();
  chatLog.append(el('li', 'chat-notice', text));
  if (stick) chatLog.scrollTop = chatLog.scrollHeight;
}

function resetChat(history) {
  entries.clear();
  chatLog.replaceChildren();
  for (const entry of history) addChat(entry);
  chatLog.scrollTop = chatLog.scrollHeight;
}

chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = chatInput.value;
  if (text.trim() === '') return;
  if ([...text].length > TEXT_MAX_CHARS) {
    showError(`A message can be at most ${TEXT_MAX_CHARS} characters.`);
    return;
  }
  if (conn?.chat(text)) chatInput.value = '';
});

chatInput.addEventListener('keydown', (ev) => {
  // Enter sends, Shift+Enter makes a new line; Enter that ends an IME composition (Korean,
  // Japanese, ...) only confirms the composed text.
  if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
  ev.preventDefault();
  chatForm.requestSubmit();
});

// ---- nickname -----------------------------------------------------------------------------

nicknameInput.value = loadNickname();
for (const input of [nicknameInput, renameInput]) {
  input.addEventListener('input', () => input.setCustomValidity(''));
}

/** The trimmed nickname in `input`, '' for none, or null (after saying why) if it breaks a rule. */
function readNickname(input) {
  if (input.value.trim() === '') return '';
  const { value, error } = checkName(input.value, NICKNAME_MAX);
  if (error) {
    input.setCustomValidity(`Name ${error}.`);
    input.reportValidity();
    return null;
  }
  return value;
}

renameForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = readNickname(renameInput);
  // Saved when the server confirms it with a `nickname` frame.
  if (name) conn?.nickname(name);
});

// ---- joining ------------------------------------------------------------------------------

prejoinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = readNickname(nicknameInput);
  if (name === null) return;
  if (name) saveNickname(name);
  chosenName = name;
  wantInRoom = true;
  hideError();
  joinButton.disabled = true;
  enterRoom();
});

/** Asks to be in the room, under the chosen name. Called on Join and after every reconnect. */
function enterRoom() {
  if (!conn?.isOpen) return;
  status.textContent = 'Joining…';
  const name = chosenName;
  if (name && name !== conn.name) conn.nickname(name);
  conn.join(roomName);
}

/** Says how many people are in this room, from a room list (`welcome`, `rooms`). */
function showOccupancy(rooms) {
  showCount((rooms ?? []).find((r) => r.name === roomName)?.count ?? 0);
}

function showCount(here) {
  occupancy.textContent =
    here === 0 ? 'No one is here yet.' : `${people(here)} ${here === 1 ? 'is' : 'are'} here.`;
}

copyLinkButton.addEventListener('click', async () => {
  const url = new URL(copyLinkButton.dataset.href, location.href).href;
  try {
    await navigator.clipboard.writeText(url);
    copyLinkButton.textContent = 'Copied!';
    setTimeout(() => {
      copyLinkButton.textContent = 'Copy link';
    }, 2000);
  } catch {
    // No clipboard (plain http, or permission refused): let the person copy it by hand.
    window.prompt('Copy this link to invite people:', url);
  }
});

// ---- the connection -----------------------------------------------------------------------

/** The handlers of one connection's frames; each ignores a connection that has been replaced. */
const handlers = {
  open() {
    status.textContent = wantInRoom ? 'Joining…' : 'Connected';
  },

  welcome(frame) {
    reconnectAttempt = 0;
    if (!nicknameInput.value) nicknameInput.placeholder = frame.name;
    showOccupancy(frame.rooms);
    if (wantInRoom) {
      hideError();
      enterRoom();
    } else {
      status.textContent = 'Check your camera and microphone, then join.';
      joinButton.disabled = false;
    }
  },

  rooms(frame) {
    showOccupancy(frame.rooms);
  },

  room(frame) {
    if (frame.name === roomName) showCount(frame.count);
  },

  joined(frame) {
    const { peers = [], history = [] } = frame;
    inRoom = true;
    sentMedia = null;
    hideError();
    showCall();
    members.clear();
    for (const peer of peers) members.set(peer.id, { ...peer });
    const { audio, video } = media.sending;
    members.set(conn.id, { id: conn.id, name: conn.name, audio, video });
    renameInput.value = conn.name;
    renameButton.disabled = false;
    renderMembers();
    resetChat(history);
    setChatEnabled(true);

    clearTiles();
    ensureTile(conn.id);
    // We are the newcomer: we make the offers, and we are the impolite side to all of them.
    for (const peer of peers) {
      ensureTile(peer.id);
      call.addPeer(peer.id, { polite: false });
    }
    syncMedia();
  },

  left() {
    tearDownCall();
    status.textContent = 'You left the room.';
  },

  peer_joined({ peer }) {
    if (!inRoom) return;
    members.set(peer.id, { ...peer });
    renderMembers();
    ensureTile(peer.id);
    // They are the newcomer and will offer; we are polite toward them.
    call.addPeer(peer.id, { polite: true });
    addNotice(`${peer.name} joined`);
  },

  peer_left({ id }) {
    call.removePeer(id);
    removeTile(id);
    if (!members.has(id)) return;
    const name = memberName(id);
    members.delete(id);
    renderMembers();
    addNotice(`${name} left`);
  },

  nickname({ id, name }) {
    if (id === conn.id) {
      renameInput.value = name;
      chosenName = name;
      saveNickname(name);
    }
    const member = members.get(id);
    if (member) {
      const old = member.name;
      member.name = name;
      renderMembers();
      updateTile(id);
      if (old !== name) addNotice(`${old} is now ${name}`);
    }
  },

  chat(frame) {
    addChat(frame);
  },

  media({ id, audio, video }) {
    const member = members.get(id);
    if (!member) return;
    member.audio = audio;
    member.video = video;
    renderMembers();
    updateTile(id);
  },

  offer({ from, sdp }) {
    if (inRoom) call.handleDescription(from, { type: 'offer', sdp });
  },

  answer({ from, sdp }) {
    if (inRoom) call.handleDescription(from, { type: 'answer', sdp });
  },

  candidate({ from, candidate }) {
    if (inRoom) call.handleCandidate(from, candidate);
  },

  error({ code, message }) {
    if (!(FATAL_ERRORS.has(code) && !inRoom)) {
      showError(message);
      return;
    }
    // The join was refused: back to the preview, from where Join can be tried again.
    wantInRoom = false;
    tearDownCall();
    showPrejoin();
    if (code === 'room_full') {
      const size = /\d+/.exec(message)?.[0];
      status.textContent = 'This room is full.';
      showError(
        `This room is full${size ? ` (${people(Number(size))})` : ''}. ` +
          'Try again later, or start another meeting.',
        { sticky: true, action: homeLink() },
      );
    } else {
      status.textContent = 'Could not join this room.';
      showError(message, { sticky: true, action: homeLink() });
    }
  },

  close() {
    if (leaving) return;
    const wasInRoom = inRoom;
    // A new connection is a new peer id: every call restarts from scratch after the rejoin.
    tearDownCall({ keepSelf: true });
    joinButton.disabled = true;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** reconnectAttempt);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
    reconnectAttempt += 1;
    status.textContent = `Connection lost. Reconnecting in ${Math.max(1, Math.round(jittered / 1000))} s…`;
    if (wasInRoom || wantInRoom) {
      const now = el('button', 'secondary', 'Reconnect now');
      now.type = 'button';
      now.addEventListener('click', () => {
        clearTimeout(reconnectTimer);
        connect();
      });
      showError('The connection to the server was lost. Reconnecting…', { sticky: true, action: now });
    }
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, jittered);
  },
};

function connect() {
  if (leaving) return;
  const c = new Connection();
  conn = c;
  for (const [type, handle] of Object.entries(handlers)) {
    c.addEventListener(type, (ev) => {
      if (c === conn) handle(ev.detail);
    });
  }
}

// ---- start --------------------------------------------------------------------------------

syncMedia();
connect();
media.start().then(async (problems) => {
  showMediaProblems(problems);
  await refreshDevices();
});
if (!canShareScreen()) shareButton.hidden = true;
