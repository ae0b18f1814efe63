// Frames come back whole and in order however TCP splits the stream, and a
// length past the limit is refused before its bytes are waited for.

import t from 'tap';
import { deepStrictEqual } from 'node:assert';
import fc from 'fast-check';
import { FrameReader, encodeFrame } from '../../src/transport/raft-frames.js';

t.test('any split of a stream of frames gives back the frames', (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (payloads, cuts) => {
      const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
      const reader = new FrameReader(1024);
      const out: Buffer[] = [];
      let at = 0;
      for (let i = 0; at < stream.length; i++) {
        const n = cuts[i % cuts.length]!;
        out.push(...reader.push(stream.subarray(at, at + n)));
        at += n;
      }
      deepStrictEqual(
        out.map((b) => [...b]),
        payloads.map((p) => [...p]),
      );
    }),
    { numRuns: 300 },
  );
  t.pass('300 random streams, each cut at random, came back frame by frame');
  t.end();
});

t.test('a frame longer than the limit is refused from its header', (t) => {
  const reader = new FrameReader(16);
  t.same(reader.push(encodeFrame(new Uint8Array(16))).map((b) => b.length), [16], 'a frame at the limit passes');
  t.throws(() => reader.push(Buffer.from([0, 0, 0, 17])), { name: 'FrameError', message: /over the limit of 16/ }, 'one byte over is refused with only its header in');
  t.end();
});

t.test('a frame does not share memory with the chunk it came in', (t) => {
  const chunk = encodeFrame(Buffer.from('abc'));
  const [frame] = new FrameReader().push(chunk);
  chunk.fill(0);
  t.equal(frame?.toString(), 'abc');
  t.end();
});
