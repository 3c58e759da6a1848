// room.js: the room page, wired from its parts. First a preview to check camera and
// microphone (#prejoin), then the meeting (#call).
//
// session.js keeps the connection (and reconnects), room-state.js what the page knows of the
// room, media.js this browser's devices, and ui/ draws: the grid, chat, members, controls and
// the preview. The call is sfu.js (one connection, to the server) or call.js (one to every
// member), as the server's `welcome` says. This module only connects them. Limits come from the
// page (data-max-chars) and the protocol (error fields), never from copies in here.

import {
  checkName,
  loadHostToken,
  loadNickname,
  loadSetting,
  people,
  saveHostToken,
  saveNickname,
  saveSetting,
} from './common.js';
import {
  LocalMedia,
  canShareScreen,
  explainMediaError,
  saveDeviceId,
  savedSpeakerId,
} from './media.js';
import { Call } from './call.js';
import { SfuCall } from './sfu.js';
import { Session } from './session.js';
import { describe, grade, LossMeter } from './quality.js';
import { RoomState } from './room-state.js';
import { Banner, homeLink } from './ui/banner.js';
import { ChatPanel } from './ui/chat.js';
import { Controls } from './ui/controls.js';
import { DeviceCheck } from './ui/device-check.js';
import { button, el, maxChars } from './ui/dom.js';
import { Grid } from './ui/grid.js';
import { MembersPanel } from './ui/members.js';
import { Prejoin } from './ui/prejoin.js';

const $ = (id) => document.getElementById(id);

const page = $('room-page');
const status = $('status');
const callView = $('call');
const settingsPanel = $('settings');
const nicknameInput = $('nickname');
const renameForm = $('nickname-form');
const renameInput = $('rename-input');
const renameButton = $('rename');
const copyLinkButton = $('copy-link');

const NICKNAME_MAX = maxChars(nicknameInput);
/** How many a room may hold, from the page. */
const MAX_ROOM_SIZE = Number(page.dataset.maxRoomSize);
/** Error codes after which this page cannot be in its room. */
const FATAL_ERRORS = new Set([
  'room_full',
  'invalid_room',
  'room_locked',
  'password_required',
  'wrong_password',
]);

const banner = new Banner($('error'));
const session = new Session(page.dataset.room);
session.hostToken = loadHostToken(page.dataset.room);
// "New meeting" on the home page opens `?new`: a meeting it makes is not listed.
session.listed = !new URLSearchParams(location.search).has('new');
const listButton = $('list-room');
const shortcutsSwitch = $('shortcuts-on');
/** Where the single-key shortcuts setting is kept. */
const SHORTCUTS_KEY = 'room.shortcuts';
const waitingRoomButton = $('waiting-room');
const passwordField = $('password-field');
const passwordInput = $('meeting-password');
const lockButton = $('lock-room');
const endButton = $('end-meeting');
const state = new RoomState(page.dataset.room);
const media = new LocalMedia();
/** What the preview and the own tile show: the camera (or shared screen) without sound. */
const previewStream = new MediaStream();
const selfStream = new MediaStream();
/** The last `media` frame sent on this connection, to skip repeats. */
let sentMedia = null;
let speakerId = savedSpeakerId();
let soundBlocked = false;
/** Set when the person leaves: the page is done with the meeting. */
let leaving = false;
/** Whether the room was full when its count last came, before joining. */
let roomWasFull = false;
/** 'grid' (every tile alike) or 'speaker' (the one speaking on the stage). */
let viewMode = 'grid';
/** The tile this person pinned to the stage, if any. */
let pinnedId = null;
/** In a mesh: who speaks loudest, from the sound each connection brings. */
let meshSpeaker = null;

const prejoin = new Prejoin({
  section: $('prejoin'),
  form: $('prejoin-form'),
  preview: $('preview'),
  previewOff: $('preview-off'),
  occupancy: $('occupancy'),
  devices: $('devices'),
  mic: $('mic-select'),
  camera: $('camera-select'),
  speaker: $('speaker-select'),
  micOn: $('prejoin-mic'),
  cameraOn: $('prejoin-camera'),
  mediaError: $('media-error'),
  retry: $('media-retry'),
  join: $('join-button'),
});

const deviceCheck = new DeviceCheck(
  { meter: $('mic-level'), test: $('speaker-test') },
  { speakerId: () => speakerId },
);

