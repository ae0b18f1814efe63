// The simulated network: every message is delayed, and may be dropped,
// duplicated or overtaken; links can be cut in one direction or both.

import type { Random } from './random.js';

export interface NetworkFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Delivery delay in virtual ms: uniform in [min, max], sometimes much longer. */
  minDelay: number;
  maxDelay: number;
  /** Probability of a long delay, which reorders messages. */
  longDelay: number;
}

export const CALM: NetworkFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5, longDelay: 0 };

export class Network {
  faults: NetworkFaults = CALM;
  /** "a>b": messages from a to b are lost. */
  private readonly cut = new Set<string>();

  constructor(private readonly random: Random) {}

  cutOneWay(from: string, to: string): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits the nodes into two sides that cannot talk to each other. */
  partition(sideA: readonly string[], sideB: readonly string[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cutOneWay(a, b);
        this.cutOneWay(b, a);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get cutLinks(): string[] {
    return [...this.cut];
  }

  isCut(from: string, to: string): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** The delays at which copies of one message arrive: none if it is lost. */
  deliveries(from: string, to: string): number[] {
    if (this.isCut(from, to) || this.random.chance(this.faults.drop)) return [];
    const copies = this.random.chance(this.faults.duplicate) ? 2 : 1;
    const delays: number[] = [];
    for (let i = 0; i < copies; i++) {
      const f = this.faults;
      const long = this.random.chance(f.longDelay);
      delays.push(long ? this.random.int(f.maxDelay, f.maxDelay * 20) : this.random.int(f.minDelay, f.maxDelay));
    }
    return delays;
  }
}
