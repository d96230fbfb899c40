// Compute kernels against the JS way and native peers: exact vector search (against the machine's
// memory read bandwidth, measured in the same run), sort, argsort, describe and histogram.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const offloop = require('../../index.js');

/** Peers that may be missing (a failed native build): the section runs without them and says so. */
function optional(name) {
  try {
    return require(name);
  } catch (error) {
    return { missing: `${name} could not be loaded (${error.message.split('\n')[0]})` };
  }
}
const hnswlib = optional('hnswlib-node');
const usearch = optional('usearch');

// A seeded PRNG (mulberry32): every run measures the same data.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GB = 1e9;
const gbPerSec = (row) => (row.mbPerSec * 2 ** 20) / GB;

/**
 * The machine's memory read bandwidth, Rust-free: one worker thread per core compares two buffers
 * far larger than the caches with `Buffer.equals` (glibc's SIMD memcmp), reading both in full.
 */
async function bandwidthRow(bench) {
  const threads = availableParallelism();
  const bytes = 128 << 20; // per buffer; two per thread
  const reps = 4;
  const workers = [];
  // One request per worker at a time; each worker answers every request with one message.
  const run = () =>
    Promise.all(
      workers.map(({ worker, replies }) => {
        const reply = new Promise((resolve) => replies.push(resolve));
        worker.postMessage(reps);
        return reply;
      }),
    );
  return bench.run({
    group: 'memory read bandwidth',
    task: 'memory read',
    impl: `Buffer.equals (memcmp), ${threads} worker threads`,
    params: `2 x ${bytes >> 20} MiB per thread, read ${reps}x`,
    bytesPerOp: threads * 2 * bytes * reps,
    durationMs: bench.quick ? 400 : 2000,
    setup: async () => {
      for (let i = 0; i < threads; i++) {
        const w = new Worker(
          `const { parentPort } = require('node:worker_threads');
           const a = Buffer.alloc(${bytes}, 7), b = Buffer.alloc(${bytes}, 7);
           parentPort.on('message', (reps) => { let same = true; for (let i = 0; i < reps; i++) same = a.equals(b) && same; parentPort.postMessage(same); });`,
          { eval: true },
        );
        const replies = [];
        w.on('message', () => replies.shift()());
        w.on('error', (error) => {
          throw error;
        });
        workers.push({ worker: w, replies });
      }
      await run();
    },
    op: run,
    teardown: () => Promise.all(workers.map(({ worker }) => worker.terminate())),
  });
}

/** The k best of `scores` by a plain loop: what a JS user writes. */
function jsTopK(matrix, dim, query, k) {
  const ids = [];
  const best = [];
  for (let row = 0, offset = 0; offset < matrix.length; row++, offset += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += matrix[offset + j] * query[j];
    if (best.length < k || s > best[best.length - 1]) {
      let i = best.length < k ? best.length : k - 1;
      while (i > 0 && best[i - 1] < s) {
        best[i] = best[i - 1];
        ids[i] = ids[i - 1];
        i--;
      }
      best[i] = s;
      ids[i] = row;
    }
  }
  return ids;
}