const grid = new Grid(
  $('video-grid'),
  () => {
    if (soundBlocked) return;
    soundBlocked = true;
    const turnOn = button('secondary', 'Turn on sound');
    turnOn.addEventListener('click', () => {
      soundBlocked = false;
      banner.hide();
      grid.resume();
    });
    banner.show('Your browser paused the sound of this meeting.', { sticky: true, action: turnOn });
  },
  (sizes) => {
    if (call instanceof SfuCall) call.setTileSizes(sizes);
  },
  (id) => {
    pinnedId = id;
    grid.setPinned(id);
    updateStage();
  },
);
/** On a phone, opens or closes the panel of people, chat and settings. */
function showSidebar(open) {
  $('sidebar').classList.toggle('open', open);
  $('toggle-chat').setAttribute('aria-expanded', String(open));
  if (open) {
    chat.shown();
    $('close-sidebar').focus();
  }
}
$('toggle-chat').addEventListener('click', () =>
  showSidebar(!$('sidebar').classList.contains('open')),
);
$('close-sidebar').addEventListener('click', () => showSidebar(false));
// On a phone the settings are in that panel too: opening them opens it.
const PHONE = matchMedia('(max-width: 800px), (max-height: 500px)');
$('toggle-settings').addEventListener('click', () => {
  if (PHONE.matches && !settingsPanel.hidden) showSidebar(true);
});
$('view-mode').addEventListener('click', () => {
  viewMode = viewMode === 'grid' ? 'speaker' : 'grid';
  updateStage();
});

/** How often the tiles' connection marks are measured again. */
const QUALITY_EVERY_MS = 2000;
const lossMeter = new LossMeter();

/**
 * Each remote tile's connection mark: in a mesh from its own connection, through the server
 * from the streams its slots bring (and the one connection's round trip).
 */
async function measureQuality() {
  if (!call || !state.inRoom) return;
  // Through the server, a stream is a slot's: its member is whoever the slot carries.
  let slots = null;
  if (call instanceof SfuCall) {
    slots = new Map(call.audioSlots());
    for (const [mid, { member }] of call.videoSlots()) slots.set(mid, member);
  }
  const seen = new Set();
  for (const [key, pc] of call.peerConnections()) {
    const stats = await pc.getStats();
    let rttMs = null;
    const counts = new Map();
    stats.forEach((report) => {
      if (report.type === 'candidate-pair' && report.nominated && report.currentRoundTripTime) {
        rttMs = report.currentRoundTripTime * 1000;
      }
      if (report.type !== 'inbound-rtp') return;
      const member = slots ? slots.get(report.mid) : key;
      if (!member) return;
      const sum = counts.get(member) ?? { received: 0, lost: 0 };
      sum.received += report.packetsReceived ?? 0;
      sum.lost += report.packetsLost ?? 0;
      counts.set(member, sum);
    });
    for (const [member, { received, lost }] of counts) {
      seen.add(member);
      const measured = { loss: lossMeter.update(member, received, lost), rttMs };
      const mark = grade(measured);
      grid.setQuality(member, mark, mark && describe(mark, measured));
    }
  }
  lossMeter.retain(seen);
}
setInterval(measureQuality, QUALITY_EVERY_MS);

/**
 * In a mesh, who speaks: the sound level of each connection over the last half second (from
 * the audio energy received since the last look, so a short word between two looks counts).
 */
const MESH_SPEAKING_EVERY_MS = 500;
const SPEAKING_LEVEL = 0.02;
/** Each connection's audio energy and duration at the last look, by peer id. */
const heardSoFar = new Map();
setInterval(async () => {
  if (!(call instanceof Call) || !state.inRoom) return;
  const levels = [];
  const seen = new Set();
  for (const [id, pc] of call.peerConnections()) {
    const stats = await pc.getStats();
    stats.forEach((report) => {
      if (report.type !== 'inbound-rtp' || report.kind !== 'audio') return;
      const now = { energy: report.totalAudioEnergy ?? 0, seconds: report.totalSamplesDuration ?? 0 };
      const before = heardSoFar.get(id) ?? { energy: 0, seconds: 0 };
      heardSoFar.set(id, now);
      seen.add(id);
      const seconds = now.seconds - before.seconds;
      const energy = now.energy - before.energy;
      levels.push([id, seconds > 0 && energy > 0 ? Math.sqrt(energy / seconds) : 0]);
    });
  }
  for (const id of heardSoFar.keys()) if (!seen.has(id)) heardSoFar.delete(id);
  const speaking = levels.filter(([, level]) => level > SPEAKING_LEVEL);
  speaking.sort((a, b) => b[1] - a[1]);
  meshSpeaker = speaking[0]?.[0] ?? meshSpeaker;
  grid.setSpeaking(speaking.map(([id]) => id), meshSpeaker);
  updateStage();
}, MESH_SPEAKING_EVERY_MS);

