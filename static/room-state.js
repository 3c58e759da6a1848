// room-state.js: what one page knows of its room, fed by the server's frames. No DOM here.
//
// `apply(frame)` takes every frame the page gets, in order, and keeps: this connection's id
// and name, whether it is in the room, the members (itself included, in the order they
// joined), the chat transcript by `seq`, and how many people the room has while the page is
// not in it yet. After each frame that changed something it fires 'change' with
// `{ what, ... }`, where `what` is one of:
// - 'welcome', 'occupancy' (`count`), 'joined', 'left',
// - 'resumed': the page is the same member again after its connection dropped; the members
//   who came or went meanwhile were told first as 'member-joined' and 'member-left', the
//   chats missed as 'chat',
// - 'member-joined' (`member`), 'member-left' (`member`), 'member' (`member`: a new name or
//   media state; `renamed` with the old name when the name changed),
// - 'chat' (`entry`: one new entry), 'refused' (`error`: an `error` frame),
// - 'speaking' (SFU mode: `speaking`, the ids speaking now, and `dominant`),
// - 'hosts' (who runs the room changed), 'locked' (`locked`, `by`), 'listed' (`listed`, `by`:
//   the room went on the room lists or off them), 'removed' (`by`: a host
//   sent this page out), 'ended' (`by`: the host ended the meeting), 'muted' (`by`: a host
//   muted this page's microphone), 'unmute-asked' (`by`), 'hands' (the raised hands changed)
//   and 'reaction' (`from`, `emoji`), 'protected' (`protected`, `by`), 'waiting-room' (`on`,
//   `by`), 'knocking' (who waits changed), 'waiting' (this page waits to be let in) and
//   'denied' (`by`: the host's name, or null when the meeting ended first), 'spotlight' (`id`:
//   who a host put on everyone's stage, or null; `by`).
//
// `hostToken` is the room's host token once the server gave it to this page (as host).

export class RoomState extends EventTarget {
  /** This connection's id and nickname, from `welcome` and its own `nickname` frames. */
  selfId = null;
  selfName = null;
  /** The room this page is for. */
  room;
  /** Whether the server says this connection is in the room. */
  inRoom = false;
  /** Everyone in the room, this connection included, by id, in the order they joined. */
  members = new Map();
  /** The chat entries, by seq. */
  chat = new Map();
  /** How many people are in the room, as the room lists say, while not in it. */
  occupancy = 0;
  /** How the server carries calls: 'sfu' or 'mesh', from `welcome`. */
  media = 'mesh';
  /** Who speaks now, and who speaks most (SFU mode). */
  speaking = [];
  dominant = null;
  /** Who runs the room: the host first, then the co-hosts. */
  hosts = [];
  /** Whether the room keeps newcomers out. */
  locked = false;
  /** Whether the room lists show the room. */
  listed = true;
  /** Who a host put on everyone's stage. */
  spotlight = null;
  /** Whether joining needs the meeting's password. */
  protected = false;
  /** Whether newcomers wait until a host lets them in. */
  waitingRoom = false;
  /** To hosts: who waits to come in ({ id, name }), in the order they came. */
  waiting = [];
  /** The raised hands, in the order they went up. */
  hands = [];
  /** The room's host token, if the server gave it to this page. */
  hostToken = null;

  /** @param {string} room */
  constructor(room) {
    super();
    this.room = room;
  }

  /** The chat entries in seq order. */
  transcript() {
    return [...this.chat.values()].sort((a, b) => a.seq - b.seq);
  }

  /** A member's name, or 'Someone'. */
  nameOf(id) {
    return this.members.get(id)?.name ?? 'Someone';
  }

  /** 'host', 'cohost' or 'member', for a member of the room. */
  roleOf(id) {
    if (this.hosts[0] === id) return 'host';
    return this.hosts.includes(id) ? 'cohost' : 'member';
  }

  /** Forgets the room (the connection dropped or left): members, and whether it is in. */
  reset() {
    this.inRoom = false;
    this.members.clear();
    this.speaking = [];
    this.dominant = null;
    this.hosts = [];
    this.locked = false;
    this.hands = [];
    this.protected = false;
    this.waitingRoom = false;
    this.waiting = [];
    this.spotlight = null;
  }

