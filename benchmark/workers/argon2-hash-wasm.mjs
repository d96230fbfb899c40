// piscina worker: the "just use a worker pool" answer, argon2id in WebAssembly on worker threads.
import { argon2id, argon2Verify } from 'hash-wasm';
import { randomBytes } from 'node:crypto';

export default async function ({ op, password, hash, params }) {
  if (op === 'verify') return argon2Verify({ password, hash });
  return argon2id({ password, salt: randomBytes(16), ...params, outputType: 'encoded' });
}
