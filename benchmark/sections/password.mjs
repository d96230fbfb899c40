// Password hashing at OWASP's argon2id parameters (m=19456 KiB, t=2, p=1, 32-byte tag), the same for
// every implementation, 8 calls in flight as a login endpoint under load would have.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const offloop = require('../../index.js');
const nodeArgon2 = require('argon2');
const nodeRsArgon2 = require('@node-rs/argon2');
const hashWasm = require('hash-wasm');
const bcryptjs = require('bcryptjs');
const { Piscina } = require('piscina');

const OWASP = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
const HASH_WASM = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32 };
const PARAMS = 'argon2id m=19456 t=2 p=1';
const password = 'correct horse battery staple';

export default async function passwordSection(bench) {
  const inFlight = 8;
  const pool = new Piscina({
    filename: fileURLToPath(new URL('../workers/argon2-hash-wasm.mjs', import.meta.url)),
    maxThreads: availableParallelism(),
  });
  bench.note(
    `argon2id at OWASP parameters (m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte tag) for every implementation; ${inFlight} calls in flight. ` +
      'offloop uses argon2-rust (hand-written SIMD, AVX-512/AVX2 picked at run time) with one reusable block arena per pool thread; ' +
      'node-argon2 (C reference) and @node-rs/argon2 (RustCrypto argon2) run on libuv\'s 4-thread pool; hash-wasm runs on the JS thread; piscina runs hash-wasm on worker threads.',
  );
  const hashGroup = `argon2id hash, ${inFlight} in flight`;
  const impls = [
    ['offloop hashPassword()', () => offloop.hashPassword(password, OWASP)],
    ['argon2 (node-argon2)', () => nodeArgon2.hash(password, { type: nodeArgon2.argon2id, ...OWASP })],
    ['@node-rs/argon2', () => nodeRsArgon2.hash(password, OWASP)],
    ['piscina + hash-wasm', () => pool.run({ op: 'hash', password, params: HASH_WASM })],
    ['hash-wasm (JS thread)', () => hashWasm.argon2id({ password, salt: randomBytes(16), ...HASH_WASM, outputType: 'encoded' })],
  ];
  for (const [impl, op] of impls) {
    await bench.run({ group: hashGroup, task: 'argon2id hash', impl, params: PARAMS, inFlight, op });
  }

  const stored = await offloop.hashPassword(password, OWASP);
  const verifyGroup = `argon2id verify, ${inFlight} in flight`;
  for (const [impl, op] of [
    ['offloop verifyPassword()', () => offloop.verifyPassword(stored, password)],
    ['argon2 (node-argon2)', () => nodeArgon2.verify(stored, password)],
    ['@node-rs/argon2', () => nodeRsArgon2.verify(stored, password)],
    ['piscina + hash-wasm', () => pool.run({ op: 'verify', password, hash: stored })],
  ]) {
    await bench.run({ group: verifyGroup, task: 'argon2id verify', impl, params: PARAMS, inFlight, op });
  }

  // Legacy bcrypt: verifying the hashes an app already has (the migration path off bcryptjs).
  const bcryptHash = bcryptjs.hashSync(password, 10);
  const bcryptGroup = `bcrypt cost 10 verify, ${inFlight} in flight`;
  for (const [impl, op] of [
    ['offloop verifyPassword()', () => offloop.verifyPassword(bcryptHash, password)],
    ['bcryptjs compare()', () => bcryptjs.compare(password, bcryptHash)],
  ]) {
    await bench.run({ group: bcryptGroup, task: 'bcrypt verify', impl, params: 'cost 10', inFlight, op });
  }
  await pool.destroy();

  // The backend choice, measured in Rust on one thread (compiles an example: skipped under --quick).
  if (!bench.quick) {
    bench.log('  password | argon2id on one thread: Rust backends (cargo run --example argon2_backends) ...');
    const out = execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'argon2_backends'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
    });
    for (const line of out.trim().split('\n')) {
      const { backend, hashesPerSec } = JSON.parse(line);
      bench.record({ group: 'argon2id on one thread: Rust backends', task: 'argon2id hash', impl: backend, params: PARAMS, inFlight: 1, opsPerSec: hashesPerSec });
    }
    bench.note(
      'Backend choice: offloop builds on argon2-rust rather than RustCrypto\'s argon2 (which @node-rs/argon2 uses) because it is faster per core on this machine; ' +
        'see the group "argon2id on one thread: Rust backends" (benchmark/argon2_backends.rs), same parameters, same tag.',
    );
  }
}
