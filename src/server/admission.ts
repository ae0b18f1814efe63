// Admission control: how many calls a node works on at once, per node and
// per client connection, and how many wait for a slot, in arrival order.
// What fits neither is refused at once: a refusal must cost far less than
// serving the call, or a flood would still take the node's whole time (and
// with it the Raft heartbeats that keep its leadership).
//
// Invariant, after every admit and release: no waiting call could start,
// i.e. each one waits for its connection's slots or the node's are all
// taken. A new call therefore starts at once whenever both have room,
// without passing anyone who could have gone first.
//
// A connection from another node of the cluster (its certificate says so)
// relays the calls of all that node's clients: forwarded writes from a
// follower, everything from a STANDBY secondary. Bounding it like one
// client's would cap a whole region at one connection's share; it is
// bounded by the node's limits alone.
//
// A refusal says when to come back. One fixed wait would bring a burst many
// times the queue back all at once, to be refused again but for a queue's
// worth; instead each refusal books the next turn, from retryAfterMs on,
// spaced by the time a slot takes to free (the measured time calls run,
// over the slots), so that the retries arrive about as fast as the node (or
// the connection's share of it) takes calls.

export interface AdmissionLimits {
  /** Calls in progress on the node. */
  readonly nodeCalls: number;
  /** Calls waiting for a slot on the node. */
  readonly nodeQueue: number;
  /** Calls in progress from one connection. */
  readonly connectionCalls: number;
  /** Calls waiting from one connection. */
  readonly connectionQueue: number;
  /** The shortest wait a refusal asks for. */
  readonly retryAfterMs: number;
}

/** No refusal asks for a longer wait: the bookings of a burst that ended do not hold up the next one. */
export const MAX_RETRY_AFTER_MS = 10_000;
/** The weight of the newest call in the running time's moving average. */
const SERVICE_WEIGHT = 0.1;

export interface Refusal {
  /** The limit that refused the call. */
  readonly limit: 'node' | 'connection';
  readonly retryAfterMs: number;
}

/** A call admitted (running or waiting): released once, when it ends however it ends. */
export interface Ticket {
  release(): void;
}

interface Connection {
  running: number;
  waiting: number;
  /** Its limits: a client's, or the node's for a relay. */
  readonly calls: number;
  readonly queue: number;
  /** The next turn a refusal of this connection can book. */
  nextTurnAt: number;
}

class Slot implements Ticket {
  state: 'waiting' | 'running' | 'done' = 'waiting';
  startedAt = 0;

  constructor(
    private readonly owner: Admission,
    readonly connection: Connection,
    readonly key: string,
    readonly start: () => void,
  ) {}

  release(): void {
    this.owner.release(this);
  }
}

export class Admission {
  private running = 0;
  private draining = false;
  private readonly queue: Slot[] = [];
  private readonly connections = new Map<string, Connection>();
  /** How long calls run, a moving average (ms). */
  private runMs = 0;
  private readonly nodeTurns = { nextTurnAt: 0 };

  constructor(
    readonly limits: AdmissionLimits,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Calls in progress and waiting, and the connections they came on. */
  get load(): { running: number; waiting: number; connections: number } {
    return { running: this.running, waiting: this.queue.length, connections: this.connections.size };
  }

  /**
   * Starts the call now (calls `start`), or queues it to start later, and
   * returns its ticket; when it is refused, which limit refused it and when
   * to come back (there is nothing to release).
   */
  admit(connectionKey: string, start: () => void, relay = false): Ticket | Refusal {
    const refused = this.refusal(connectionKey, relay);
    if (refused !== undefined) return refused;
    const c = this.connection(connectionKey, relay);
    this.connections.set(connectionKey, c);
    const slot = new Slot(this, c, connectionKey, start);
    if (this.running < this.limits.nodeCalls && c.running < c.calls) {
      this.run(slot);
    } else {
      c.waiting++;
      this.queue.push(slot);
    }
    return slot;
  }

  /**
   * The refusal admit would give a call from this connection now, booked as
   * admit books it; undefined when the call would start or wait. It lets a
   * call be refused before grpc-js has built anything for it.
   */
  refusal(connectionKey: string, relay = false): Refusal | undefined {
    const l = this.limits;
    const c = this.connection(connectionKey, relay);
    if (this.running < l.nodeCalls && c.running < c.calls) return undefined;
    if (this.queue.length < l.nodeQueue && c.waiting < c.queue) return undefined;
    return this.queue.length >= l.nodeQueue ? { limit: 'node', retryAfterMs: this.book(this.nodeTurns, l.nodeCalls) } : { limit: 'connection', retryAfterMs: this.book(c, c.calls) };
  }

  /** The connection's record, or a new one (not yet kept) with the limits of its kind. */
  private connection(key: string, relay: boolean): Connection {
    const l = this.limits;
    return this.connections.get(key) ?? { running: 0, waiting: 0, nextTurnAt: 0, calls: relay ? l.nodeCalls : l.connectionCalls, queue: relay ? l.nodeQueue : l.connectionQueue };
  }

  /** The wait of a refusal: the next free turn of `holder` (the node or a connection), whose calls run in `slots`. */
  private book(holder: { nextTurnAt: number }, slots: number): number {
    const now = this.nowMs();
    // Clamped as a difference: now + MAX and back would not always come to MAX exactly.
    const wait = Math.min(Math.max(holder.nextTurnAt - now, this.limits.retryAfterMs), MAX_RETRY_AFTER_MS);
    holder.nextTurnAt = now + wait + this.runMs / slots;
    return wait;
  }

  /** Slot.release: once, however the call ended (a waiting call cancelled, or past its deadline, only leaves the queue). */
  release(slot: Slot): void {
    const was = slot.state;
    slot.state = 'done';
    if (was === 'waiting') {
      this.queue.splice(this.queue.indexOf(slot), 1);
      slot.connection.waiting--;
    } else if (was === 'running') {
      this.running--;
      slot.connection.running--;
      const ranMs = this.nowMs() - slot.startedAt;
      this.runMs = this.runMs === 0 ? ranMs : this.runMs + SERVICE_WEIGHT * (ranMs - this.runMs);
    } else {
      return;
    }
    // A connection with nothing running or waiting is dropped: the map holds only live ones.
    const c = slot.connection;
    if (c.running === 0 && c.waiting === 0 && this.connections.get(slot.key) === c) this.connections.delete(slot.key);
    if (was === 'running') this.drain();
  }

  private run(slot: Slot): void {
    slot.state = 'running';
    slot.startedAt = this.nowMs();
    this.running++;
    slot.connection.running++;
    slot.start();
  }

  /** Starts, in arrival order, every waiting call that now has room. */
  private drain(): void {
    // A call that ends inside its own start leaves the loop below to carry on.
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < this.queue.length && this.running < this.limits.nodeCalls; ) {
        const slot = this.queue[i]!;
        if (slot.connection.running >= slot.connection.calls) {
          i++;
          continue;
        }
        this.queue.splice(i, 1);
        slot.connection.waiting--;
        this.run(slot);
      }
    } finally {
      this.draining = false;
    }
  }
}
