// The session: reconnecting with backoff, joining again under the chosen name, and ignoring a
// connection once it was replaced.

import assert from 'node:assert/strict';
import { test, mock } from 'node:test';

import { RECONNECT_MAX_MS, RECONNECT_MIN_MS, Session, reconnectDelay } from '../../static/session.js';

/** A connection the test drives by hand, in the shape of protocol.js's Connection. */
class FakeConnection extends EventTarget {
  sent = [];
  id = null;
  name = null;
  isOpen = false;
  nickname(name) {
    this.sent.push({ type: 'nickname', name });
  }
  join(room) {
    this.sent.push({ type: 'join', room });
  }
  leave() {
    this.sent.push({ type: 'leave' });
  }
  resume(id, token, lastSeq) {
    this.sent.push({ type: 'resume', id, token, last_seq: lastSeq });
  }
  /** The server sends `frame`. */
  receive(frame) {
    if (frame.type === 'resumed') this.id = frame.id;
    this.dispatchEvent(new CustomEvent(frame.type, { detail: frame }));
  }
  chat(text) {
    this.sent.push({ type: 'chat', text });
    return this.isOpen;
  }
  close() {
    this.closed = true;
  }
  open(id) {
    this.isOpen = true;
    this.dispatchEvent(new CustomEvent('open'));
    this.id = id;
    this.name = `Guest ${id}`;
    this.dispatchEvent(new CustomEvent('welcome', { detail: { type: 'welcome', id, name: this.name } }));
  }
  drop() {
    this.isOpen = false;
    this.dispatchEvent(new CustomEvent('close', { detail: { code: 1006 } }));
  }
}

test('the wait doubles from half a second to eight, within a quarter either way', () => {
  assert.equal(reconnectDelay(0, () => 0.5), RECONNECT_MIN_MS);
  assert.equal(reconnectDelay(1, () => 0.5), 2 * RECONNECT_MIN_MS);
  assert.equal(reconnectDelay(10, () => 0.5), RECONNECT_MAX_MS);
  assert.equal(reconnectDelay(0, () => 0), 0.75 * RECONNECT_MIN_MS);
  assert.equal(reconnectDelay(0, () => 1), 1.25 * RECONNECT_MIN_MS);
});

test('a dropped connection is replaced and the room joined again under the chosen name', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const made = [];
    const session = new Session('standup', () => {
      const conn = new FakeConnection();
      made.push(conn);
      return conn;
    });
    const delays = [];
    session.addEventListener('reconnecting', (ev) => delays.push(ev.detail.delayMs));
    session.start();
    made[0].open('p1');
    session.enter('Minsu');
    assert.deepEqual(made[0].sent, [
      { type: 'nickname', name: 'Minsu' },
      { type: 'join', room: 'standup' },
    ]);
    made[0].drop();
    assert.equal(delays.length, 1);
    assert.equal(made.length, 1, 'nothing until the wait is over');
    mock.timers.tick(RECONNECT_MIN_MS * 1.25);
    assert.equal(made.length, 2);
    made[1].open('p2');
    assert.deepEqual(made[1].sent, [
      { type: 'nickname', name: 'Minsu' },
      { type: 'join', room: 'standup' },
    ]);
    // The old connection is not heard from any more.
    const chats = [];
    session.addEventListener('chat', (ev) => chats.push(ev.detail.text));
    made[0].dispatchEvent(new CustomEvent('chat', { detail: { type: 'chat', text: 'stale' } }));
    made[1].dispatchEvent(new CustomEvent('chat', { detail: { type: 'chat', text: 'fresh' } }));
    assert.deepEqual(chats, ['fresh']);
  } finally {
    mock.timers.reset();
  }
});

