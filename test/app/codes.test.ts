// The application layer's status codes are gRPC's, number for number: the
// gRPC adapter sends them unchanged.

import { status } from '@grpc/grpc-js';
import t from 'tap';
import { Code } from '../../src/app/codes.js';

t.test('every code is grpc-js status of the same name', async (t) => {
  const grpcCodes = Object.fromEntries(Object.entries(status).filter(([name]) => Number.isNaN(Number(name))));
  t.same(Code, grpcCodes);
});
