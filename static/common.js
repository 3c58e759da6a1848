// common.js: small UI helpers shared by home.js and room.js (no socket, no DOM building).
//
// The naming rules mirror src/names.rs so people hear about a bad name before a round trip;
// the server still decides.

const NICKNAME_KEY = 'room.nickname';

/** The path of a room's page: everything but ALPHA / DIGIT / - . _ ~ percent-encoded as UTF-8,
 * the same as src/pages.rs, so a name with `/` or `?` in it stays one path segment. */
export function roomPath(name) {
  const encoded = encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `/room/${encoded}`;
}

/**
 * Checks a nickname or room name the way the server does: trimmed, 1 to `maxChars` characters
 * (code points, like Rust's `chars()`), no control characters.
 * Returns { value } with the trimmed name, or { error } saying what is wrong.
 */
export function checkName(raw, maxChars) {
  const value = String(raw ?? '').trim();
  if (value === '') return { error: 'must not be empty' };
  if ([...value].length > maxChars) return { error: `must be at most ${maxChars} characters` };
  if (/\p{Cc}/u.test(value)) return { error: 'must not contain control characters' };
  // A lone surrogate cannot be sent as UTF-8; encodeURIComponent is the cheap way to find one.
  try {
    encodeURIComponent(value);
  } catch {
    return { error: 'contains a broken character' };
  }
  return { value };
}

/** The nickname this browser used last, or '' (storage may be off in private windows). */
export function loadNickname() {
  try {
    return localStorage.getItem(NICKNAME_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Remembers the nickname for next time; an empty one is forgotten. */
export function saveNickname(name) {
  try {
    if (name) localStorage.setItem(NICKNAME_KEY, name);
    else localStorage.removeItem(NICKNAME_KEY);
  } catch {
    // Storage is off: the name lasts as long as the page, which is fine.
  }
}

/** A setting this browser keeps under `key`, or null. */
export function loadSetting(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** Keeps a setting for next time. */
export function saveSetting(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage is off: the setting lasts as long as the page.
  }
}

/** The host token this browser keeps for `room`, or null. */
export function loadHostToken(room) {
  try {
    return localStorage.getItem(`room.host.${room}`);
  } catch {
    return null;
  }
}

/** Keeps `token` as this browser's host token for `room`; null forgets it. */
export function saveHostToken(room, token) {
  try {
    if (token) localStorage.setItem(`room.host.${room}`, token);
    else localStorage.removeItem(`room.host.${room}`);
  } catch {
    // Storage is off: a reload makes this person a member like the others.
  }
}

/** "1 person", "3 people", as src/pages.rs writes it. */
export function people(count) {
  return count === 1 ? '1 person' : `${count} people`;
}