  /** Takes one server frame. */
  apply(frame) {
    switch (frame?.type) {
      case 'welcome':
        this.selfId = frame.id;
        this.selfName = frame.name;
        this.media = frame.media === 'sfu' ? 'sfu' : 'mesh';
        this.reset();
        this.#changed('welcome');
        this.#occupancyFrom(frame.rooms);
        break;
      case 'rooms':
        this.#occupancyFrom(frame.rooms);
        break;
      case 'room':
        if (frame.name === this.room) this.#setOccupancy(frame.count);
        break;
      case 'joined':
        this.#joined(frame);
        break;
      case 'resumed':
        this.#resumed(frame);
        break;
      case 'left':
        this.reset();
        this.#changed('left');
        break;
      case 'peer_joined':
        if (this.inRoom && frame.peer) {
          const joined = member(frame.peer);
          this.members.set(joined.id, joined);
          this.#changed('member-joined', { member: joined });
        }
        break;
      case 'peer_left': {
        const gone = this.members.get(frame.id);
        if (gone) {
          this.members.delete(frame.id);
          this.#changed('member-left', { member: gone });
        }
        break;
      }
      case 'nickname':
        this.#renamed(frame);
        break;
      case 'media': {
        const known = this.members.get(frame.id);
        if (known) {
          known.audio = Boolean(frame.audio);
          known.video = Boolean(frame.video);
          known.screen = Boolean(frame.screen);
          this.#changed('member', { member: known, renamed: null });
        }
        break;
      }
      case 'chat':
        if (typeof frame.seq === 'number' && !this.chat.has(frame.seq)) {
          this.chat.set(frame.seq, frame);
          this.#changed('chat', { entry: frame });
        }
        break;
      case 'speaking':
        if (this.inRoom) {
          this.speaking = (frame.speaking ?? []).filter((id) => this.members.has(id));
          this.dominant = this.members.has(frame.dominant) ? frame.dominant : null;
          this.#changed('speaking', { speaking: this.speaking, dominant: this.dominant });
        }
        break;
      case 'hosts':
        if (this.inRoom && Array.isArray(frame.hosts)) {
          this.hosts = frame.hosts;
          this.#changed('hosts');
        }
        break;
      case 'host_token':
        if (frame.room === this.room && typeof frame.token === 'string') {
          this.hostToken = frame.token;
          this.#changed('host-token');
        }
        break;
      case 'spotlight':
        if (this.inRoom) {
          this.spotlight = this.members.has(frame.id) ? frame.id : null;
          this.#changed('spotlight', { id: this.spotlight, by: frame.by });
        }
        break;
      case 'protected':
        if (this.inRoom) {
          this.protected = Boolean(frame.protected);
          this.#changed('protected', { protected: this.protected, by: frame.by });
        }
        break;
      case 'waiting_room':
        if (this.inRoom) {
          this.waitingRoom = Boolean(frame.on);
          this.#changed('waiting-room', { on: this.waitingRoom, by: frame.by });
        }
        break;
      case 'knocking':
        if (this.inRoom && Array.isArray(frame.waiting)) {
          this.waiting = frame.waiting.map(member);
          this.#changed('knocking');
        }
        break;
      case 'waiting':
        if (frame.room === this.room) this.#changed('waiting');
        break;
      case 'denied':
        if (frame.room === this.room) {
          this.#changed('denied', { by: frame.by ? this.nameOf(frame.by) : null });
        }
        break;
      case 'listed':
        if (this.inRoom) {
          this.listed = Boolean(frame.listed);
          this.#changed('listed', { listed: this.listed, by: frame.by });
        }
        break;
      case 'locked':
        if (this.inRoom) {
          this.locked = Boolean(frame.locked);
          this.#changed('locked', { locked: this.locked, by: frame.by });
        }
        break;
      case 'hands':
        if (this.inRoom && Array.isArray(frame.hands)) {
          this.hands = frame.hands;
          this.#changed('hands');
        }
        break;
      case 'reaction':
        if (this.inRoom && this.members.has(frame.from)) {
          this.#changed('reaction', { from: frame.from, emoji: frame.emoji });
        }
        break;
      case 'muted':
        if (this.inRoom) this.#changed('muted', { by: frame.by });
        break;
      case 'unmute_asked':
        if (this.inRoom) this.#changed('unmute-asked', { by: frame.by });
        break;
      case 'removed':
      case 'ended': {
        const by = this.nameOf(frame.by);
        this.reset();
        this.#changed(frame.type, { by });
        break;
      }
      case 'error':
        this.#changed('refused', { error: frame });
        break;
      default:
        break;
    }
  }