async function vectorSearch(bench, bandwidth) {
  const rows = bench.quick ? 10_000 : 100_000;
  const dim = 384;
  const k = 10;
  const random = rng(42);
  // Unit-length rows, as embeddings usually are: cosine is then a dot product for every peer.
  const matrix = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (matrix[r * dim + j] = random() * 2 - 1) ** 2;
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) matrix[r * dim + j] /= norm;
  }
  const queryCount = bench.quick ? 8 : 100;
  const queries = Float32Array.from({ length: queryCount * dim }, () => random() * 2 - 1);
  const query = queries.subarray(0, dim);
  const bytes = matrix.byteLength;
  const params = `${rows / 1000}k x ${dim} f32, cosine, k=${k}`;

  const index = new offloop.VectorIndex(dim, { metric: 'cosine' });
  index.add(matrix);
  let hnsw;
  if (!hnswlib.missing) {
    hnsw = new hnswlib.BruteforceSearch('cosine', dim);
    hnsw.initIndex(rows);
    for (let r = 0; r < rows; r++) hnsw.addPoint(Array.from(matrix.subarray(r * dim, (r + 1) * dim)), r);
  }
  const queryArray = Array.from(query);

  // Every implementation must find the same nearest row before its speed means anything.
  const expected = jsTopK(matrix, dim, query, k)[0];
  const found = {
    'offloop VectorIndex.search()': (await index.search(query, k)).ids[0],
    'offloop topK()': (await offloop.topK(matrix, dim, query, k)).ids[0],
    ...(hnsw && { 'hnswlib-node BruteforceSearch': hnsw.searchKnn(queryArray, k).neighbors[0] }),
    ...(!usearch.missing && { 'usearch exactSearch': Number(usearch.exactSearch(matrix, query, dim, k, 'cos').keys[0]) }),
  };
  for (const [impl, id] of Object.entries(found)) {
    if (id !== expected) bench.note(`WARNING: ${impl} found row ${id} nearest, the JS loop row ${expected}.`);
  }

  const group = `vector search ${rows / 1000}k x ${dim} f32, 1 query`;
  const single = [
    ['offloop VectorIndex.search()', () => index.search(query, k)],
    ['offloop topK() (rows in a JS Float32Array)', () => offloop.topK(matrix, dim, query, k)],
    ['plain JS loop (dot product + top-k)', () => jsTopK(matrix, dim, query, k)],
    hnsw && ['hnswlib-node BruteforceSearch.searchKnn (sync)', () => hnsw.searchKnn(queryArray, k)],
    !usearch.missing && ['usearch exactSearch (sync, all cores)', () => usearch.exactSearch(matrix, query, dim, k, 'cos')],
  ].filter(Boolean);
  const results = {};
  for (const [impl, op] of single) {
    results[impl] = await bench.run({ group, task: 'vector search', impl, params, bytesPerOp: bytes, op });
  }
  const ours = results['offloop VectorIndex.search()'];
  const js = results['plain JS loop (dot product + top-k)'];
  bench.note(
    `Vector search scans ${(bytes / 2 ** 20).toFixed(0)} MiB of f32 rows per query. offloop VectorIndex.search(): ${gbPerSec(ours).toFixed(1)} GB/s, ` +
      `${((gbPerSec(ours) / gbPerSec(bandwidth)) * 100).toFixed(0)}% of the memory read bandwidth measured in this run ` +
      `(${gbPerSec(bandwidth).toFixed(1)} GB/s, memcmp on every core), ${(ours.opsPerSec / js.opsPerSec).toFixed(1)}x the plain JS loop ` +
      `(targets: >= 60% and >= 8x). Rows are unit length, so every implementation computes dot products.`,
  );

  const batchGroup = `vector search ${rows / 1000}k x ${dim} f32, batch of ${queryCount} queries`;
  const batch = [
    ['offloop VectorIndex.searchBatch()', () => index.searchBatch(queries, k)],
    hnsw && [
      'hnswlib-node BruteforceSearch.searchKnn x queries (sync)',
      () => {
        for (let q = 0; q < queryCount; q++) hnsw.searchKnn(Array.from(queries.subarray(q * dim, (q + 1) * dim)), k);
      },
    ],
    !usearch.missing && ['usearch exactSearch batch (sync, all cores)', () => usearch.exactSearch(matrix, queries, dim, k, 'cos')],
  ].filter(Boolean);
  for (const [impl, op] of batch) {
    await bench.run({ group: batchGroup, task: 'vector search batch', impl, params, bytesPerOp: bytes, op });
  }
  for (const peer of [hnswlib, usearch]) if (peer.missing) bench.note(`Left out: ${peer.missing}.`);
}

/** Indices sorted by value (stable), as a JS user would argsort. */
function jsArgsort(data) {
  const order = Array.from(data.keys());
  order.sort((i, j) => data[i] - data[j]);
  return order;
}

