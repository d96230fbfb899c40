// Compression: one-shot and streamed, per format and level, offloop against node:zlib's async
// forms (libuv's threadpool) and sync forms (the JS thread). Every row of a group compresses (or
// decompresses) the same bytes at the same level; each row's output size is in its params, so
// speed compares at the output size it buys. zstd has no node:zlib peer on Node 20.
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
const offloop = require('../../index.js');
const { createCompressStream } = require('../../stream.js');
const { jsonBytes } = await import('../../__test__/fixtures/compress-data.mjs');

const KiB = 1 << 10;
const MiB = 1 << 20;
const { BROTLI_PARAM_QUALITY } = zlib.constants;

const size = (n) => (n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : `${(n / KiB).toFixed(1)} KB`);

/** node:zlib's functions for a format, with offloop's option names turned into node:zlib's. */
function nodeZlib(format, level) {
  const options = format === 'brotli' ? { params: { [BROTLI_PARAM_QUALITY]: level } } : { level };
  const names = {
    gzip: ['gzip', 'gunzip', 'createGzip'],
    deflate: ['deflate', 'inflate', 'createDeflate'],
    'deflate-raw': ['deflateRaw', 'inflateRaw', 'createDeflateRaw'],
    brotli: ['brotliCompress', 'brotliDecompress', 'createBrotliCompress'],
  }[format];
  if (!names) return null;
  const [compress, decompress, stream] = names;
  return {
    async: promisify(zlib[compress]),
    sync: (data) => zlib[`${compress}Sync`](data, options),
    options,
    decompressAsync: promisify(zlib[decompress]),
    decompressSync: zlib[`${decompress}Sync`],
    stream: () => zlib[stream](options),
  };
}