  #joined(frame) {
    this.inRoom = true;
    this.members.clear();
    for (const peer of frame.peers ?? []) this.members.set(peer.id, member(peer));
    this.members.set(this.selfId, member({ id: this.selfId, name: this.selfName }));
    this.chat.clear();
    for (const entry of frame.history ?? []) {
      if (typeof entry.seq === 'number') this.chat.set(entry.seq, entry);
    }
    this.#takeRoom(frame);
    this.#changed('joined');
  }

  /**
   * The room as it is after a resume: who came, who went and who changed while the page was
   * away is told as it would have been, then 'resumed'. The page's own member is kept.
   */
  #resumed(frame) {
    this.selfId = frame.id;
    this.selfName = frame.name;
    const before = this.members;
    const self = before.get(this.selfId) ?? member({ id: this.selfId });
    self.name = frame.name;
    const now = new Map();
    const changed = [];
    for (const peer of frame.peers ?? []) {
      const fresh = member(peer);
      const known = before.get(fresh.id);
      if (!known) {
        now.set(fresh.id, fresh);
        continue;
      }
      const renamed = known.name !== fresh.name ? known.name : null;
      const sends = ['audio', 'video', 'screen'].some((what) => known[what] !== fresh[what]);
      if (renamed !== null || sends) {
        Object.assign(known, fresh);
        changed.push({ member: known, renamed });
      }
      now.set(known.id, known);
    }
    now.set(this.selfId, self);
    this.members = now;
    this.inRoom = true;
    this.#takeRoom(frame);
    for (const gone of before.values()) {
      if (!now.has(gone.id)) this.#changed('member-left', { member: gone });
    }
    for (const came of now.values()) {
      if (!before.has(came.id)) this.#changed('member-joined', { member: came });
    }
    for (const change of changed) this.#changed('member', change);
    for (const entry of frame.history ?? []) {
      if (typeof entry.seq === 'number' && !this.chat.has(entry.seq)) {
        this.chat.set(entry.seq, entry);
        this.#changed('chat', { entry });
      }
    }
    this.#changed('resumed');
  }

  /** What a `joined` or a `resumed` says of the room besides its members and chat. */
  #takeRoom(frame) {
    this.hosts = Array.isArray(frame.hosts) ? frame.hosts : [];
    this.locked = Boolean(frame.locked);
    this.listed = frame.listed !== false;
    this.spotlight = frame.spotlight ?? null;
    this.protected = Boolean(frame.protected);
    this.waitingRoom = Boolean(frame.waiting_room);
    this.waiting = Array.isArray(frame.waiting) ? frame.waiting.map(member) : [];
    this.hands = Array.isArray(frame.hands) ? frame.hands : [];
    if (typeof frame.host_token === 'string') this.hostToken = frame.host_token;
  }

  #renamed({ id, name }) {
    if (id === this.selfId) this.selfName = name;
    const known = this.members.get(id);
    if (!known) return;
    const old = known.name;
    known.name = name;
    this.#changed('member', { member: known, renamed: old !== name ? old : null });
  }

  /**
   * Gives every member its `label`: its name, and for a name someone who joined earlier has
   * too, " (2)", " (3)", ... in join order, so two Anns can be told apart.
   */
  #relabel() {
    const seen = new Map();
    for (const known of this.members.values()) {
      const count = (seen.get(known.name) ?? 0) + 1;
      seen.set(known.name, count);
      known.label = count === 1 ? known.name : `${known.name} (${count})`;
    }
  }

  #changed(what, detail = {}) {
    if (['joined', 'member-joined', 'member-left', 'member'].includes(what)) this.#relabel();
    this.dispatchEvent(new CustomEvent('change', { detail: { what, ...detail } }));
  }

  #occupancyFrom(rooms) {
    const listed = (rooms ?? []).find((info) => info.name === this.room);
    this.#setOccupancy(listed?.count ?? 0);
  }

  #setOccupancy(count) {
    this.occupancy = count;
    this.#changed('occupancy', { count });
  }
}

/** A member as the state keeps it, from a `PeerInfo` (fields may be missing). */
function member(peer) {
  return {
    id: peer.id,
    name: peer.name ?? 'Someone',
    audio: Boolean(peer.audio),
    video: Boolean(peer.video),
    screen: Boolean(peer.screen),
  };
}