const members = new MembersPanel(
  { list: $('members'), count: $('member-count') },
  {
    onRemove: (id) => session.remove(id),
    onCohost: (id, cohost) => session.cohost(id, cohost),
    onMute: (id) => session.mute(id),
    onAskUnmute: (id) => session.askUnmute(id),
    onLowerHand: (id) => session.lowerHand(id),
    onSpotlight: (id) => session.spotlight(id),
  },
);
$('mute-all').addEventListener('click', () => session.muteAll());
lockButton.addEventListener('click', () => session.lock(!state.locked));
listButton.addEventListener('click', () => session.list(!state.listed));
waitingRoomButton.addEventListener('click', () => session.waitingRoom(!state.waitingRoom));
$('password-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  session.setPassword($('password-input').value);
});
endButton.addEventListener('click', () => session.end());

const chat = new ChatPanel(
  {
    log: $('chat-log'),
    form: $('chat-form'),
    input: $('chat-input'),
    send: $('chat-send'),
    badges: [$('chat-unread'), $('chat-toggle-unread')],
  },
  {
    selfId: () => state.selfId,
    onSend: (text) => session.chat(text),
    onTooLong: (max) => banner.show(`A message can be at most ${max} characters.`),
  },
);

const controls = new Controls(
  {
    mic: $('toggle-mic'),
    camera: $('toggle-camera'),
    share: $('share-screen'),
    hand: $('raise-hand'),
    react: $('react'),
    picker: $('reaction-picker'),
    settings: $('toggle-settings'),
    settingsPanel,
  },
  {
    toggleMic: () => media.mic && media.setAudioOn(!media.audioOn),
    toggleCamera: () => media.camera && media.setVideoOn(!media.videoOn),
    toggleShare,
    toggleHand: () => session.hand(!state.hands.includes(state.selfId)),
    react: (emoji) => session.react(emoji),
    focusChat: () => $('chat-input').focus(),
    leave: () => $('leave').click(),
    showShortcuts: () => $('shortcuts-dialog').showModal(),
    canShare: canShareScreen(),
    shortcutsOn: () => state.inRoom && shortcutsSwitch.checked,
  },
);
$('shortcuts-help').addEventListener('click', () => $('shortcuts-dialog').showModal());
shortcutsSwitch.checked = loadSetting(SHORTCUTS_KEY) !== 'off';
shortcutsSwitch.addEventListener('change', () =>
  saveSetting(SHORTCUTS_KEY, shortcutsSwitch.checked ? 'on' : 'off'),
);

// ---- the call --------------------------------------------------------------------------

function iceServers() {
  try {
    const servers = JSON.parse(page.dataset.iceServers || '[]');
    if (Array.isArray(servers)) return servers;
  } catch (err) {
    console.warn('room: data-ice-servers is not JSON; calling without ICE servers', err);
  }
  return [];
}

/** The peer-to-peer call: a connection to every other member. */
function meshCall() {
  const mesh = new Call({
    iceServers: iceServers(),
    relayOnly: page.dataset.iceRelayOnly === 'true',
    signal: {
      description(to, desc) {
        if (desc.type === 'offer') return session.offer(to, desc.sdp);
        if (desc.type === 'answer') return session.answer(to, desc.sdp);
        return false;
      },
      candidate(to, candidate) {
        session.candidate(to, candidate);
      },
    },
  });
  mesh.addEventListener('peerstream', (ev) => {
    // Normally `peer_joined` made the tile already; if not, it gets its name when that comes.
    if (state.inRoom) grid.show(ev.detail.id, ev.detail.stream);
  });
  mesh.addEventListener('peerscreen', () => showMeshScreens());
  mesh.addEventListener('peerstate', (ev) => grid.setState(ev.detail.id, ev.detail.state));
  mesh.addEventListener('peerfailed', (ev) => {
    grid.setState(ev.detail.id, 'lost');
    banner.show(`The connection to ${state.nameOf(ev.detail.id)} was lost.`);
  });
  return mesh;
}