/** Pipes `data` in 64 KiB chunks through `transform` into a sink; resolves with the output size. */
async function streamed(data, transform) {
  let bytes = 0;
  await pipeline(
    Readable.from((function* chunks() {
      for (let i = 0; i < data.length; i += 64 * KiB) yield data.subarray(i, i + 64 * KiB);
    })()),
    transform,
    new Writable({
      write(chunk, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    }),
  );
  return bytes;
}

export default async function compressionSection(bench) {
  const large = jsonBytes(bench.quick ? 256 * KiB : 4 * MiB);
  const response = jsonBytes(100 * KiB, 5);
  const largeLabel = `${size(large.length)} JSON`;
  bench.note(
    'offloop compresses on its own pool: gzip/deflate with the zlib node:zlib runs (the node binary\'s own, so the output is node:zlib\'s byte for byte), ' +
      'decompresses them with zlib-rs; brotli and zstd with their C libraries. ' +
      'node:zlib (Chromium\'s zlib, brotli 1.1) runs its async forms on libuv\'s 4-thread pool and its sync forms on the JS thread. ' +
      'Each row\'s output size is in its params ("→"): compare speed at the size it buys. Sync rows run one call at a time on the JS thread: their MB/s is one core\'s. ' +
      `offloop's pool priority in this run: '${offloop.poolStats().priority}' (OFFLOOP_PRIORITY).`,
  );

  const cases = bench.quick
    ? [['gzip', 6], ['brotli', 4], ['zstd', 3]]
    : [['gzip', 1], ['gzip', 6], ['gzip', 9], ['deflate-raw', 6], ['brotli', 1], ['brotli', 4], ['brotli', 9], ['zstd', 1], ['zstd', 3], ['zstd', 19]];
  for (const [format, level] of cases) {
    const node = nodeZlib(format, level);
    const ours = offloop.compressSync(format, large, { level });
    const theirs = node?.sync(large);
    const arrow = (bytes) => `${largeLabel} → ${size(bytes.length)}`;
    const group = `${format} level ${level}, ${largeLabel}`;
    const rows = [
      ['offloop compress()', () => offloop.compress(format, large, { level }), ours, 2],
      ['offloop compressSync() (JS thread)', () => offloop.compressSync(format, large, { level }), ours, 1],
    ];
    if (node) {
      rows.push(
        ['node:zlib async (libuv pool)', () => node.async(large, node.options), theirs, 2],
        ['node:zlib sync (JS thread)', () => node.sync(large), theirs, 1],
      );
    }
    for (const [impl, op, output, inFlight] of rows) {
      await bench.run({ group, task: `${format} compress`, impl, params: `level ${level}, ${arrow(output)}`, bytesPerOp: large.length, inFlight, op });
    }
  }

  // Decompression of what node:zlib (or offloop, for zstd) made at the default levels.
  for (const format of bench.quick ? ['gzip'] : ['gzip', 'brotli', 'zstd']) {
    const level = { gzip: 6, brotli: 4, zstd: 3 }[format];
    const node = nodeZlib(format, level);
    const packed = node ? node.sync(large) : offloop.compressSync(format, large, { level });
    const group = `${format} decompress, ${size(packed.length)} → ${largeLabel}`;
    const rows = [
      ['offloop decompress()', () => offloop.decompress(format, packed), 2],
      ['offloop decompressSync() (JS thread)', () => offloop.decompressSync(format, packed), 1],
    ];
    if (node) {
      rows.push(['node:zlib async (libuv pool)', () => node.decompressAsync(packed), 2], ['node:zlib sync (JS thread)', () => node.decompressSync(packed), 1]);
    }
    for (const [impl, op, inFlight] of rows) {
      await bench.run({ group, task: `${format} decompress`, impl, params: `level ${level} data`, bytesPerOp: large.length, inFlight, op });
    }
  }

  // Streams: 64 KiB chunks through a Transform.
  for (const [format, level] of bench.quick ? [['gzip', 6]] : [['gzip', 1], ['gzip', 6], ['brotli', 4], ['zstd', 3]]) {
    const node = nodeZlib(format, level);
    const group = `${format} level ${level} stream, ${largeLabel} in 64 KiB chunks`;
    const rows = [['offloop createCompressStream()', () => createCompressStream(format, { level })]];
    if (node) rows.push(['node:zlib stream (libuv pool)', node.stream]);
    for (const [impl, make] of rows) {
      const bytes = await streamed(large, make());
      await bench.run({ group, task: `${format} stream`, impl, params: `level ${level}, → ${size(bytes)}`, bytesPerOp: large.length, op: () => streamed(large, make()) });
    }
  }

  await perCore(bench, large, largeLabel);

  // What a server does: many ~100 KB responses at once.
  const inFlight = 8;
  for (const [format, level] of [['gzip', 6], ['brotli', 4]]) {
    const node = nodeZlib(format, level);
    const group = `${format} level ${level} of 100 KB responses, ${inFlight} in flight`;
    for (const [impl, op, output] of [
      ['offloop compress()', () => offloop.compress(format, response, { level }), offloop.compressSync(format, response, { level })],
      ['node:zlib async (libuv pool)', () => node.async(response, node.options), node.sync(response)],
      ['node:zlib sync (JS thread)', () => node.sync(response), node.sync(response)],
    ]) {
      await bench.run({ group, task: `${format} responses`, impl, params: `level ${level}, ${size(response.length)} → ${size(output.length)}`, bytesPerOp: response.length, inFlight, op });
    }
  }
}

/**
 * gzip per core, robust to a shared machine: offloop's compressSync() and node:zlib's gzipSync()
 * alternate call by call on the JS thread, and each call is charged the process CPU time it took
 * (process.cpuUsage(), user + system), not wall time, so other processes on the cores barely move
 * it. MB/s here is MB per CPU-second: one core's throughput.
 */
async function perCore(bench, data, label) {
  const rounds = bench.quick ? 3 : 15;
  const summary = [];
  for (const level of bench.quick ? [6] : [1, 6, 9]) {
    const node = nodeZlib('gzip', level);
    const contenders = [
      ['offloop compressSync()', () => offloop.compressSync('gzip', data, { level })],
      ['node:zlib gzipSync()', () => node.sync(data)],
    ].map(([impl, op]) => ({ impl, op, cpuMs: [], bytes: op().length }));
    for (let i = 0; i < rounds; i++) {
      // Alternate who goes first, so neither always runs on a warmer cache.
      for (const c of i % 2 ? [...contenders].reverse() : contenders) {
        const before = process.cpuUsage();
        c.op();
        const used = process.cpuUsage(before);
        c.cpuMs.push((used.user + used.system) / 1000);
      }
    }
    const group = `gzip level ${level} per core (CPU time, calls interleaved), ${label}`;
    for (const c of contenders) {
      c.cpuMs.sort((a, b) => a - b);
      const median = c.cpuMs[c.cpuMs.length >> 1];
      const row = bench.record({
        group,
        task: 'gzip per core',
        impl: c.impl,
        params: `level ${level}, ${label} → ${size(c.bytes)}, median of ${rounds} calls`,
        inFlight: 1,
        opsPerSec: 1000 / median,
        mbPerSec: data.length / MiB / (median / 1000),
        p50Ms: median,
        p99Ms: c.cpuMs[c.cpuMs.length - 1],
      });
      bench.log(`  compression | ${group} | ${c.impl}: ${row.mbPerSec.toFixed(1)} MB per CPU-second, ${c.bytes} bytes`);
    }
    const [ours, theirs] = contenders.map((c) => ({ mbs: data.length / MiB / (c.cpuMs[c.cpuMs.length >> 1] / 1000), bytes: c.bytes }));
    summary.push(`level ${level}: ${(ours.mbs / theirs.mbs).toFixed(2)}x node:zlib's MB per CPU-second at ${((ours.bytes / theirs.bytes) * 100).toFixed(1)}% of its output size`);
  }
  bench.note(
    `gzip per core (the issue's goal: at least node:zlib's throughput per core at the same output size), from the interleaved CPU-time rows: ${summary.join('; ')}. ` +
      'Per-core rows count process CPU time (user + system) per call, calls of the two alternating, median of the rounds; "p99" is the slowest call.',
  );
}
