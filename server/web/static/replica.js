// The board as this page knows it: committed state from the server's effects, with this
// page's unanswered intents overlaid. No DOM, no socket; views read it, the glue feeds it.
//
// Convergence has one path: `op.effects` (protocol 2) — put by id, delete by id. The board
// rules are never re-implemented here. The overlay is only a small approximation of each
// pending intent, dropped as soon as the server's answer for it is in the committed state.
//
// Fallback while servers still speak protocol 1 (an `op` without `effects`): the replica
// cannot apply it, so `applyOp` answers "stale" and the page reconnects without `since`
// for a fresh snapshot. Slower, but still exact; pending intents stay overlaid meanwhile.

export class Replica {
  constructor(clientId) {
    this.clientId = clientId;
    this.committed = new Map();
    this.view = new Map();
    this.board = {};
    this.seq = 0;
    this.pending = []; // {id: client_op_id, ops, doneAt: seq or null}
    this.listeners = new Set();
    this.staged = null; // a chunked snapshot being received
  }

  /** fn(changedIds: Set | null, boardChanged: bool); null means "everything". */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(ids, boardChanged = false) {
    for (const fn of this.listeners) fn(ids, boardChanged);
  }

  /** A `snapshot` or `snapshot_chunk`; returns true once the whole snapshot is applied. */
  applySnapshot(message) {
    if (message.type === "snapshot") this.staged = { ...message, elements: [...message.elements] };
    else if (this.staged && message.seq === this.staged.seq) this.staged.elements.push(...message.elements);
    else return false;
    if (message.more) return false;
    const { seq, board, elements } = this.staged;
    this.staged = null;
    this.committed = new Map(elements.map((e) => [e.id, e]));
    this.board = { ...board };
    this.seq = seq;
    this.settle();
    this.view = new Map();
    for (const id of this.idsToRecompute(null)) this.recompute(id);
    this.emit(null, true);
    return true;
  }

  /** A committed `op`: "applied", "old" (seen already), "gap" or "stale" (needs a snapshot). */
  applyOp(message) {
    if (message.seq <= this.seq) return "old";
    if (message.seq !== this.seq + 1) return "gap";
    this.markDone(message.client_id, message.client_op_id, message.seq);
    if (!message.effects) return "stale";
    const { put = [], removed = [], board = null } = message.effects;
    const ids = new Set([...removed, ...put.map((e) => e.id)]);
    for (const id of removed) this.committed.delete(id);
    for (const element of put) this.committed.set(element.id, element);
    if (board) Object.assign(this.board, board);
    this.seq = message.seq;
    const settled = this.settle();
    this.refresh(new Set([...ids, ...settled]), Boolean(board) || settled.size > 0);
    return "applied";
  }

  /** Record this page's intent and show it at once. */
  addPending(clientOpId, ops) {
    const entry = { id: clientOpId, ops, doneAt: null };
    this.pending.push(entry);
    this.refresh(this.touched([entry]), ops.some((op) => op.op === "board.update"));
  }

  /** The server answered: acked at `seq` (kept until the state has caught up), or rejected. */
  answered(clientOpId, seq) {
    const entry = this.pending.find((p) => p.id === clientOpId);
    if (!entry) return;
    if (seq === null || seq <= this.seq) this.removePending([entry]);
    else entry.doneAt = seq;
  }

  markDone(clientId, clientOpId, seq) {
    if (clientId !== this.clientId) return;
    const entry = this.pending.find((p) => p.id === clientOpId);
    if (entry) entry.doneAt = seq;
  }

  /** Drop entries the committed state already holds; returns the ids they touched. */
  settle() {
    const done = this.pending.filter((p) => p.doneAt !== null && p.doneAt <= this.seq);
    this.pending = this.pending.filter((p) => !done.includes(p));
    return this.touched(done);
  }

  removePending(entries) {
    const ids = this.touched(entries);
    this.pending = this.pending.filter((p) => !entries.includes(p));
    this.refresh(ids, entries.some((e) => e.ops.some((op) => op.op === "board.update")));
  }

  touched(entries) {
    const ids = new Set();
    for (const entry of entries) {
      for (const op of entry.ops) {
        const id = op.op === "create" ? op.element.id : op.id;
        if (!id) continue;
        ids.add(id);
        if (op.op === "delete") for (const d of this.dependents(id)) ids.add(d);
      }
    }
    return ids;
  }

  dependents(id) {
    const found = [];
    for (const e of this.committed.values()) {
      if (e.source === id || e.target === id || e.parent === id) found.push(e.id);
    }
    return found;
  }

  idsToRecompute(ids) {
    if (ids) return ids;
    return new Set([...this.committed.keys(), ...this.touched(this.pending)]);
  }

  refresh(ids, boardChanged) {
    for (const id of ids) this.recompute(id);
    this.emit(ids, boardChanged);
  }

  recompute(id) {
    let element = this.committed.get(id);
    for (const entry of this.pending) {
      for (const op of entry.ops) element = overlay(element, op, id);
    }
    if (element) this.view.set(id, element);
    else this.view.delete(id);
  }

  /** The board's own fields with pending `board.update`s applied. */
  boardView() {
    const board = { ...this.board };
    for (const entry of this.pending) {
      for (const op of entry.ops) {
        if (op.op !== "board.update") continue;
        for (const key of ["title", "description", "tags"]) if (key in op) board[key] = op[key];
      }
    }
    return board;
  }

  get(id) {
    return this.view.get(id);
  }

  elements(kind) {
    const all = [...this.view.values()];
    return kind ? all.filter((e) => e.kind === kind) : all;
  }

  /** Stages or lanes in their committed order (fractional keys compare as plain strings). */
  ordered(kind) {
    return this.elements(kind).sort((a, b) =>
      a.order === b.order ? (a.id < b.id ? -1 : 1) : a.order < b.order ? -1 : 1,
    );
  }
}

/** What one intent probably does to element `id`; the server's effects have the last word. */
export function overlay(element, op, id) {
  switch (op.op) {
    case "create":
      return op.element.id === id && !element ? { order: "", ...op.element } : element;
    case "update": {
      if (op.id !== id || !element) return element;
      const next = { ...element, ...(op.set || {}) };
      for (const key of op.unset || []) delete next[key];
      return next;
    }
    case "move":
      if (op.id !== id || !element) return element;
      return {
        ...element,
        x: op.x,
        y: op.y,
        ...("stage" in op ? { stage: op.stage } : {}),
        ...("lane" in op ? { lane: op.lane } : {}),
      };
    case "delete":
      if (!element) return element;
      if (op.id === id || element.source === op.id || element.target === op.id) return undefined;
      if (element.kind === "comment" && (element.target === op.id || element.parent === op.id)) return undefined;
      return element;
    default:
      return element; // reorder and board.update: wait for the server's order
  }
}