/** The call through the server: one connection, and slots the server fills. */
function sfuCall() {
  const sfu = new SfuCall({
    iceServers: iceServers(),
    relayOnly: page.dataset.iceRelayOnly === 'true',
    signal: {
      offer: (sdp, tracks) => session.sfuOffer(sdp, tracks),
      view: (slots) => session.view(slots),
    },
  });
  sfu.addEventListener('streams', () => showSlots());
  sfu.addEventListener('state', ({ detail: { state: connection } }) => {
    for (const id of state.members.keys()) {
      if (id !== state.selfId) grid.setState(id, connection);
    }
  });
  sfu.addEventListener('failed', ({ detail: { reason } }) => {
    banner.show(`The meeting's audio and video did not connect (${reason}). Trying again…`);
  });
  return sfu;
}

/** Shows what the server's slots carry: each member's camera and sound, and shared screens. */
function showSlots() {
  if (!(call instanceof SfuCall) || !state.inRoom) return;
  for (const id of state.members.keys()) {
    if (id === state.selfId) continue;
    const stream = call.memberStream(id);
    if (stream) grid.show(id, stream);
    grid.setHasVideo(id, call.hasVideo(id));
  }
  showScreens(call.sharing().filter((id) => state.members.has(id)));
}

/** In a mesh, shows the screens the members say they share and whose pictures arrived. */
function showMeshScreens() {
  if (!(call instanceof Call) || !state.inRoom) return;
  const sharing = [...state.members.values()]
    .filter((member) => member.id !== state.selfId && member.screen && call.screenStream(member.id))
    .map((member) => member.id);
  showScreens(sharing);
}

/** Gives each member in `sharing` a tile of its shared screen, and takes the others' away. */
function showScreens(sharing) {
  const ids = new Set(sharing);
  for (const id of grid.ids()) {
    if (id.startsWith('screen:') && !ids.has(id.slice('screen:'.length))) grid.remove(id);
  }
  for (const id of ids) {
    const key = `screen:${id}`;
    grid.ensure(key, { screen: true });
    grid.label(key, `${state.nameOf(id)} is presenting`);
    grid.show(key, call.screenStream(id));
  }
  updateStage();
}

/** The call, once `welcome` said how the server carries it. */
let call = null;

/**
 * Read-only hook for the browser tests (e2e/), and nothing else uses it:
 * - mode(): 'sfu' or 'mesh', as the server said;
 * - peerConnections(): the live RTCPeerConnections (by remote peer id in a mesh, the one to the
 *   server as 'server' in SFU mode; a copy of the map);
 * - videoSlots(): SFU mode: what each video slot carries, mid → { member, source };
 * - selfId(): this page's own peer id while it is in the room, null before joining, after a
 *   refused join and while reconnecting with no place to resume.
 */
window.roomCall = Object.freeze({
  mode: () => state.media,
  peerConnections: () => call?.peerConnections() ?? new Map(),
  videoSlots: () => (call instanceof SfuCall ? call.videoSlots() : new Map()),
  audioSlots: () => (call instanceof SfuCall ? call.audioSlots() : new Map()),
  selfId: () => (state.inRoom && state.selfId) || null,
});

// ---- local media -------------------------------------------------------------------------

function showInStream(stream, track) {
  for (const old of stream.getTracks()) if (old !== track) stream.removeTrack(old);
  if (track && !stream.getTracks().includes(track)) stream.addTrack(track);
}

/** Makes everything that shows or sends local media agree with `media`. */
function syncMedia() {
  call?.setLocalMedia(media);
  deviceCheck.listenTo(media.mic);
  showInStream(previewStream, media.camera);
  prejoin.sync(media, previewStream);
  showInStream(selfStream, media.videoTrack);
  if (state.inRoom) {
    // A mirror image of the camera feels natural; a mirrored screen does not.
    grid.showSelf(state.selfId, media.videoTrack ? selfStream : null, {
      mirror: !media.screen,
      screen: Boolean(media.screen),
    });
  }
  controls.sync(media);
  sendMedia();
}

/** Tells the room what this page sends, once per change. */
function sendMedia() {
  if (!state.inRoom) return;
  const { audio, camera, screen } = media.sending;
  const sending = { audio, camera, screen };
  if (sentMedia && Object.keys(sending).every((what) => sentMedia[what] === sending[what])) return;
  if (session.media(audio, camera, screen)) sentMedia = sending;
}

media.addEventListener('change', syncMedia);
media.addEventListener('problem', (ev) => banner.show(ev.detail));
prejoin.nodes.micOn.addEventListener('change', () => media.setAudioOn(prejoin.nodes.micOn.checked));
prejoin.nodes.cameraOn.addEventListener('change', () =>
  media.setVideoOn(prejoin.nodes.cameraOn.checked),
);

