#!/usr/bin/env node
// What hashStream's copy of each chunk costs, against the alternative of reading chunks in place
// and asking for the next one only once the previous one is hashed (issue 16, point 2).
//
//   node benchmark/stream-copy.mjs [MiB] [rounds] [chunkKiB]
//
// A 4 MiB-buffer fileHandle.read() loop over a file in the page cache, rounds interleaved:
// - copy: hashStream as shipped (each chunk copied, hashed on the pool while the next is read);
// - read only and hash only: the two halves on their own. Pull-after-hash cannot overlap them, so
//   its latency is at least their sum; copying can, so it needs about the larger one plus the copy.
// - copy only: Buffer.copy of the same chunks on the JS thread, the JS-thread time copying adds.
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const offloop = createRequire(import.meta.url)('../index.js');
const MiB = 1 << 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const rounds = Number(process.argv[3] ?? 7);
const chunk = Number(process.argv[4] ?? 4096) * 1024;
const dir = mkdtempSync(join(tmpdir(), 'offloop-stream-copy-'));
const file = join(dir, 'data.bin');
writeFileSync(file, Buffer.alloc(size, 7));

async function* chunks(onChunk) {
  const handle = await open(file);
  try {
    const buffer = Buffer.alloc(chunk);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunk);
      if (bytesRead === 0) return;
      onChunk?.(buffer.subarray(0, bytesRead));
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

const scratch = Buffer.alloc(chunk);
const ways = {
  copy: () => offloop.hashStream('sha256', chunks()),
  'read only': async () => { for await (const _ of chunks()); },
  'hash only (node:crypto, one core)': async () => {
    const h = createHash('sha256');
    const piece = Buffer.alloc(chunk, 7);
    for (let done = 0; done < size; done += chunk) h.update(piece);
    h.digest();
  },
  'copy only (JS thread)': async () => {
    const piece = Buffer.alloc(chunk, 7);
    for (let done = 0; done < size; done += chunk) piece.copy(scratch);
  },
};
const samples = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
try {
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(ways)) {
      const start = performance.now();
      await run();
      samples[name].push(performance.now() - start);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(samples)) console.log(`${name}: median ${median(xs).toFixed(1)} ms over ${rounds} rounds`);
