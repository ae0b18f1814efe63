// The simulator runs whatever consensus core it is handed: the real one, or a
// copy with a safety rule broken on purpose (see planted-bug.test.ts).

export type Core = typeof import('../../src/raft/index.js');
