// The client port's message limits, one constant for the three parties that
// must agree on them: the server (src/node.ts), the node that forwards a
// client's call to another node (src/server/forwarder.ts), and the SDK
// (src/client). A forwarder with grpc-js's default 4 MiB would refuse an
// answer its server was allowed to give.
//
// 16 MiB holds a backup of the largest object the vault accepts (MAX_VERSIONS
// of the largest versions, src/vault/limits.ts) with room to spare.

import type { ChannelOptions } from '@grpc/grpc-js';

export const CLIENT_MESSAGE_BYTES = 16 * 1024 * 1024;

export const CLIENT_MESSAGE_LIMITS = {
  'grpc.max_receive_message_length': CLIENT_MESSAGE_BYTES,
  'grpc.max_send_message_length': CLIENT_MESSAGE_BYTES,
} as const satisfies ChannelOptions;
