// Compute kernels: property tests against JS reference implementations on random data (sizes 0, 1,
// odd, large; NaN, ±0, ±Infinity; every TypedArray type), and bad input with codes.
import { test, describe as group } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

import { runChild, childJson, loadHooks, root } from './helpers.mjs'

const { VectorIndex, topK, describe, histogram, sort, argsort, poolStats } = createRequire(import.meta.url)('../index.js')

// A seeded PRNG (mulberry32), so a failure can be replayed.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const FLOAT_TYPES = [Float64Array, Float32Array]
const INT_TYPES = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array]
const BIGINT_TYPES = [BigInt64Array, BigUint64Array]
const ALL_TYPES = [...FLOAT_TYPES, ...INT_TYPES, ...BIGINT_TYPES]
const SIZES = [0, 1, 2, 17, 1001, 300_007] // the largest makes results over 1 MiB (freed off the JS thread)
const SPECIAL = [NaN, -0, 0, Infinity, -Infinity]

/** Random values of `Type`, with duplicates and, for floats, the special values sprinkled in. */
function randomArray(Type, n, random, { special = true } = {}) {
  const a = new Type(n)
  for (let i = 0; i < n; i++) {
    if (Type === BigInt64Array) a[i] = BigInt.asIntN(64, BigInt(Math.floor(random() * 2 ** 32)) << BigInt(Math.floor(random() * 33)))
    else if (Type === BigUint64Array) a[i] = BigInt.asUintN(64, BigInt(Math.floor(random() * 2 ** 32)) << BigInt(Math.floor(random() * 33)))
    else if (FLOAT_TYPES.includes(Type)) {
      const r = random()
      a[i] = special && r < 0.05 ? SPECIAL[Math.floor(random() * SPECIAL.length)] : r < 0.2 ? Math.round(random() * 8) - 4 : (random() - 0.5) * 10 ** Math.floor(random() * 8)
    } else a[i] = Math.floor(random() * (Type === Uint8ClampedArray ? 256 : 2 ** 32))
  }
  if (n > 2 && FLOAT_TYPES.includes(Type) && special) a.set([NaN, -0, 0], 0)
  return a
}

const same = (a, b) => Object.is(a, b) || (typeof a === 'bigint' && a === b)
function assertSameElements(actual, expected, message) {
  assert.equal(actual.constructor, expected.constructor, message)
  assert.equal(actual.length, expected.length, message)
  for (let i = 0; i < expected.length; i++) {
    if (!same(actual[i], expected[i])) assert.fail(`${message}: [${i}] is ${actual[i]}, expected ${expected[i]}`)
  }
}

/** `TypedArray.prototype.sort`'s comparator, reversed for numbers when descending; NaN always last. */
function compare(descending) {
  return (x, y) => {
    const xn = x !== x, yn = y !== y
    if (xn || yn) return xn - yn
    const c = x < y ? -1 : x > y ? 1 : Object.is(x, -0) && Object.is(y, 0) ? -1 : Object.is(x, 0) && Object.is(y, -0) ? 1 : 0
    return descending ? -c : c
  }
}

async function rejects(promise, Class, code, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Class, `expected ${Class.name}, got ${e}`)
    assert.equal(e.code, code)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

function throws(fn, Class, code, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Class, `expected ${Class.name}, got ${e}`)
    assert.equal(e.code, code)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

