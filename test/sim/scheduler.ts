// Virtual time: a priority queue of events ordered by (time, insertion order),
// so that two runs of one seed interleave everything identically.

export interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: ScheduledEvent[] = [];

  at(time: number, run: () => void): void {
    this.push({ time: Math.max(time, this.now), seq: this.seq++, run });
  }

  after(delay: number, run: () => void): void {
    this.at(this.now + delay, run);
  }

  /** Runs the next event if it is due by `until`; false when none is. For drivers that await between events. */
  runNext(until: number): boolean {
    if (this.heap.length === 0 || this.heap[0]!.time > until) return false;
    const e = this.pop();
    this.now = e.time;
    e.run();
    return true;
  }

  /** Runs events until virtual time passes `until` or `stop()` says so. */
  runUntil(until: number, stop: () => boolean = () => false): void {
    while (this.heap.length > 0 && this.heap[0]!.time <= until) {
      const e = this.pop();
      this.now = e.time;
      e.run();
      if (stop()) return;
    }
    this.now = Math.max(this.now, until);
  }

  private push(e: ScheduledEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): ScheduledEvent {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
