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