group('sort and argsort', () => {
  for (const Type of ALL_TYPES) {
    test(`${Type.name}: same order as TypedArray.prototype.sort, input untouched`, async () => {
      const random = rng(ALL_TYPES.indexOf(Type) + 1)
      for (const n of SIZES) {
        const data = randomArray(Type, n, random)
        const before = data.slice()
        const sorted = await sort(data)
        assertSameElements(sorted, data.slice().sort(), `${Type.name} n=${n}`)
        assertSameElements(data, before, 'input modified')
        const descending = await sort(data, { descending: true })
        assertSameElements(descending, Type.from(Array.from(data).sort(compare(true))), `${Type.name} n=${n} descending`)
        // into: the same order in the caller's array (small ones too: never a copy), input untouched;
        // into the input itself: sorted in place.
        const into = new Type(n)
        assert.equal(await sort(data, { into }), into)
        assertSameElements(into, sorted, `${Type.name} n=${n} into`)
        assertSameElements(data, before, 'input modified by into')
        const order = await argsort(before)
        assertSameElements(await argsort(before, { into: new Uint32Array(n) }), order, `${Type.name} n=${n} argsort into`)
        assert.equal(await sort(data, { into: data, descending: true }), data)
        assertSameElements(data, descending, `${Type.name} n=${n} in place`)
      }
    })

    test(`${Type.name}: argsort is the stable order of indices`, async () => {
      const random = rng(100 + ALL_TYPES.indexOf(Type))
      for (const n of SIZES.slice(0, 5)) {
        const data = randomArray(Type, n, random)
        for (const descending of [false, true]) {
          const cmp = compare(descending)
          const expected = Uint32Array.from(Array.from(data.keys()).sort((i, j) => cmp(data[i], data[j])))
          assertSameElements(await argsort(data, { descending }), expected, `${Type.name} n=${n} descending=${descending}`)
          const into = new Uint32Array(n).fill(7)
          assert.equal(await argsort(data, { descending, into }), into)
          assertSameElements(into, expected, `${Type.name} n=${n} descending=${descending} into`)
        }
      }
    })
  }

  test('an aborted sort into an array rejects only once nothing writes to it any more', async () => {
    const data = randomArray(Float64Array, 2_000_000, rng(7), { special: false })
    const calls = [
      ['sort', (into, signal) => sort(data, { into, signal }), new Float64Array(data.length)],
      ['sort in place', (into, signal) => sort(into, { into, signal }), data.slice()],
      ['argsort', (into, signal) => argsort(data, { into, signal }), new Uint32Array(data.length)],
    ]
    for (const [name, call, into] of calls) {
      const initial = into.slice()
      // Aborted before the call: rejected, the array untouched.
      await assert.rejects(call(into, AbortSignal.abort()), { name: 'AbortError' }, name)
      assertSameElements(into, initial, `${name}: written by a call aborted before it began`)
      // Aborted while the sort runs (it cannot stop midway): the rejection waits for it, and what
      // the array holds then is what it keeps.
      const controller = new AbortController()
      const reason = new Error('stop')
      const pending = call(into, controller.signal)
      setTimeout(() => controller.abort(reason), 5)
      await assert.rejects(pending, (e) => e.name === 'AbortError' && e.cause === reason, name)
      const atRejection = into.slice()
      while (poolStats().running > 0 || poolStats().queued > 0) await new Promise((r) => setTimeout(r, 10))
      assertSameElements(into, atRejection, `${name}: written after the promise rejected`)
      // Nothing left running on it: the array can be used at once.
      assert.equal(await call(into), into)
    }
  })

  test('sort of a subarray view sorts only the view', async () => {
    const base = new Float64Array([9, 3, 2, 1, -1])
    assertSameElements(await sort(base.subarray(1, 4)), new Float64Array([1, 2, 3]), 'view')
  })

  test('large results are freed once JS drops them (off the JS thread)', async () => {
    const r = await runChild(
      `const o = (await import('node:module')).createRequire(${JSON.stringify(root + '/')})('./index.js');
      const data = new Float64Array(2_000_000).map(() => Math.random());
      // Results are freed by finalizers, then on a pool thread: wait until RSS stops falling.
      const rss = async () => {
        let last = Infinity;
        for (let i = 0; i < 40; i++) {
          gc();
          await new Promise((r) => setTimeout(r, 50));
          const now = process.memoryUsage.rss();
          if (i >= 3 && now > last - 2 ** 20) return now;
          last = now;
        }
        return last;
      };
      for (let i = 0; i < 5; i++) await o.sort(data);
      const before = await rss();
      for (let i = 0; i < 20; i++) { await o.sort(data); await o.argsort(data); }
      console.log(JSON.stringify({ before, after: await rss() }));`,
      // A fixed mmap threshold makes glibc hand every freed block of 1 MiB or more back to the OS:
      // its default, adaptive one keeps freed 16 MB blocks in its heap for reuse, so RSS would
      // measure the allocator's cache (0-130 MiB here, run to run) and not whether results are freed.
      { args: ['--expose-gc'], env: { MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576' } },
    )
    const { before, after } = childJson(r)
    // 20 rounds of 16 + 8 MB results: about 480 MB if they leaked (456 MiB measured with every
    // result kept); about 0 when they are freed, so two rounds' worth is the bound.
    assert.ok(after - before < 48 * 2 ** 20, `RSS grew ${((after - before) / 2 ** 20).toFixed(0)} MiB`)
  })

  test('bad input', async () => {
    await rejects(sort([3, 1, 2]), TypeError, 'ERR_INVALID_ARG_TYPE', /Received an instance of Array/)
    await rejects(sort(new DataView(new ArrayBuffer(8))), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(argsort('abc'), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(sort(new Float64Array(2), { descending: 'yes' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(sort(new Float64Array(2), 5), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(sort(new Float64Array(2), { into: new Float32Array(2) }), TypeError, 'ERR_INVALID_ARG_TYPE', /options\.into.*Float64Array/)
    await rejects(sort(new Float64Array(2), { into: [0, 0] }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(sort(new Float64Array(2), { into: new Float64Array(3) }), TypeError, 'ERR_INVALID_ARG_VALUE', /as many elements as data \(2\)/)
    await rejects(argsort(new Float64Array(2), { into: new Int32Array(2) }), TypeError, 'ERR_INVALID_ARG_TYPE', /Uint32Array/)
    await rejects(argsort(new Int8Array(4), { into: new Uint32Array(2) }), TypeError, 'ERR_INVALID_ARG_VALUE')
    const aborted = AbortSignal.abort()
    await assert.rejects(sort(new Float64Array(2), { signal: aborted }), { name: 'AbortError' })
  })
})

/** numpy's 'linear' percentile of sorted values, as documented for describe(). */
function percentileOfSorted(sorted, p) {
  const n = sorted.length
  const v = (n - 1) * (p / 100)
  const lo = Math.min(Math.floor(v), n - 1)
  const hi = Math.min(lo + 1, n - 1)
  const t = v - lo
  const a = sorted[lo], b = sorted[hi]
  if (t === 0 || a === b) return a
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.isFinite(a) ? b : Number.isFinite(b) ? a : NaN
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t
}

/** describe() the way a JS user would: sort a copy, loop for the sums. */
function describeReference(data, percentiles) {
  const values = Array.from(data, Number).filter((x) => x === x)
  const n = values.length
  const sum = values.reduce((s, x) => s + x, 0)
  const mean = sum / n
  const variance = values.reduce((s, x) => s + (x - mean) ** 2, 0) / n
  const sorted = Float64Array.from(values).sort()
  return {
    count: n,
    sum,
    mean,
    variance,
    min: sorted[0],
    max: sorted[n - 1],
    percentiles: percentiles.map((p) => percentileOfSorted(sorted, p)),
    magnitude: values.reduce((s, x) => s + Math.abs(x), 0),
  }
}

function assertClose(actual, expected, tolerance, message) {
  if (Number.isNaN(expected)) return assert.ok(Number.isNaN(actual), `${message}: ${actual} is not NaN`)
  if (!Number.isFinite(expected)) return assert.equal(actual, expected, message)
  assert.ok(Math.abs(actual - expected) <= tolerance, `${message}: ${actual} vs ${expected} (tolerance ${tolerance})`)
}

group('describe', () => {
  const PERCENTILES = [0, 1, 25, 33.3, 50, 90, 99.9, 100]
  for (const Type of ALL_TYPES) {
    test(`${Type.name}: matches a JS reference`, async () => {
      const random = rng(200 + ALL_TYPES.indexOf(Type))
      for (const n of SIZES.slice(1)) {
        const data = randomArray(Type, n, random, { special: false })
        const d = await describe(data, { percentiles: PERCENTILES })
        const r = describeReference(data, PERCENTILES)
        const eps = 1e-12 * r.magnitude + 1e-300
        assert.equal(d.count, r.count)
        assertClose(d.sum, r.sum, eps, 'sum')
        assertClose(d.mean, r.mean, eps / n, 'mean')
        assertClose(d.variance, r.variance, 1e-9 * Math.max(r.variance, 1e-300) + 1e-12 * r.mean ** 2, 'variance')
        assertClose(d.stddev, Math.sqrt(d.variance), 0, 'stddev')
        assert.equal(d.min, r.min)
        assert.equal(d.max, r.max)
        assert.deepEqual(d.percentiles, r.percentiles, `${Type.name} n=${n}`)
      }
    })
  }

  test('defaults to the quartiles; [] computes none', async () => {
    const data = Float64Array.from({ length: 101 }, (_, i) => 100 - i)
    assert.deepEqual((await describe(data)).percentiles, [25, 50, 75])
    assert.deepEqual((await describe(data, { percentiles: [] })).percentiles, [])
  })

  test('known answers (numpy)', async () => {
    const d = await describe(new Float64Array([2, 4, 4, 4, 5, 5, 7, 9]), { percentiles: [0, 25, 50, 100] })
    assert.deepEqual(d, { count: 8, sum: 40, mean: 5, variance: 4, stddev: 2, min: 2, max: 9, percentiles: [2, 4, 4.5, 9] })
  })

  test('precision: compensated sums and a large offset', async () => {
    const data = new Float64Array(100_002).fill(1)
    data[0] = 1e16
    data[100_001] = -1e16
    assert.equal((await describe(data, { percentiles: [] })).sum, 100_000)
    const shifted = Float64Array.from({ length: 40_000 }, (_, i) => 1e9 + (i % 4))
    assert.equal((await describe(shifted, { percentiles: [] })).variance, 1.25)
  })

  test('NaN: a RangeError naming the index, or left out with skipNaN', async () => {
    const data = Float64Array.from({ length: 50_000 }, (_, i) => i)
    data[31_337] = NaN
    data[40_000] = NaN
    await rejects(describe(data), RangeError, 'ERR_OUT_OF_RANGE', /"data\[31337\]".*NaN/)
    const d = await describe(data, { skipNaN: true, percentiles: [50] })
    const r = describeReference(data, [50])
    assert.equal(d.count, 49_998)
    assert.equal(d.sum, r.sum)
    assert.deepEqual(d.percentiles, r.percentiles)
    await rejects(describe(new Float32Array([NaN, NaN]), { skipNaN: true }), RangeError, 'ERR_OUT_OF_RANGE', /all 2 values are NaN/)
  })

  test('infinities follow IEEE arithmetic', async () => {
    const d = await describe(new Float64Array([1, Infinity]), { percentiles: [0, 50, 100] })
    assert.equal(d.sum, Infinity)
    assert.ok(Number.isNaN(d.variance))
    assert.deepEqual(d.percentiles, [1, Infinity, Infinity])
    assert.ok(Number.isNaN((await describe(new Float64Array([-Infinity, Infinity]))).sum))
    const z = await describe(new Float64Array([-0, 0]), { percentiles: [] })
    assert.equal(z.sum, 0)
  })

  test('bad input', async () => {
    await rejects(describe(new Float64Array(0)), RangeError, 'ERR_OUT_OF_RANGE', /data\.length/)
    await rejects(describe([1, 2, 3]), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(describe(new Float64Array(3), { percentiles: [50, 101] }), RangeError, 'ERR_OUT_OF_RANGE', /percentiles\[1\]/)
    await rejects(describe(new Float64Array(3), { percentiles: [NaN] }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejects(describe(new Float64Array(3), { percentiles: ['50'] }), TypeError, 'ERR_INVALID_ARG_TYPE', /percentiles\[0\]/)
    await rejects(describe(new Float64Array(3), { percentiles: 50 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(describe(new Float64Array(3), { skipNaN: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE')
  })
})

/** numpy.histogram, written out: linspace edges, [e[i], e[i+1]) with the last bin closed. */
function histogramReference(data, { bins = 10, min, max } = {}) {
  const values = Array.from(data, Number).filter((x) => x === x)
  let edges
  if (Array.isArray(bins)) edges = bins
  else {
    let first = min ?? (values.length ? values.reduce((a, b) => Math.min(a, b)) : 0)
    let last = max ?? (values.length ? values.reduce((a, b) => Math.max(a, b)) : 1)
    if (first === last) [first, last] = [first - 0.5, last + 0.5]
    // A range wider than the largest double: numpy's arithmetic as if the exponent had no limit,
    // done at 2^-10 scale (exact for numbers this large) and scaled back.
    const scale = Number.isFinite(last - first) ? 1 : 2 ** -10
    const [a, b] = [first * scale, last * scale]
    const step = (b - a) / bins
    edges = Array.from({ length: bins + 1 }, (_, i) => (step === 0 ? (i / bins) * (b - a) + a : i * step + a) / scale)
    edges[bins] = last
  }
  const counts = new Uint32Array(edges.length - 1)
  const n = counts.length
  for (const x of values) {
    if (x < edges[0] || x > edges[n]) continue
    let lo = 0, hi = edges.length // first edge > x
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (edges[mid] <= x) lo = mid + 1
      else hi = mid
    }
    counts[Math.min(lo - 1, n - 1)]++
  }
  return { edges: Float64Array.from(edges), counts }
}

group('histogram', () => {
  for (const Type of [...FLOAT_TYPES, Int16Array, Uint32Array, BigInt64Array]) {
    test(`${Type.name}: matches numpy's semantics`, async () => {
      const random = rng(300 + ALL_TYPES.indexOf(Type))
      for (const n of SIZES) {
        const data = randomArray(Type, n, random, { special: false })
        for (const options of [{ bins: 1 }, { bins: 7 }, {}, { bins: 13, min: -2, max: 3.5 }, { bins: [-5, -1, 0, 0, 2.5, 1e6] }]) {
          const h = await histogram(data, options)
          const r = histogramReference(data, options)
          assertSameElements(h.edges, r.edges, `edges ${Type.name} n=${n} ${JSON.stringify(options)}`)
          assertSameElements(h.counts, r.counts, `counts ${Type.name} n=${n} ${JSON.stringify(options)}`)
        }
      }
    })
  }

  test('values on every edge, constant data, empty data', async () => {
    const data = Float64Array.from({ length: 1001 }, (_, i) => i / 10)
    const h = await histogram(data, { bins: 7, min: 0, max: 100 })
    assertSameElements(h.counts, histogramReference(data, { bins: 7, min: 0, max: 100 }).counts, 'edges')
    assert.equal(h.counts.reduce((s, c) => s + c, 0), 1001)
    assert.deepEqual(await histogram(new Float64Array([3, 3]), { bins: 2 }), { edges: new Float64Array([2.5, 3, 3.5]), counts: new Uint32Array([0, 2]) })
    assert.deepEqual(await histogram(new Float64Array(0), { bins: 2 }), { edges: new Float64Array([0, 0.5, 1]), counts: new Uint32Array([0, 0]) })
  })

  test('a range wider than the largest double: finite edges, every value counted', async () => {
    const expected = { edges: new Float64Array([-1e308, -5e307, 0, 5e307, 1e308]), counts: new Uint32Array([1, 0, 0, 1]) }
    const data = new Float64Array([-1e308, 1e308])
    assert.deepEqual(await histogram(data, { bins: 4 }), expected)
    assert.deepEqual(await histogram(data, { bins: 4, min: -1e308, max: 1e308 }), expected)
    const random = rng(350)
    const max = Number.MAX_VALUE
    const wide = Float64Array.from({ length: 10_001 }, () => (random() * 2 - 1) * max)
    wide.set([-max, max, 0, -1e-300, 5e307], 0)
    for (const options of [{ bins: 1 }, { bins: 4 }, { bins: 7 }, { bins: 4, min: -1.5e308, max: 1.7e308 }, { bins: 1000, min: -1e308 }]) {
      const h = await histogram(wide, options)
      const r = histogramReference(wide, options)
      assertSameElements(h.edges, r.edges, `edges ${JSON.stringify(options)}`)
      assertSameElements(h.counts, r.counts, `counts ${JSON.stringify(options)}`)
    }
  })

  test('NaN and infinities', async () => {
    await rejects(histogram(new Float64Array([1, NaN])), RangeError, 'ERR_OUT_OF_RANGE', /data\[1\]/)
    await rejects(histogram(new Float64Array([1, NaN]), { min: 0, max: 2 }), RangeError, 'ERR_OUT_OF_RANGE', /data\[1\]/)
    assert.deepEqual((await histogram(new Float64Array([1, NaN, 2]), { bins: 2, skipNaN: true })).counts, new Uint32Array([1, 1]))
    await rejects(histogram(new Float64Array([1, Infinity])), RangeError, 'ERR_OUT_OF_RANGE', /not finite/)
    const h = await histogram(new Float64Array([1, Infinity, -Infinity, 2]), { bins: 2, min: 0, max: 2 })
    assert.deepEqual(h.counts, new Uint32Array([0, 2]))
  })

  test('bad input', async () => {
    const data = new Float64Array([1, 2])
    await rejects(histogram(data, { bins: 0 }), RangeError, 'ERR_OUT_OF_RANGE', /options\.bins/)
    await rejects(histogram(data, { bins: 2.5 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejects(histogram(data, { bins: '10' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejects(histogram(data, { bins: [1] }), RangeError, 'ERR_OUT_OF_RANGE', /options\.bins\.length/)
    await rejects(histogram(data, { bins: [0, 2, 1] }), RangeError, 'ERR_OUT_OF_RANGE', /options\.bins\[2\]/)
    await rejects(histogram(data, { bins: [0, NaN] }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejects(histogram(data, { bins: [0, 1], min: 0 }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejects(histogram(data, { min: 3, max: 1 }), RangeError, 'ERR_OUT_OF_RANGE', /options\.min/)
    await rejects(histogram(data, { min: Infinity }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejects(histogram({ length: 2 }), TypeError, 'ERR_INVALID_ARG_TYPE')
  })
})

/** Every row scored in f64; best first, ties by id, NaN last. */
function searchReference(rows, dim, query, k, metric) {
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
  const scored = []
  for (let id = 0; id < rows.length / dim; id++) {
    const row = rows.subarray(id * dim, (id + 1) * dim)
    let score = 0
    for (let j = 0; j < dim; j++) score += metric === 'l2' ? (row[j] - query[j]) ** 2 : row[j] * query[j]
    if (metric === 'cosine') score = norm(row) === 0 || norm(query) === 0 ? 0 : score / norm(row) / norm(query)
    scored.push({ id, score })
  }
  const rank = (s) => (s !== s ? -Infinity : metric === 'l2' ? -s : s)
  scored.sort((a, b) => rank(b.score) - rank(a.score) || a.id - b.id)
  return scored.slice(0, k)
}

function randomVectors(n, dim, random, integers) {
  return Float32Array.from({ length: n * dim }, () => (integers ? Math.round(random() * 6) - 3 : random() * 2 - 1))
}

/** Integer-valued vectors make f32 sums exact: ids and scores must match the reference exactly. */
function assertExact(result, expected) {
  assert.deepEqual(Array.from(result.ids), expected.map((e) => e.id))
  assert.deepEqual(Array.from(result.scores), expected.map((e) => e.score))
}

/** Float vectors: scores within tolerance, and the result is a valid top-k of the reference. */
function assertNear(result, expected, metric) {
  assert.equal(result.ids.length, expected.length)
  const better = metric === 'l2' ? (a, b) => a <= b + 1e-5 : (a, b) => a >= b - 1e-5
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(result.scores[i] - expected[i].score) < 1e-4, `score ${i}: ${result.scores[i]} vs ${expected[i].score}`)
    if (i > 0) assert.ok(better(result.scores[i - 1], result.scores[i]), 'ordered')
  }
}

test('worker_threads terminated while kernels read their memory in place: no crash, many rounds', { timeout: 300_000 }, async () => {
  const r = await runChild(
    `const { Worker } = await import('node:worker_threads');
    const index = ${JSON.stringify(root + '/index.js')};
    const src = \`
      const { parentPort, workerData } = require('node:worker_threads');
      const o = require(workerData.index);
      const data = new Float64Array(1 << 20).map(() => Math.random());
      const matrix = new Float32Array(1 << 20).map(() => Math.random());
      for (let i = 0; i < 4; i++) {
        o.sort(data).catch(() => {});
        o.sort(data, { into: new Float64Array(data.length) }).catch(() => {});
        o.argsort(data.subarray(0, 100), { into: new Uint32Array(100) }).catch(() => {});
        o.describe(data).catch(() => {});
        o.histogram(data).catch(() => {});
        o.topK(matrix, 64, matrix.subarray(0, 64), 5).catch(() => {});
      }
      parentPort.postMessage('busy');\`;
    for (let round = 0; round < 15; round++) {
      const workers = Array.from({ length: 2 }, () => new Worker(src, { eval: true, execArgv: [], workerData: { index } }));
      await Promise.all(workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); })));
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      await Promise.all(workers.map((w) => w.terminate()));
    }
    const o = (await import('node:module')).createRequire(index)(index);
    console.log(JSON.stringify({ sorted: Array.from(await o.sort(new Float64Array([2, 1]))) }));`,
    { timeoutMs: 280_000 },
  )
  assert.deepEqual(childJson(r).sorted, [1, 2])
})

group('VectorIndex and topK', () => {
  for (const metric of ['dot', 'l2', 'cosine']) {
    test(`${metric}: search, searchBatch and topK agree with brute force`, async () => {
      const random = rng(400 + metric.length)
      for (const [n, dim] of [[1, 1], [7, 3], [1000, 16], [3001, 37], [20_000, 64]]) {
        const integers = metric !== 'cosine'
        const rows = randomVectors(n, dim, random, integers)
        const index = new VectorIndex(dim, { metric })
        assert.equal(index.add(rows.subarray(0, Math.floor(n / 3) * dim)), 0)
        assert.equal(index.add(rows.subarray(Math.floor(n / 3) * dim)), Math.floor(n / 3))
        assert.equal(index.size, n)
        const queries = randomVectors(5, dim, random, integers)
        const batch = await index.searchBatch(queries, 10)
        assert.equal(batch.length, 5)
        for (let q = 0; q < 5; q++) {
          const query = queries.subarray(q * dim, (q + 1) * dim)
          const expected = searchReference(rows, dim, query, 10, metric)
          const single = await index.search(query, 10)
          const direct = await topK(rows, dim, query, 10, { metric })
          if (integers) {
            assertExact(single, expected)
            assertExact(direct, expected)
          } else {
            assertNear(single, expected, metric)
            assertNear(direct, expected, metric)
          }
          // A batch scores each pair exactly as a single search does.
          assert.deepEqual(batch[q], single)
        }
      }
    })
  }

  test('k larger than the index returns every row; an empty index returns none', async () => {
    const index = new VectorIndex(2, { metric: 'dot' })
    assert.deepEqual(await index.search(new Float32Array([1, 0]), 3), { ids: new Uint32Array(0), scores: new Float32Array(0) })
    index.add(new Float32Array([1, 0, 0, 1, 1, 0]))
    const r = await index.search(new Float32Array([1, 0]), 4_000_000_000)
    assert.deepEqual(Array.from(r.ids), [0, 2, 1])
    assert.deepEqual(Array.from(r.scores), [1, 1, 0])
    assert.deepEqual(await index.searchBatch(new Float32Array(0), 3), [])
  })

  // Found by a hostile hunt (2026-12-06): each query of a batch kept up to k hits, so a few KB of
  // queries with a huge k asked for queries × rows × 8 bytes (8 GB below) and more for the copies
  // the threads merge: a process killed for memory, or aborted by a failed allocation.
  test('searchBatch refuses a k whose results for every query would outgrow memory', async () => {
    const r = await runChild(`import { createRequire } from 'node:module';
      const { VectorIndex } = createRequire(import.meta.url)(${JSON.stringify(root + '/index.js')});
      const index = new VectorIndex(1, { metric: 'dot' });
      index.add(new Float32Array(1 << 20).fill(1));
      const started = Date.now();
      const refused = await index.searchBatch(new Float32Array(1000).fill(1), 2 ** 32 - 1).then(() => 'resolved', (e) => [e.code, e.message]);
      const ms = Date.now() - started;
      const one = (await index.searchBatch(new Float32Array(1).fill(1), 2 ** 32 - 1))[0].ids.length;
      const all = (await index.search(new Float32Array(1).fill(1), 2 ** 32 - 1)).ids.length;
      const few = (await index.searchBatch(new Float32Array(1000).fill(1), 10)).length;
      console.log(JSON.stringify({ refused, ms, one, all, few }));`, { timeoutMs: 60_000 })
    const out = childJson(r)
    assert.equal(out.refused[0], 'ERR_OUT_OF_RANGE', out.refused)
    assert.match(out.refused[1], /"k"/)
    assert.ok(out.ms < 5000, `took ${out.ms} ms`)
    assert.deepEqual([out.one, out.all, out.few], [1 << 20, 1 << 20, 1000])
  })

  test('getters, clear, cosine normalisation and zero vectors', async () => {
    const index = new VectorIndex(2)
    assert.equal(index.metric, 'cosine')
    assert.equal(index.dim, 2)
    index.add(new Float32Array([3, 4, 0, 0, -1, 0]))
    const r = await index.search(new Float32Array([6, 8]), 3)
    assert.deepEqual(Array.from(r.ids), [0, 1, 2])
    assert.ok(Math.abs(r.scores[0] - 1) < 1e-6 && r.scores[1] === 0)
    index.clear()
    assert.equal(index.size, 0)
    assert.equal(index.add(new Float32Array([1, 1])), 0)
  })

  test('a search never sees rows added after it was called', async () => {
    const index = new VectorIndex(8, { metric: 'dot' })
    index.add(new Float32Array(8 * 50_000).fill(0.5))
    const pending = index.search(new Float32Array(8).fill(1), 5)
    index.add(new Float32Array(8 * 1000).fill(9))
    const r = await pending
    assert.ok(r.ids.every((id) => id < 50_000), `saw new rows: ${r.ids}`)
    assert.ok((await index.search(new Float32Array(8).fill(1), 5)).ids.every((id) => id >= 50_000))
  })

  test('a large add never waits behind queued jobs', async () => {
    // The only pool thread is held by a 20 s job; a large add (16 MB, filled in parallel) must
    // finish while that job still runs, and gives the same rows as small adds.
    const r = await runChild(`${loadHooks}
      h.configure({ threads: 1 });
      const c = new AbortController();
      let slept = false;
      const holding = h.testSleep(20000, { signal: c.signal }).then(() => (slept = true), () => {});
      while (h.poolStats().running === 0) await new Promise((r) => setTimeout(r, 5));
      const rows = Float32Array.from({ length: 64 * 65536 }, (_, i) => Math.sin(i));
      const large = new h.VectorIndex(64);
      large.add(rows);
      const duringAdd = { running: h.poolStats().running, slept };
      const small = new h.VectorIndex(64);
      for (let i = 0; i < rows.length; i += 64 * 4096) small.add(rows.subarray(i, i + 64 * 4096));
      c.abort();
      await holding;
      const query = rows.subarray(64 * 777, 64 * 778);
      const [a, b] = await Promise.all([large.search(query, 5), small.search(query, 5)]);
      console.log(JSON.stringify({ duringAdd, same: a.ids.join() === b.ids.join() && a.scores.join() === b.scores.join(), first: a.ids[0] }));`, { timeoutMs: 60_000 })
    assert.deepEqual(childJson(r), { duringAdd: { running: 1, slept: false }, same: true, first: 777 })
  })

  test('topK: NaN rows rank last; the matrix is read in place', async () => {
    const matrix = new Float32Array([1, 1, NaN, 0, 2, 2])
    const r = await topK(matrix, 2, new Float32Array([1, 1]), 3, { metric: 'dot' })
    assert.deepEqual(Array.from(r.ids), [2, 0, 1])
    assert.ok(Number.isNaN(r.scores[2]))
  })

  test('topK cosine: rows of any magnitude score as in f64; rows with NaN or ±Infinity score NaN and come last, zero rows 0', async () => {
    const q = new Float32Array([1, 0])
    const known = await topK(new Float32Array([NaN, 0, 0, 1, -1, 0]), 2, q, 3)
    assert.deepEqual([Array.from(known.ids), Array.from(known.scores)], [[1, 2, 0], [0, -1, NaN]])
    // The squares of these overflow or underflow f32.
    for (const m of [3e38, 2e19, 1e-22, 1e-23, 2 ** -149]) {
      const r = await topK(new Float32Array([m, 0, 0, m, -m, 0]), 2, q, 3)
      assert.deepEqual([Array.from(r.ids), Array.from(r.scores)], [[0, 1, 2], [1, 0, -1]], `magnitude ${m}`)
    }
    const random = rng(470)
    const [n, dim] = [600, 5]
    const rows = new Float32Array(n * dim)
    for (let id = 0; id < n; id++) {
      // Every f32 exponent, from the smallest subnormal to near the largest finite number.
      const magnitude = 2 ** (Math.floor(random() * 277) - 149)
      for (let j = 0; j < dim; j++) rows[id * dim + j] = id % 10 === 0 ? 0 : (random() * 2 - 1) * magnitude
      if (id % 10 === 1) rows[id * dim + Math.floor(random() * dim)] = NaN
      // An infinite component leaves the angle undefined: NaN in the reference too.
      if (id % 10 === 2) rows[id * dim + Math.floor(random() * dim)] = random() < 0.5 ? Infinity : -Infinity
    }
    for (const magnitude of [1, 1e30, 1e-30]) {
      const query = Float32Array.from({ length: dim }, () => (random() * 2 - 1) * magnitude)
      const expected = searchReference(rows, dim, query, n, 'cosine')
      const scoreOf = new Map(expected.map((e) => [e.id, e.score]))
      const r = await topK(rows, dim, query, n)
      assert.deepEqual(Array.from(r.ids).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i))
      for (let i = 0; i < n; i++) {
        const [id, score] = [r.ids[i], r.scores[i]]
        for (const [want, what] of [[scoreOf.get(id), `row ${id}`], [expected[i].score, `rank ${i}`]]) {
          assert.ok(Number.isNaN(want) ? Number.isNaN(score) : Math.abs(score - want) < 1e-5, `${what}: ${score}, expected ${want}`)
        }
      }
    }
  })

  test('bad input', async () => {
    throws(() => new VectorIndex(0), RangeError, 'ERR_OUT_OF_RANGE', /"dim"/)
    throws(() => new VectorIndex(1.5), RangeError, 'ERR_OUT_OF_RANGE')
    throws(() => new VectorIndex('3'), TypeError, 'ERR_INVALID_ARG_TYPE')
    throws(() => new VectorIndex(3, { metric: 'manhattan' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    const index = new VectorIndex(3, { metric: 'l2' })
    throws(() => index.add(new Float32Array(4)), RangeError, 'ERR_OUT_OF_RANGE', /multiple of the dimension \(3\)/)
    throws(() => index.add([1, 2, 3]), TypeError, 'ERR_INVALID_ARG_TYPE')
    throws(() => index.add(new Float64Array(3)), TypeError, 'ERR_INVALID_ARG_TYPE', /Float32Array/)
    throws(() => index.add(new Float32Array([1, 2, 3, 4, NaN, 6])), RangeError, 'ERR_OUT_OF_RANGE', /vectors\[4\]/)
    assert.equal(index.size, 0, 'a refused add adds nothing')
    index.add(new Float32Array(6))
    const q = new Float32Array(3)
    await rejects(index.search(new Float32Array(2), 1), RangeError, 'ERR_OUT_OF_RANGE', /query\.length/)
    await rejects(index.search(new Float32Array([0, Infinity, 0]), 1), RangeError, 'ERR_OUT_OF_RANGE', /query\[1\]/)
    await rejects(index.search(new Float64Array(3), 1), TypeError, 'ERR_INVALID_ARG_TYPE')
    for (const k of [0, -1, 1.5, NaN, Infinity, 2 ** 32]) await rejects(index.search(q, k), RangeError, 'ERR_OUT_OF_RANGE', /"k"/)
    for (const k of ['3', undefined, 3n]) await rejects(index.search(q, k), TypeError, 'ERR_INVALID_ARG_TYPE', /"k"/)
    await rejects(index.searchBatch(new Float32Array(4), 1), RangeError, 'ERR_OUT_OF_RANGE', /queries\.length/)
    await assert.rejects(index.search(q, 1, { signal: AbortSignal.abort() }), { name: 'AbortError' })
    await rejects(topK(new Float32Array(5), 2, new Float32Array(2), 1), RangeError, 'ERR_OUT_OF_RANGE', /matrix\.length/)
    await rejects(topK(new Float32Array(4), 2, new Float32Array(3), 1), RangeError, 'ERR_OUT_OF_RANGE', /query\.length/)
    await rejects(topK(new Float32Array(4), 0, new Float32Array(2), 1), RangeError, 'ERR_OUT_OF_RANGE', /"dim"/)
    await rejects(topK(new Float32Array(4), 2, new Float32Array(2), 1, { metric: 'L2' }), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejects(topK(new Uint8Array(4), 2, new Float32Array(2), 1), TypeError, 'ERR_INVALID_ARG_TYPE', /"matrix"/)
  })
})
