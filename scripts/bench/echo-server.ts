// The grpc-js echo ceiling's server, in a process of its own: it serves TLS
// with the certificate of ECHO_NODE in the PKI folder given as its argument
// (the server credentials of keyraft's client port), tells its parent the
// port it listens on, and ends with the parent.

import * as grpc from '@grpc/grpc-js';
import { clientPortCredentials, nodeTls } from '../../src/transport/tls.js';
import { ECHO_NODE, ECHO_SERVICE, type FromWorker } from './common.js';

const server = new grpc.Server();
server.addService(ECHO_SERVICE, {
  echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
});
server.bindAsync('127.0.0.1:0', clientPortCredentials(nodeTls(process.argv[2] ?? '', ECHO_NODE)), (err, port) => {
  if (err !== null) {
    process.send?.({ type: 'failed', error: err.message } satisfies FromWorker);
    process.exit(1);
  }
  process.send?.({ type: 'listening', port } satisfies FromWorker);
});
process.on('disconnect', () => process.exit(0));