/** describe() the JS way: a sorted copy for the percentiles, loops for the moments. */
function jsDescribe(data, percentiles) {
  const sorted = data.slice().sort();
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (sorted[i] - mean) ** 2;
  const at = (p) => {
    const v = (n - 1) * (p / 100);
    const lo = Math.floor(v);
    const hi = Math.min(lo + 1, n - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (v - lo);
  };
  return { count: n, sum, mean, variance: squares / n, min: sorted[0], max: sorted[n - 1], percentiles: percentiles.map(at) };
}

function jsHistogram(data, bins) {
  let min = Infinity;
  let max = -Infinity;
  for (const x of data) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const counts = new Uint32Array(bins);
  const scale = bins / (max - min);
  for (const x of data) counts[Math.min(bins - 1, Math.floor((x - min) * scale))]++;
  return counts;
}

async function statistics(bench) {
  const n = bench.quick ? 1_000_000 : 10_000_000;
  const random = rng(7);
  // Latency-like data: log-normal, with repeats.
  const data = Float64Array.from({ length: n }, () => Math.round(Math.exp(random() * 4 + random() * 4) * 100) / 100);
  const size = `${n / 1e6}M float64`;
  const bytes = data.byteLength;

  const sortGroup = `sort ${size}`;
  // A reused result array: no new 80 MB array per call, so no full GC of V8's for it.
  const sortedInto = new Float64Array(n);
  for (const [impl, params, op] of [
    ['offloop sort()', 'ascending, new array', () => offloop.sort(data)],
    ['offloop sort({ into })', 'ascending, into a reused array', () => offloop.sort(data, { into: sortedInto })],
    ['Float64Array.prototype.sort (a copy)', 'ascending, new array', () => data.slice().sort()],
    ['Float64Array.prototype.sort (a reused copy)', 'ascending, into a reused array', () => {
      sortedInto.set(data);
      return sortedInto.sort();
    }],
  ]) {
    const row = await bench.run({ group: sortGroup, task: 'sort', impl, params, bytesPerOp: bytes, op, minOps: 3 });
    if (impl === 'offloop sort()') await allocationFloorRow(bench, sortGroup, n, row.p50Ms);
  }

  const small = data.subarray(0, n / 10);
  const argsortGroup = `argsort ${n / 1e7}M float64`;
  const orderInto = new Uint32Array(small.length);
  for (const [impl, op] of [
    ['offloop argsort()', () => offloop.argsort(small)],
    ['offloop argsort({ into })', () => offloop.argsort(small, { into: orderInto })],
    ['Array of indices .sort((i, j) => a[i] - a[j])', () => jsArgsort(small)],
  ]) {
    await bench.run({ group: argsortGroup, task: 'argsort', impl, params: 'ascending, stable', bytesPerOp: small.byteLength, op, minOps: 3 });
  }

  const percentiles = [50, 90, 99];
  const describeGroup = `describe ${size}, 3 percentiles`;
  for (const [impl, op] of [
    ['offloop describe()', () => offloop.describe(data, { percentiles })],
    ['JS: sorted copy + loops', () => jsDescribe(data, percentiles)],
  ]) {
    await bench.run({ group: describeGroup, task: 'describe', impl, params: 'count, sum, mean, variance, min, max, p50/p90/p99', bytesPerOp: bytes, op, minOps: 3 });
  }

  const histogramGroup = `histogram ${size}, 100 bins`;
  for (const [impl, op] of [
    ['offloop histogram()', () => offloop.histogram(data, { bins: 100 })],
    ['JS: min/max loop + counting loop', () => jsHistogram(data, 100)],
  ]) {
    await bench.run({ group: histogramGroup, task: 'histogram', impl, params: 'equal-width bins over [min, max]', bytesPerOp: bytes, op, minOps: 3 });
  }
  bench.note(
    'sort, argsort, describe and histogram run on the pool (all cores) and keep the event loop free; the JS rows block it for their whole duration. ' +
      'describe finds percentiles by selection on a copy (no full sort); targets: sort and describe >= 3x the JS way.',
  );
}

/**
 * What one new result array costs the loop by itself, with no sort: V8 starts a full GC for every
 * 64 MB of new ArrayBuffer memory, so plain JS allocating an array of the size sort() returns, as
 * often as sort() returns one, stalls the loop as well. The floor of any call that returns a new
 * array this large.
 */
function allocationFloorRow(bench, group, n, periodMs) {
  let held;
  return bench.run({
    group,
    task: 'sort',
    impl: `new Float64Array(${n / 1e6}M) alone`,
    params: `one new array every ${Math.round(periodMs)} ms (as often as sort() returns one), no sort`,
    reference: true,
    minOps: 3,
    op: async () => {
      held = new Float64Array(n);
      await new Promise((resolve) => setTimeout(resolve, periodMs));
      return held;
    },
  });
}

/**
 * The loop's stall with no work at all: the machine's own floor under every "loop delay" of the
 * run. On a VM it is not zero: a vCPU that halts while the loop sleeps can wake late.
 */
function noiseFloorRow(bench) {
  bench.note("Noise floor: the loop delay of an idle event loop in this run; every other row's loop delay includes it.");
  return bench.run({
    group: 'event loop with no work (noise floor)',
    task: 'noise floor',
    impl: 'a 50 ms timer, nothing else',
    params: 'no offloop call',
    reference: true,
    durationMs: bench.quick ? 400 : 3000,
    op: () => new Promise((resolve) => setTimeout(resolve, 50)),
  });
}

export default async function kernelsSection(bench) {
  await noiseFloorRow(bench);
  const bandwidth = await bandwidthRow(bench);
  await vectorSearch(bench, bandwidth);
  await statistics(bench);
}
