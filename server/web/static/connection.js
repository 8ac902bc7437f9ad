// The board socket: connect, reconnect with `since`, and resend what got no answer.
// No DOM here: the page gives it a WebSocket constructor and callbacks, so it runs anywhere.

const RETRYABLE = new Set(["busy", "unavailable", "outcome_unknown", "rate_limited"]);
const FINAL_CLOSES = new Set([4401, 4403, 4404, 4410]);

export class Connection {
  /**
   * url(since) gives the socket address; onMessage(msg) gets every server message except
   * the acks and rejects it handles; onStatus(status, detail) hears "connecting", "online",
   * "offline" and "closed"; onAnswer(kind, msg) hears final acks and rejects.
   */
  constructor({ url, since, onMessage, onStatus, onAnswer, WebSocketImpl = WebSocket }) {
    Object.assign(this, { url, since, onMessage, onStatus, onAnswer, WebSocketImpl });
    this.unanswered = new Map(); // client_op_id -> submit message, in send order
    this.nextOpId = 0;
    this.socket = null;
    this.paused = false;
    this.attempt = 0;
    this.fresh = false; // next connect asks for a snapshot, not the ops since
    this.status = "connecting";
  }

  start() {
    this.paused = false;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    if (this.paused || this.socket) return;
    this.setStatus("connecting");
    const since = this.fresh ? null : this.since();
    this.fresh = false;
    const socket = new this.WebSocketImpl(this.url(since));
    this.socket = socket;
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => this.closed(socket, event.code, event.reason);
  }

  /** Queue a batch; it is sent now if online and again after every reconnect until answered. */
  submit(ops) {
    const message = { type: "submit", client_op_id: this.nextOpId++, ops };
    this.unanswered.set(message.client_op_id, message);
    if (this.status === "online") this.send(message);
    return message.client_op_id;
  }

  send(message) {
    if (this.socket?.readyState !== 1) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  receive(message) {
    this.lastHeard = Date.now();
    switch (message.type) {
      case "welcome":
        this.attempt = 0;
        this.setStatus("online", message);
        this.onMessage(message);
        for (const pending of this.unanswered.values()) this.send(pending);
        return;
      case "ping":
        this.send({ type: "pong" });
        return;
      case "ack":
        if (!this.unanswered.delete(message.client_op_id)) return;
        this.onAnswer("ack", message);
        return;
      case "reject":
        return this.rejected(message);
      default:
        this.onMessage(message);
    }
  }

  rejected(message) {
    const pending = this.unanswered.get(message.client_op_id);
    if (!pending) return;
    if (RETRYABLE.has(message.code)) {
      const wait = message.details?.retry_after_ms ?? 500;
      setTimeout(() => this.unanswered.has(pending.client_op_id) && this.send(pending), wait);
      return;
    }
    this.unanswered.delete(message.client_op_id);
    this.onAnswer("reject", message);
  }

  /** Drop the socket and come back with a fresh snapshot (used when the replica is stale). */
  resync() {
    this.fresh = true;
    this.drop();
  }

  /** Go offline on purpose (the browser says the network is gone); `resume` reconnects. */
  pause() {
    this.paused = true;
    this.drop();
    this.setStatus("offline");
  }

  resume() {
    this.paused = false;
    this.connect();
  }

  drop() {
    const socket = this.socket;
    if (!socket) return this.connect();
    this.closed(socket, 1000, "");
    try {
      socket.close();
    } catch {
      /* already closing */
    }
  }

  closed(socket, code, reason) {
    if (this.socket !== socket) return;
    socket.onmessage = socket.onclose = null;
    this.socket = null;
    if (FINAL_CLOSES.has(code)) return this.setStatus("closed", { code, reason });
    if (this.paused) return this.setStatus("offline");
    this.setStatus("connecting", { code, reason });
    const delay = Math.min(5000, 150 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => this.connect(), this.fresh ? 0 : delay);
  }

  setStatus(status, detail) {
    this.status = status;
    this.onStatus(status, detail);
  }
}