async function switchDevice(kind, select) {
  if (!select.value) return;
  try {
    await media.useDevice(kind, select.value);
  } catch (err) {
    banner.show(explainMediaError(err, kind));
  }
  await prejoin.refreshDevices(media, speakerId);
}

prejoin.nodes.mic.addEventListener('change', () => switchDevice('audio', prejoin.nodes.mic));
prejoin.nodes.camera.addEventListener('change', () => switchDevice('video', prejoin.nodes.camera));
prejoin.nodes.speaker.addEventListener('change', () => {
  speakerId = prejoin.nodes.speaker.value;
  saveDeviceId('audiooutput', speakerId);
  grid.useSpeaker(speakerId);
});
navigator.mediaDevices?.addEventListener?.('devicechange', () =>
  prejoin.refreshDevices(media, speakerId),
);

async function toggleShare() {
  if (media.screen) {
    media.stopScreenShare();
    return;
  }
  try {
    await media.startScreenShare();
  } catch (err) {
    // Cancelling the browser's picker is a choice, not an error.
    if (err?.name !== 'NotAllowedError' && err?.name !== 'AbortError') {
      banner.show(`Could not share the screen (${err?.message || err}).`);
    }
  }
}

// ---- being in the meeting ----------------------------------------------------------------------

function renderMembers() {
  members.render(state.members, state.selfId, (id) => state.roleOf(id), {
    hands: state.hands,
    spotlight: state.spotlight,
  });
  updateStage();
  grid.setHands(state.hands);
  controls.showHand(state.hands.includes(state.selfId));
  const role = state.inRoom ? state.roleOf(state.selfId) : 'member';
  $('host-tools').hidden = role === 'member';
  endButton.hidden = role !== 'host';
  lockButton.setAttribute('aria-pressed', String(state.locked));
  lockButton.textContent = state.locked ? 'Unlock meeting' : 'Lock meeting';
  listButton.setAttribute('aria-pressed', String(state.listed));
  listButton.textContent = state.listed ? 'Unlist' : 'List on home page';
  waitingRoomButton.setAttribute('aria-pressed', String(state.waitingRoom));
  waitingRoomButton.textContent = `Waiting room: ${state.waitingRoom ? 'on' : 'off'}`;
  $('set-password').textContent = state.protected ? 'Change' : 'Set';
  renderWaiting(role);
  if (state.inRoom) {
    const locked = state.locked ? ' · locked' : '';
    status.textContent = `In the meeting · ${people(state.members.size)}${locked}`;
  }
}

/**
 * What the stage shows: the one a host spotlit, else the tile this person pinned, else a
 * shared screen, else in speaker view who speaks (or the first other member); else nothing,
 * and the tiles share the grid alike.
 */
function updateStage() {
  if (!state.inRoom) {
    grid.setStage(null);
    return;
  }
  const tiles = new Set(grid.ids());
  const speaker = state.dominant ?? meshSpeaker;
  const others = [...state.members.keys()].filter((id) => id !== state.selfId);
  const talking = speaker && speaker !== state.selfId ? speaker : others[0];
  const candidates = [
    state.spotlight,
    pinnedId,
    grid.screens()[0],
    viewMode === 'speaker' ? talking : null,
  ];
  grid.setStage(candidates.find((id) => id && tiles.has(id)) ?? null);
  const viewButton = $('view-mode');
  viewButton.setAttribute('aria-pressed', String(viewMode === 'speaker'));
  const label = viewMode === 'speaker' ? 'Grid view' : 'Speaker view';
  viewButton.querySelector('.control-label').textContent = label;
  viewButton.title = label;
}

/** For hosts: who waits to come in, each with Admit and Deny. */
function renderWaiting(role) {
  const waiting = role === 'member' ? [] : state.waiting;
  $('waiting-panel').hidden = waiting.length === 0;
  $('waiting-list').replaceChildren(
    ...waiting.map(({ id, name }) => {
      const li = el('li', 'member waiting');
      li.dataset.peerId = id;
      const label = el('span', 'member-name', name);
      const admit = button('secondary admit', 'Admit');
      admit.setAttribute('aria-label', `Let ${name} in`);
      admit.addEventListener('click', () => session.admit(id));
      const deny = button('secondary danger deny', 'Deny');
      deny.setAttribute('aria-label', `Turn ${name} away`);
      deny.addEventListener('click', () => session.deny(id));
      li.append(label, admit, deny);
      return li;
    }),
  );
}

/** Keeps the host token the server gave this page, for a reload or a new connection. */
function keepHostToken() {
  session.hostToken = state.hostToken;
  saveHostToken(state.room, state.hostToken);
}

