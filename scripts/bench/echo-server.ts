// The grpc-js echo ceiling's server, in a process of its own: it tells its
// parent the port it listens on, and ends with the parent.

import * as grpc from '@grpc/grpc-js';
import { ECHO_SERVICE, type FromWorker } from './common.js';

const server = new grpc.Server();
server.addService(ECHO_SERVICE, {
  echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) {
    process.send?.({ type: 'failed', error: err.message } satisfies FromWorker);
    process.exit(1);
  }
  process.send?.({ type: 'listening', port } satisfies FromWorker);
});
process.on('disconnect', () => process.exit(0));
