// The worker side of rsa-private.ts: one raw RSA private operation per task.

import { privateDecrypt, privateEncrypt } from 'node:crypto';
import type { RsaPrivateTask } from './rsa-private.js';

export default function run(task: RsaPrivateTask): Buffer {
  const key = { key: task.key, padding: task.padding, ...(task.oaepHash === undefined ? {} : { oaepHash: task.oaepHash }) };
  return task.op === 'sign' ? privateEncrypt(key, task.data) : privateDecrypt(key, task.data);
}