/** A host sent this page out, or ended the meeting: back to the preview, not rejoining. */
function sentOut(message) {
  session.stayOut();
  tearDownCall();
  showPrejoin();
  status.textContent = message;
  banner.show(message, { sticky: true, action: homeLink() });
}

/**
 * Ends every peer connection and forgets the room, keeping the local media. While reconnecting
 * the own tile stays, so the stage is not empty; the rejoin replaces it (the id changes).
 */
function tearDownCall({ keepSelf = false } = {}) {
  call?.close();
  grid.clear({ keepSelf });
  state.reset();
  renderMembers();
  sentMedia = null;
  chat.setEnabled(false);
  renameButton.disabled = true;
}

function showCall() {
  prejoin.hideInto(settingsPanel);
  callView.hidden = false;
  document.body.classList.add('in-call');
}

function showPrejoin() {
  document.body.classList.remove('in-call');
  callView.hidden = true;
  prejoin.show();
  prejoin.setJoinable(session.isOpen);
}

function leave() {
  if (leaving) return;
  leaving = true;
  tearDownCall();
  media.stop();
  session.close();
}

$('leave').addEventListener('click', () => {
  leave();
  showPrejoin();
  prejoin.nodes.section.hidden = true;
  status.textContent = 'You left the meeting.';
  banner.hide();
  $('left-panel').hidden = false;
  $('rejoin').focus();
});
// A fresh page is a fresh start: devices, connection and all.
$('rejoin').addEventListener('click', () => location.reload());

// Closing the tab or navigating away ends the calls at once rather than when ICE times out.
window.addEventListener('pagehide', () => leave());
// Coming back through the back/forward cache finds everything closed: start afresh.
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted) location.reload();
});

state.addEventListener('change', (ev) => {
  const { what, member, renamed, entry, count, error } = ev.detail;
  switch (what) {
    case 'welcome':
      if (!call) {
        call = state.media === 'sfu' ? sfuCall() : meshCall();
        syncMedia();
      }
      if (!nicknameInput.value) nicknameInput.placeholder = state.selfName;
      if (session.wantInRoom) {
        banner.hide();
      } else {
        status.textContent = 'Check your camera and microphone, then join.';
        prejoin.setJoinable(true);
      }
      break;
    case 'occupancy':
      if (!state.inRoom) showOccupancy(count);
      break;
    case 'joined':
      joined();
      break;
    case 'resumed':
      resumed();
      break;
    case 'left':
      tearDownCall();
      status.textContent = 'You left the room.';
      break;
    case 'member-joined':
      renderMembers();
      grid.ensure(member.id);
      grid.update(member);
      if (call instanceof SfuCall) {
        grid.setHasVideo(member.id, call.hasVideo(member.id));
      } else {
        // They are the newcomer and will offer; we are polite toward them.
        call.addPeer(member.id, { polite: true });
      }
      chat.notice(`${member.name} joined`);
      break;
    case 'member-left':
      if (call instanceof Call) call.removePeer(member.id);
      grid.remove(member.id);
      grid.remove(`screen:${member.id}`);
      renderMembers();
      chat.notice(`${member.name} left`);
      break;
    case 'member':
      // The page's own tile shows what it sends, its shared screen included.
      if (member.id === state.selfId) member.video = media.sending.video;
      if (member.id === state.selfId && renamed !== null) {
        renameInput.value = member.name;
        session.name = member.name;
        saveNickname(member.name);
      }
      renderMembers();
      grid.update(member);
      showMeshScreens();
      if (renamed !== null) chat.notice(`${renamed} is now ${member.name}`);
      break;
    case 'chat':
      chat.add(entry);
      break;
    case 'speaking':
      grid.setSpeaking(ev.detail.speaking, ev.detail.dominant);
      updateStage();
      break;
    case 'spotlight':
      updateStage();
      renderMembers();
      break;
    case 'hosts':
      renderMembers();
      break;
    case 'host-token':
      keepHostToken();
      break;
    case 'protected':
      renderMembers();
      chat.notice(
        `${state.nameOf(ev.detail.by)} ${ev.detail.protected ? 'set' : 'removed'} a password`,
      );
      break;
    case 'waiting-room':
      renderMembers();
      chat.notice(
        `${state.nameOf(ev.detail.by)} turned the waiting room ${ev.detail.on ? 'on' : 'off'}`,
      );
      break;
    case 'knocking':
      renderMembers();
      break;
    case 'waiting':
      status.textContent = 'Waiting for a host to let you in…';
      banner.show('This meeting has a waiting room: a host will let you in.', { sticky: true });
      break;
    case 'denied':
      session.stayOut();
      showPrejoin();
      status.textContent = 'You were not let in.';
      banner.show(
        ev.detail.by ? 'A host did not let you in.' : 'The meeting ended before anyone let you in.',
        { sticky: true, action: homeLink() },
      );
      break;
    case 'listed':
      renderMembers();
      chat.notice(
        `${state.nameOf(ev.detail.by)} ${ev.detail.listed ? 'listed' : 'unlisted'} the meeting`,
      );
      break;
    case 'locked':
      renderMembers();
      chat.notice(
        `${state.nameOf(ev.detail.by)} ${ev.detail.locked ? 'locked' : 'unlocked'} the meeting`,
      );
      break;
    case 'removed':
      sentOut(`${ev.detail.by} removed you from the meeting.`);
      break;
    case 'ended':
      sentOut(`${ev.detail.by} ended the meeting.`);
      break;
    case 'hands':
      renderMembers();
      break;
    case 'reaction':
      grid.showReaction(ev.detail.from, ev.detail.emoji);
      break;
    case 'muted':
      // The server already tells everyone the microphone is off; the page follows it.
      if (media.audioOn) media.setAudioOn(false);
      banner.show(`${state.nameOf(ev.detail.by)} muted you.`);
      break;
    case 'unmute-asked': {
      if (media.audioOn) break;
      const unmute = button('primary', 'Unmute');
      unmute.addEventListener('click', () => {
        if (media.mic) media.setAudioOn(true);
        banner.hide();
      });
      banner.show(`${state.nameOf(ev.detail.by)} asks you to unmute.`, {
        sticky: true,
        action: unmute,
      });
      break;
    }
    case 'refused':
      refused(error);
      break;
    default:
      break;
  }
});

