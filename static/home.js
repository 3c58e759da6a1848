// home.js: the home page. Keeps the room list live, joins or starts meetings, remembers the
// nickname. All socket traffic goes through protocol.js.

import { Session } from './session.js';
import { checkName, loadNickname, people, roomPath, saveNickname } from './common.js';
import { meetingName } from './meeting-names.js';
import { maxChars } from './ui/dom.js';

const nicknameInput = document.getElementById('nickname');
const joinForm = document.getElementById('join-form');
const roomInput = document.getElementById('room-name');
const newMeetingButton = document.getElementById('new-meeting');
const roomList = document.getElementById('room-list');
const roomsEmpty = document.getElementById('rooms-empty');
const roomsMore = document.getElementById('rooms-more');
const status = document.getElementById('status');

const NICKNAME_MAX = maxChars(nicknameInput);
const ROOM_MAX = maxChars(roomInput);

// ---- nickname ----------------------------------------------------------------------------

nicknameInput.value = loadNickname();

/** Saves the nickname field if it is valid; returns false (and says why) if it is not. */
function rememberNickname() {
  nicknameInput.setCustomValidity('');
  if (nicknameInput.value.trim() === '') {
    saveNickname('');
    return true;
  }
  const { value, error } = checkName(nicknameInput.value, NICKNAME_MAX);
  if (error) {
    nicknameInput.setCustomValidity(`Name ${error}.`);
    nicknameInput.reportValidity();
    return false;
  }
  saveNickname(value);
  return true;
}

nicknameInput.addEventListener('input', () => nicknameInput.setCustomValidity(''));
nicknameInput.addEventListener('change', rememberNickname);

// ---- joining -----------------------------------------------------------------------------

/** Opens the page of `roomName`; a `fresh` meeting is made unlisted by whoever joins first. */
function go(roomName, { fresh = false } = {}) {
  if (!rememberNickname()) return;
  location.assign(fresh ? `${roomPath(roomName)}?new` : roomPath(roomName));
}

roomInput.addEventListener('input', () => roomInput.setCustomValidity(''));

joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const { value, error } = checkName(roomInput.value, ROOM_MAX);
  if (error) {
    roomInput.setCustomValidity(`Room name ${error}.`);
    roomInput.reportValidity();
    return;
  }
  go(value);
});

newMeetingButton.addEventListener('click', () => go(meetingName(), { fresh: true }));

// ---- live room list ----------------------------------------------------------------------

/** Member counts by room name: the list from `welcome`, kept current by `room` frames. */
const counts = new Map();
/** How many rooms exist, listed or not, as the server last said. */
let roomsTotal = 0;
/** The most rooms the list shows (the server's bound on the lists it sends). */
const MAX_ROOMS = Number(roomList?.dataset.maxRooms);

/** Orders names by code point, as the server does (`<` on strings compares UTF-16 units). */
function byCodePoint(a, b) {
  const [x, y] = [Array.from(a), Array.from(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const diff = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (diff !== 0) return diff;
  }
  return x.length - y.length;
}

/** Redraws the list, the busiest rooms by name; the same shape as `room_item` in src/pages.rs. */
function renderRooms() {
  // A server with private rooms renders no list.
  if (!roomList) return;
  const busiest = [...counts.keys()]
    .sort((a, b) => counts.get(b) - counts.get(a) || byCodePoint(a, b))
    .slice(0, MAX_ROOMS);
  const names = busiest.sort(byCodePoint);
  const items = names.map((name) => {
    const count = counts.get(name);
    const li = document.createElement('li');
    li.className = 'room-item';
    const link = document.createElement('a');
    link.className = 'room-link';
    link.href = roomPath(name);
    link.textContent = name;
    const countSpan = document.createElement('span');
    countSpan.className = 'room-count';
    countSpan.textContent = people(count);
    li.append(link, ' ', countSpan);
    return li;
  });
  roomList.replaceChildren(...items);
  roomsEmpty.hidden = items.length > 0;
  const total = Math.max(roomsTotal, items.length);
  roomsMore.hidden = total <= items.length;
  roomsMore.textContent = roomsMore.hidden ? '' : `Showing the ${items.length} busiest of ${total} rooms.`;
}

// A session that joins nothing: it keeps the lobby's connection, and a new one when it drops.
const conn = new Session(null);

conn.addEventListener('open', () => {
  status.textContent = 'Connected';
});
conn.addEventListener('reconnecting', ({ detail: { delayMs } }) => {
  const seconds = Math.max(1, Math.round(delayMs / 1000));
  status.textContent = `The room list is not live: reconnecting in ${seconds} s…`;
});
function setRooms(rooms = [], total = rooms.length) {
  counts.clear();
  for (const { name, count } of rooms) counts.set(name, count);
  roomsTotal = total;
  renderRooms();
}

conn.addEventListener('welcome', (ev) => {
  status.textContent = '';
  setRooms(ev.detail.rooms, ev.detail.rooms_total);
});
conn.addEventListener('rooms', (ev) => setRooms(ev.detail.rooms, ev.detail.rooms_total));
conn.addEventListener('room', (ev) => {
  const { name, count, rooms_total: total } = ev.detail;
  if (count > 0) counts.set(name, count);
  else counts.delete(name);
  if (Number.isInteger(total)) roomsTotal = total;
  renderRooms();
});
conn.start();
