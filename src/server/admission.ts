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

export interface AdmissionLimits {
  /** Calls in progress on the node. */
  readonly nodeCalls: number;
  /** Calls waiting for a slot on the node. */
  readonly nodeQueue: number;
  /** Calls in progress from one connection. */
  readonly connectionCalls: number;
  /** Calls waiting from one connection. */
  readonly connectionQueue: number;
}

/** A call admitted (running or waiting): released once, when it ends however it ends. */
export interface Ticket {
  release(): void;
}

interface Connection {
  running: number;
  waiting: number;
}

class Slot implements Ticket {
  state: 'waiting' | 'running' | 'done' = 'waiting';

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

  constructor(readonly limits: AdmissionLimits) {}

  /** Calls in progress and waiting, and the connections they came on. */
  get load(): { running: number; waiting: number; connections: number } {
    return { running: this.running, waiting: this.queue.length, connections: this.connections.size };
  }

  /**
   * Starts the call now (calls `start`), or queues it to start later, and
   * returns its ticket; when it is refused, which limit refused it (there is
   * nothing to release).
   */
  admit(connectionKey: string, start: () => void): Ticket | 'node' | 'connection' {
    const l = this.limits;
    const c = this.connections.get(connectionKey) ?? { running: 0, waiting: 0 };
    const slot = new Slot(this, c, connectionKey, start);
    if (this.running < l.nodeCalls && c.running < l.connectionCalls) {
      this.connections.set(connectionKey, c);
      this.run(slot);
    } else if (this.queue.length < l.nodeQueue && c.waiting < l.connectionQueue) {
      this.connections.set(connectionKey, c);
      c.waiting++;
      this.queue.push(slot);
    } else {
      return this.queue.length >= l.nodeQueue ? 'node' : 'connection';
    }
    return slot;
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
        if (slot.connection.running >= this.limits.connectionCalls) {
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
