#!/usr/bin/env node
// What copying a caller's large input costs, against reading it in place: two builds of offloop
// loaded side by side in one process, their calls interleaved, so both see the same machine.
//
//   node --expose-gc benchmark/copy-cost.mjs <before.node> <after.node> [rounds]
//
// For each call: the median latency, and the JS thread's busy time during the call (from
// performance.eventLoopUtilization(): the loop's active time, which is where copying happens)
// with the longest single stall (a 1 ms timer probe's lateness). Each build has its own pool.
import { performance } from 'node:perf_hooks';
import { mkdtempSync, writeFileSync, rmSync, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [before, after] = process.argv.slice(2, 4).map((path) => {
  const module = { exports: {} };
  process.dlopen(module, path);
  return module.exports;
});
const rounds = Number(process.argv[4] ?? 7);
const MiB = 1 << 20;

const dir = mkdtempSync(join(tmpdir(), 'offloop-copy-cost-'));
const bytes = Buffer.alloc(256 * MiB);
for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 255;
const file = join(dir, 'data.bin');
writeFileSync(file, bytes.subarray(0, 256 * MiB));
const floats = Float64Array.from({ length: 10_000_000 }, () => Math.random());
const matrix = Float32Array.from({ length: 100_000 * 384 }, (_, i) => Math.sin(i));
const query = matrix.slice(0, 384);
const ndjson = Buffer.from(Array.from({ length: 400_000 }, (_, i) => JSON.stringify({ id: i, name: `user ${i}`, score: i % 97, tags: ['a', 'b'] })).join('\n'));
const sortInto = new Float64Array(floats.length);

async function* fileHandleChunks(size) {
  const handle = await open(file);
  try {
    const buffer = Buffer.alloc(size);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, size);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

const calls = {
  "hash('sha256', 256 MiB Buffer)": (o) => o.hash('sha256', bytes),
  "hash('blake3', 256 MiB Buffer)": (o) => o.hash('blake3', bytes),
  'sort(10M float64)': (o) => o.sort(floats),
  'sort(10M float64, { into })': (o) => o.sort(floats, { into: sortInto }),
  'describe(10M float64)': (o) => o.describe(floats),
  'topK(100k x 384 float32)': (o) => o.topK(matrix, 384, query, 10),
  "jq('select(.score > 90) | .id', 40 MB NDJSON Buffer)": (o) => o.jq('select(.score > 90) | .id', ndjson, { ndjson: true }),
  'hashStream(fs.createReadStream, 64 KiB chunks)': (o) => o.hashStream('sha256', createReadStream(file)),
  'hashStream(fileHandle.read into one 4 MiB buffer)': (o) => o.hashStream('sha256', fileHandleChunks(4 * MiB)),
};

/** One call: its latency, the loop's busy time meanwhile, and its longest stall. */
async function measure(call) {
  let longest = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - 1);
    last = now;
  }, 1);
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  await call();
  const ms = performance.now() - start;
  const busy = performance.eventLoopUtilization(elu);
  clearInterval(probe);
  return { ms, busyMs: busy.active, stallMs: longest };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
try {
  for (const [name, call] of Object.entries(calls)) {
    const samples = { before: [], after: [] };
    for (let i = 0; i < rounds; i++) {
      // Alternate which build goes first, so neither always runs on a warmer machine.
      const order = i % 2 ? ['after', 'before'] : ['before', 'after'];
      for (const build of order) samples[build].push(await measure(() => call(build === 'before' ? before : after)));
    }
    const summary = (build, key) => Math.round(median(samples[build].map((s) => s[key])) * 10) / 10;
    const row = { call: name };
    for (const build of ['before', 'after']) {
      row[build] = { ms: summary(build, 'ms'), busyMs: summary(build, 'busyMs'), stallMs: summary(build, 'stallMs') };
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