test('after close nothing reconnects', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const made = [];
    const session = new Session('r', () => {
      const conn = new FakeConnection();
      made.push(conn);
      return conn;
    });
    session.start();
    made[0].open('p1');
    session.close();
    made[0].drop();
    mock.timers.tick(RECONNECT_MAX_MS * 2);
    assert.equal(made.length, 1);
    assert.deepEqual(made[0].sent, [{ type: 'leave' }]);
  } finally {
    mock.timers.reset();
  }
});

/** A session that joined 'standup' as p1 with resume token 'secret' and heard chats 1 and 2. */
function inRoom() {
  const made = [];
  const session = new Session('standup', () => {
    const conn = new FakeConnection();
    made.push(conn);
    return conn;
  });
  const events = [];
  for (const type of ['welcome', 'resumed', 'resume-failed', 'error', 'reconnecting']) {
    session.addEventListener(type, (ev) => events.push([type, ev.detail]));
  }
  session.start();
  made[0].open('p1');
  session.enter('Minsu');
  made[0].receive({ type: 'joined', room: 'standup', history: [{ seq: 1 }], resume_token: 'secret' });
  made[0].receive({ type: 'chat', seq: 2 });
  events.length = 0;
  return { session, made, events };
}

test('a dropped connection resumes the member it was, with the last chat it has', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { session, made, events } = inRoom();
    assert.equal(session.canResume, true);
    made[0].drop();
    assert.deepEqual(events, [['reconnecting', { delayMs: events[0][1].delayMs, resuming: true }]]);
    mock.timers.tick(RECONNECT_MIN_MS * 1.25);
    made[1].open('p2');
    assert.deepEqual(made[1].sent, [{ type: 'resume', id: 'p1', token: 'secret', last_seq: 2 }]);
    made[1].receive({ type: 'resumed', id: 'p1', history: [{ seq: 3 }] });
    assert.deepEqual(events.map(([type]) => type), ['reconnecting', 'resumed'], 'no welcome');
    assert.equal(session.id, 'p1');
    // A second drop resumes from what the first resume brought.
    made[1].drop();
    mock.timers.tick(RECONNECT_MIN_MS * 1.25);
    made[2].open('p3');
    assert.deepEqual(made[2].sent, [{ type: 'resume', id: 'p1', token: 'secret', last_seq: 3 }]);
  } finally {
    mock.timers.reset();
  }
});

test('a resume the server refuses becomes a fresh join, the refusal unseen by the page', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { made, events } = inRoom();
    made[0].drop();
    mock.timers.tick(RECONNECT_MIN_MS * 1.25);
    made[1].open('p2');
    made[1].receive({ type: 'error', code: 'resume_failed', message: 'join again' });
    assert.deepEqual(events.map(([type]) => type), ['reconnecting', 'resume-failed', 'welcome']);
    assert.equal(events[2][1].id, 'p2');
    assert.deepEqual(made[1].sent.slice(1), [
      { type: 'nickname', name: 'Minsu' },
      { type: 'join', room: 'standup' },
    ]);
  } finally {
    mock.timers.reset();
  }
});

test('leaving or being sent out leaves nothing to resume', () => {
  for (const frame of [{ type: 'left' }, { type: 'removed' }, { type: 'ended' }]) {
    const { session, made } = inRoom();
    made[0].receive(frame);
    assert.equal(session.canResume, false, frame.type);
  }
});

test('nothing is sent on a new connection until it has resumed the member', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { session, made } = inRoom();
    made[0].drop();
    assert.equal(session.chat('lost'), false, 'no connection');
    mock.timers.tick(RECONNECT_MIN_MS * 1.25);
    made[1].open('p2');
    assert.equal(session.chat('too soon'), false, 'welcomed, not yet resumed');
    assert.equal(session.isOpen, false);
    made[1].receive({ type: 'resumed', id: 'p1', history: [] });
    assert.equal(session.chat('back'), true);
    assert.deepEqual(made[1].sent.map((frame) => frame.type), ['resume', 'chat']);
  } finally {
    mock.timers.reset();
  }
});