function joined() {
  // A token this page sent that made it no host is not this room's (the room was made anew).
  if (state.roleOf(state.selfId) === 'host') keepHostToken();
  else if (session.hostToken) {
    session.hostToken = null;
    saveHostToken(state.room, null);
  }
  sentMedia = null;
  banner.hide();
  showCall();
  // Focus goes into the call, on its first control that works, not to the page's body.
  const first = [...document.querySelectorAll('#stage .controls button')].find((b) => !b.disabled);
  (first ?? $('stage')).focus();
  renameInput.value = state.selfName;
  renameButton.disabled = false;
  const self = state.members.get(state.selfId);
  Object.assign(self, media.sending);
  renderMembers();
  chat.reset(state.transcript());
  chat.setEnabled(true);
  grid.clear();
  grid.ensure(state.selfId, { self: true });
  grid.update(self);
  for (const other of state.members.values()) {
    if (other.id === state.selfId) continue;
    grid.ensure(other.id);
    grid.update(other);
    // In a mesh we are the newcomer: we make the offers, the impolite side to all of them.
    if (call instanceof Call) call.addPeer(other.id, { polite: false });
  }
  syncMedia();
  if (call instanceof SfuCall) {
    call.start();
    showSlots();
  }
}

/** Back as the same member after the connection dropped: the calls went on all along. */
function resumed() {
  banner.hide();
  chat.setEnabled(true);
  renameButton.disabled = false;
  // What this page sends may have changed while nobody could be told.
  sentMedia = null;
  syncMedia();
  renderMembers();
  call?.resumed();
  if (call instanceof SfuCall) showSlots();
  else showMeshScreens();
}

/** The count before joining; when a full room gets a free place, says so. */
function showOccupancy(count) {
  const full = prejoin.showOccupancy(count, MAX_ROOM_SIZE);
  const freed = roomWasFull && !full;
  roomWasFull = full;
  if (freed && !session.wantInRoom) {
    status.textContent = 'A place is free: you can join now.';
    banner.hide();
  }
}

