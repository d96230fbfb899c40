// Hashing: one large SHA-256, a batch, BLAKE3, files, streams and tiny inputs, offloop against
// node:crypto (JS thread), webcrypto (libuv's pool), hash-wasm (WebAssembly on the JS thread) and
// @noble/hashes (pure JS). Every row of a group hashes the same bytes with the same algorithm.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);
const offloop = require('../../index.js');
const hashWasm = require('hash-wasm');

const MiB = 1 << 20;

export default async function hashingSection(bench) {
  const { sha256: nobleSha256 } = await import('@noble/hashes/sha2.js');
  const { blake3: nobleBlake3 } = await import('@noble/hashes/blake3.js');
  // --quick keeps every group but hashes less, so the smoke run stays short.
  const largeSize = bench.quick ? 16 * MiB : 64 * MiB;
  const large = crypto.randomBytes(largeSize);
  const largeLabel = `${largeSize / MiB} MiB`;
  bench.note(
    'offloop hashes on its own pool (SHA-2 from RustCrypto sha2 with SHA-NI picked at run time, BLAKE3 from the blake3 crate with AVX-512 and its Rayon mode on the pool). ' +
      'node:crypto (OpenSSL) and hash-wasm run on the JS thread, so their rows block the event loop for a whole hash; webcrypto runs on libuv\'s 4-thread pool; @noble/hashes is pure JS on the JS thread. ' +
      'Inputs of 64 KiB or more are passed to offloop without a copy.',
  );

  // One large SHA-256.
  const sha256Group = `sha256 of ${largeLabel}`;
  for (const [impl, op] of [
    ['offloop hash()', () => offloop.hash('sha256', large)],
    ['offloop hashSync() (JS thread)', () => offloop.hashSync('sha256', large)],
    ['node:crypto createHash() (JS thread)', () => crypto.createHash('sha256').update(large).digest('hex')],
    ['webcrypto subtle.digest (libuv pool)', () => crypto.subtle.digest('SHA-256', large)],
    ['hash-wasm sha256 (JS thread)', () => hashWasm.sha256(large)],
    ['@noble/hashes sha256 (JS thread)', () => nobleSha256(large)],
  ]) {
    await bench.run({ group: sha256Group, task: 'sha256', impl, params: `${largeLabel}, hex`, bytesPerOp: largeSize, op });
  }

  // A batch: 32 inputs of 2 MiB (one upload's parts, a directory's small files in memory).
  const parts = Array.from({ length: 32 }, (_, i) => large.subarray((i * 2 * MiB) % largeSize, ((i * 2 * MiB) % largeSize) + 2 * MiB));
  const batchGroup = 'sha256 of 32 x 2 MiB';
  for (const [impl, op] of [
    ['offloop hashMany()', () => offloop.hashMany('sha256', parts)],
    ['offloop hash() x 32, Promise.all', () => Promise.all(parts.map((p) => offloop.hash('sha256', p)))],
    ['node:crypto createHash() loop (JS thread)', () => parts.map((p) => crypto.createHash('sha256').update(p).digest('hex'))],
    ['webcrypto subtle.digest x 32, Promise.all', () => Promise.all(parts.map((p) => crypto.subtle.digest('SHA-256', p)))],
  ]) {
    await bench.run({ group: batchGroup, task: 'sha256 batch', impl, params: '32 x 2 MiB, hex', bytesPerOp: 64 * MiB, op });
  }

  // BLAKE3 against SHA-256 on the same bytes: what switching algorithm buys.
  const blake3Group = `blake3 vs sha256, ${largeLabel}`;
  for (const [impl, op] of [
    ["offloop hash('blake3')", () => offloop.hash('blake3', large)],
    ["offloop hash('sha256')", () => offloop.hash('sha256', large)],
    ['node:crypto sha256 (JS thread)', () => crypto.createHash('sha256').update(large).digest('hex')],
    ['hash-wasm blake3 (JS thread)', () => hashWasm.blake3(large)],
    ['@noble/hashes blake3 (JS thread)', () => nobleBlake3(large)],
  ]) {
    await bench.run({ group: blake3Group, task: 'large hash', impl, params: `${largeLabel}, hex`, bytesPerOp: largeSize, op });
  }

  // A file on disk (in the page cache after the first read): read and hash.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'offloop-bench-'));
  const file = path.join(dir, 'large.bin');
  fs.writeFileSync(file, large);
  const fileGroup = `file of ${largeLabel}`;
  for (const [impl, op] of [
    ["offloop hashFile('sha256')", () => offloop.hashFile('sha256', file)],
    ["offloop hashFile('blake3')", () => offloop.hashFile('blake3', file)],
    ["offloop hashStream('sha256', fs stream)", () => offloop.hashStream('sha256', fs.createReadStream(file))],
    ['fs stream piped into node:crypto sha256', async () => {
      const hash = crypto.createHash('sha256');
      await pipeline(fs.createReadStream(file), hash);
      return hash.digest('hex');
    }],
  ]) {
    await bench.run({ group: fileGroup, task: 'file hash', impl, params: `${largeLabel}, page cache`, bytesPerOp: largeSize, op });
  }
  fs.rmSync(dir, { recursive: true });

  // Tiny inputs: the per-call cost.
  const small = crypto.randomBytes(64);
  const syncGroup = 'sha256 of 64 B, synchronous';
  for (const [impl, op] of [
    ['offloop hashSync()', () => offloop.hashSync('sha256', small)],
    ['node:crypto hash()', () => crypto.hash('sha256', small)],
    ['node:crypto createHash()', () => crypto.createHash('sha256').update(small).digest('hex')],
    ['@noble/hashes sha256', () => nobleSha256(small)],
  ]) {
    await bench.run({ group: syncGroup, task: 'small hash', impl, params: '64 B, hex', op });
  }
  for (const inFlight of [1, 256]) {
    const asyncGroup = `sha256 of 64 B, async, ${inFlight} in flight`;
    for (const [impl, op] of [
      ['offloop hash()', () => offloop.hash('sha256', small)],
      ['webcrypto subtle.digest (libuv pool)', () => crypto.subtle.digest('SHA-256', small)],
    ]) {
      await bench.run({ group: asyncGroup, task: 'small hash', impl, params: '64 B, hex', inFlight, op });
    }
  }
}