function refused({ code, message, limit }) {
  // A reaction clicked again too soon is dropped, as meeting apps do, without a word.
  if (code === 'too_many_reactions') return;
  if (code === 'media_failed' && call instanceof SfuCall) {
    call.failed(message);
    return;
  }
  if (!(FATAL_ERRORS.has(code) && !state.inRoom)) {
    banner.show(message);
    return;
  }
  // The join was refused: back to the preview, from where Join can be tried again.
  session.stayOut();
  tearDownCall();
  showPrejoin();
  if (code === 'room_full') {
    status.textContent = 'This room is full.';
    const size = Number.isInteger(limit) ? ` (${people(limit)})` : '';
    banner.show(`This room is full${size}. Try again later, or start another meeting.`, {
      sticky: true,
      action: homeLink(),
    });
  } else if (code === 'password_required' || code === 'wrong_password') {
    status.textContent = 'This meeting needs its password.';
    passwordField.hidden = false;
    passwordInput.focus();
    banner.show(
      code === 'wrong_password'
        ? 'That is not the password. Try again.'
        : 'Type the meeting\'s password, then join.',
      { sticky: true },
    );
  } else if (code === 'room_locked') {
    status.textContent = 'This meeting is locked.';
    banner.show('This meeting is locked: its host has stopped letting people in.', {
      sticky: true,
      action: homeLink(),
    });
  } else {
    status.textContent = 'Could not join this room.';
    banner.show(message, { sticky: true, action: homeLink() });
  }
}

// ---- the connection ----------------------------------------------------------------------

session.addEventListener('open', () => {
  status.textContent = session.wantInRoom ? 'Joining…' : 'Connected';
});
for (const type of ['welcome', 'rooms', 'room', 'joined', 'resumed', 'left', 'peer_joined', 'peer_left',
  'nickname', 'chat', 'media', 'speaking', 'hosts', 'host_token', 'locked', 'listed', 'removed',
  'ended', 'muted', 'unmute_asked', 'hands', 'reaction', 'protected', 'waiting_room', 'waiting',
  'knocking', 'denied', 'spotlight', 'error']) {
  session.addEventListener(type, (ev) => state.apply(ev.detail));
}
const inMesh = () => state.inRoom && call instanceof Call;
const inSfu = () => state.inRoom && call instanceof SfuCall;
session.addEventListener('offer', ({ detail: { from, sdp } }) => {
  if (inMesh()) call.handleDescription(from, { type: 'offer', sdp });
});
session.addEventListener('answer', ({ detail: { from, sdp } }) => {
  if (inMesh()) call.handleDescription(from, { type: 'answer', sdp });
});
session.addEventListener('candidate', ({ detail: { from, candidate } }) => {
  if (inMesh()) call.handleCandidate(from, candidate);
});
session.addEventListener('sfu_answer', ({ detail: { sdp } }) => {
  if (inSfu()) call.handleAnswer(sdp);
});
session.addEventListener('slots', ({ detail }) => {
  if (inSfu()) call.setSlots(detail);
});
session.addEventListener('assign', ({ detail }) => {
  if (inSfu()) call.assign(detail);
});
session.addEventListener('reconnecting', ({ detail: { delayMs, resuming } }) => {
  const wasInRoom = state.inRoom;
  if (resuming) {
    // The server keeps this member's place for a while: the calls go on (their media never
    // went through this connection, or went through the server's own), and the resume brings
    // back whatever the room said meanwhile. Only chat and renaming wait for the connection.
    chat.setEnabled(false);
    renameButton.disabled = true;
  } else {
    // A new connection is a new peer id: every call restarts from scratch after the rejoin.
    tearDownCall({ keepSelf: true });
  }
  prejoin.setJoinable(false);
  status.textContent = `Connection lost. Reconnecting in ${Math.max(1, Math.round(delayMs / 1000))} s…`;
  if (wasInRoom || session.wantInRoom) {
    const now = button('secondary', 'Reconnect now');
    now.addEventListener('click', () => session.reconnectNow());
    banner.show('The connection to the server was lost. Reconnecting…', { sticky: true, action: now });
  }
});

// The server had no place to resume (it restarted, or the wait was too long): start afresh.
session.addEventListener('resume-failed', () => tearDownCall({ keepSelf: true }));

// ---- nickname and joining ------------------------------------------------------------------

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
  if (name) session.nickname(name);
});

prejoin.nodes.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = readNickname(nicknameInput);
  if (name === null) return;
  if (name) saveNickname(name);
  session.password = passwordInput.value;
  banner.hide();
  prejoin.setJoinable(false);
  status.textContent = 'Joining…';
  session.enter(name);
});

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

// ---- start ---------------------------------------------------------------------------------

syncMedia();
session.start();
/** Opens the camera and microphone, and says what did not work. */
async function startMedia() {
  const problems = await media.start();
  prejoin.showProblems(problems);
  await prejoin.refreshDevices(media, speakerId);
}
startMedia();
// Allowed in the site settings after a refusal, the devices work without a reload.
prejoin.nodes.retry.addEventListener('click', startMedia);
