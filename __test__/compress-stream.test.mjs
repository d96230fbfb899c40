// offloop/stream: Transforms that work in pipeline(), in order, with backpressure both ways, and
// node:zlib's flush() — checked against node:zlib's own streams and decoders.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { Readable, Writable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { once } from 'node:events'
import { join } from 'node:path'
import { offloop, require, root, rejectsWith, runChild, childJson } from './helpers.mjs'
import { jsonBytes, random, zstdDecompress } from './fixtures/compress-data.mjs'

const { createCompressStream, createDecompressStream, CompressStream, DecompressStream } = require(join(root, 'stream.js'))

const FORMATS = ['gzip', 'deflate', 'deflate-raw', 'brotli', 'zstd']
const NODE_DECODE = {
  gzip: zlib.gunzipSync,
  deflate: zlib.inflateSync,
  'deflate-raw': zlib.inflateRawSync,
  brotli: zlib.brotliDecompressSync,
  zstd: (d) => zstdDecompress(d),
}
const NODE_STREAM = {
  gzip: (level) => zlib.createGzip({ level }),
  deflate: (level) => zlib.createDeflate({ level }),
  'deflate-raw': (level) => zlib.createDeflateRaw({ level }),
  brotli: (level) => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } }),
}

const DEFLATES = ['gzip', 'deflate', 'deflate-raw']

/** `data` in chunks of `size` bytes. */
function split(data, size) {
  const chunks = []
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size))
  return chunks
}

/** Uneven chunks of `data`, as a network or file would give. */
function chunked(data, seed = 3) {
  const r = random(seed)
  const chunks = []
  for (let i = 0; i < data.length; ) {
    const size = Math.min(data.length - i, 1 + Math.floor(r() * 100_000))
    chunks.push(data.subarray(i, i + size))
    i += size
  }
  return chunks
}

async function collect(stream) {
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function through(source, ...transforms) {
  const out = []
  await pipeline(Readable.from(source), ...transforms, new Writable({
    write(chunk, _encoding, callback) {
      out.push(chunk)
      callback()
    },
  }))
  return Buffer.concat(out)
}

const input = jsonBytes(1_500_000)

describe('offloop/stream in pipeline()', () => {
  for (const format of FORMATS) {
    test(`${format}: compressing and decompressing streams agree with one-shot calls and node:zlib`, async () => {
      const packed = await through(chunked(input), createCompressStream(format, { level: 1 }))
      assert.ok(NODE_DECODE[format](packed).equals(input), 'the reference decodes the stream')
      const unpacked = await through(chunked(packed, 4), createDecompressStream(format))
      assert.ok(unpacked.equals(input))
      if (NODE_STREAM[format]) {
        const theirs = await through(chunked(input), NODE_STREAM[format](6))
        assert.ok((await through(chunked(theirs, 5), createDecompressStream(format))).equals(input), 'offloop decodes node:zlib\'s stream')
      }
      // Empty input: a valid empty stream.
      const empty = await through([], createCompressStream(format))
      assert.equal(NODE_DECODE[format](empty).length, 0)
    })
  }

  test('gzip, deflate and deflate-raw streams come out as node:zlib\'s, byte for byte, flushes included', async () => {
    const data = jsonBytes(1_200_000, 9)
    const make = { gzip: zlib.createGzip, deflate: zlib.createDeflate, 'deflate-raw': zlib.createDeflateRaw }
    /** Writes `chunks`, flushing with `kind` (none: the default) after every seventh, waiting for each flush. */
    async function written(stream, chunks, kind) {
      const output = collect(stream)
      for (const [i, chunk] of chunks.entries()) {
        if (!stream.write(chunk)) await once(stream, 'drain')
        if (kind !== null && i % 7 === 6) await new Promise((resolve) => (kind === undefined ? stream.flush(resolve) : stream.flush(kind, resolve)))
      }
      stream.end()
      return output
    }
    for (const format of DEFLATES) {
      for (const level of [1, 6, 9]) {
        for (const [pattern, chunks] of [['uneven', chunked(data)], ['1000 B', split(data, 1000)]]) {
          const { Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_PARTIAL_FLUSH, Z_BLOCK } = zlib.constants
          const kinds = level === 6 ? [null, undefined, Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_PARTIAL_FLUSH, Z_BLOCK] : [null, Z_SYNC_FLUSH]
          for (const kind of kinds) {
            const ours = await written(createCompressStream(format, { level }), chunks, kind)
            const theirs = await written(make[format]({ level }), chunks, kind)
            assert.ok(ours.equals(theirs), `${format} level ${level}, ${pattern} chunks, flush ${kind}: ${ours.length} B, node:zlib ${theirs.length} B`)
          }
        }
      }
    }
  })

  test('many streams at once each keep their chunks in order', async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => jsonBytes(50_000 + i * 3000, 20 + i))
    const packed = await Promise.all(inputs.map((data, i) => through(chunked(data, i), createCompressStream(FORMATS[i % 5]))))
    packed.forEach((p, i) => assert.ok(NODE_DECODE[FORMATS[i % 5]](p).equals(inputs[i]), `stream ${i}`))
  })

  test('small writes made while the pool works are joined: fewer pool calls, the same bytes, flushes in place', async () => {
    for (const format of FORMATS) {
      const stream = createCompressStream(format)
      const calls = { write: 0, flush: 0 }
      for (const method of ['write', 'flush']) {
        const original = stream._codec[method].bind(stream._codec)
        stream._codec[method] = (...args) => (calls[method]++, original(...args))
      }
      const done = collect(stream)
      const pieces = []
      const flushed = []
      for (let i = 0; i < 2000; i++) {
        const piece = `{"row":${i},"name":"item ${i}"}\n`
        pieces.push(piece)
        stream.write(i % 3 ? piece : Buffer.from(piece))
        if (i === 700 || i === 1400) stream.flush(() => flushed.push(i))
      }
      stream.end()
      const packed = await done
      assert.equal(NODE_DECODE[format](packed).toString(), pieces.join(''), format)
      assert.deepEqual(flushed, [700, 1400], format)
      assert.equal(calls.flush, 2, format)
      assert.ok(calls.write < 20, `${format}: ${calls.write} pool calls for 2000 writes`)
      assert.equal(stream.bytesWritten, Buffer.byteLength(pieces.join('')), format)
    }
  })

  test('classes, bytesWritten, strings and Transform options', async () => {
    const stream = new CompressStream('gzip', { highWaterMark: 1024 })
    assert.ok(stream instanceof Transform)
    assert.equal(stream.readableHighWaterMark, 1024)
    const done = collect(stream)
    stream.write('héllo ')
    stream.end('wörld')
    assert.equal(zlib.gunzipSync(await done).toString(), 'héllo wörld')
    assert.equal(stream.bytesWritten, Buffer.byteLength('héllo wörld'))
    assert.ok(new DecompressStream('brotli') instanceof Transform)
  })

  test('decodeStrings: false: strings are encoded as their writer said, and bytesWritten counts bytes', async () => {
    // node:zlib's own streams abort the process on a string chunk here; offloop takes it.
    const stream = createCompressStream('gzip', { decodeStrings: false })
    const done = collect(stream)
    stream.write('héllo ', 'utf8')
    stream.write('776f726c64', 'hex')
    stream.end(Buffer.from('!'))
    const expected = Buffer.concat([Buffer.from('héllo ', 'utf8'), Buffer.from('776f726c64', 'hex'), Buffer.from('!')])
    assert.deepEqual(zlib.gunzipSync(await done), expected)
    assert.equal(stream.bytesWritten, expected.length)
  })

  test('arguments are checked when the stream is made', () => {
    assert.throws(() => createCompressStream('lz4'), { code: 'ERR_INVALID_ARG_VALUE' })
    assert.throws(() => createCompressStream('gzip', { level: 10 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => createDecompressStream('gzip', { chunkSize: 1 }), { code: 'ERR_OUT_OF_RANGE' })
    assert.throws(() => createCompressStream('gzip').flush(7), { code: 'ERR_OUT_OF_RANGE' })
  })
})

/** What a decoder makes of output that stops after a flush, without its end. */
async function decodeSoFar(format, bytes) {
  if (format === 'brotli') return zlib.brotliDecompressSync(bytes, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
  if (format === 'zstd') return zstdDecompress(bytes, { partial: true })
  return NODE_DECODE[format](bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
}

describe('flush(), as node:zlib\'s', () => {
  for (const format of FORMATS) {
    test(`${format}: after flush() the output so far decodes to everything written (server-sent events)`, async () => {
      const stream = createCompressStream(format)
      const received = []
      stream.on('data', (chunk) => received.push(chunk))
      const events = []
      for (let i = 0; i < 3; i++) {
        const event = `event: tick\ndata: ${JSON.stringify({ i, at: 'now' })}\n\n`
        events.push(event)
        stream.write(event)
        await new Promise((resolve) => stream.flush(resolve))
        await new Promise((resolve) => setImmediate(resolve))
        const sofar = Buffer.concat(received)
        assert.equal((await decodeSoFar(format, sofar)).toString(), events.join(''), `after event ${i}`)
      }
      stream.end()
      await once(stream, 'end')
    })
  }

  test('a sync flush ends on zlib\'s marker; a full flush (the default, as in node:zlib) too', async () => {
    for (const [kind, args] of [['default', []], ['sync', [zlib.constants.Z_SYNC_FLUSH]], ['full', [zlib.constants.Z_FULL_FLUSH]]]) {
      const stream = createCompressStream('deflate-raw')
      const out = []
      stream.on('data', (c) => out.push(c))
      stream.write('hello')
      await new Promise((resolve) => stream.flush(...args, resolve))
      await new Promise((resolve) => setImmediate(resolve))
      assert.ok(Buffer.concat(out).subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])), kind)
    }
    // After end(), flush() only calls back, as in node:zlib.
    const ended = createCompressStream('gzip')
    ended.resume()
    ended.end('x')
    await new Promise((resolve) => ended.flush(resolve))
  })

  test('flush(Z_FINISH) ends the stream as node:zlib\'s does: end() adds nothing, a later write fails', async () => {
    const make = { gzip: zlib.createGzip, deflate: zlib.createDeflate, 'deflate-raw': zlib.createDeflateRaw }
    for (const format of DEFLATES) {
      const outputs = []
      for (const stream of [createCompressStream(format), make[format]()]) {
        const output = collect(stream)
        stream.write('hello hello hello')
        await new Promise((resolve) => stream.flush(zlib.constants.Z_FINISH, resolve))
        stream.end()
        outputs.push(await output)
      }
      assert.ok(outputs[0].equals(outputs[1]), format)
      const stream = createCompressStream(format)
      stream.resume()
      stream.write('x')
      stream.flush(zlib.constants.Z_FINISH)
      stream.write('too late')
      const [error] = await once(stream, 'error')
      assert.equal(error.code, 'ERR_INVALID_STATE')
    }
    // brotli's BROTLI_OPERATION_FINISH (2) and zstd's ZSTD_e_end (2) end theirs; each takes only its own kinds.
    for (const format of ['brotli', 'zstd']) {
      const stream = createCompressStream(format)
      const output = collect(stream)
      stream.write('hello hello hello')
      await new Promise((resolve) => stream.flush(2, resolve))
      stream.end()
      assert.equal(NODE_DECODE[format](await output).toString(), 'hello hello hello', format)
      const strict = createCompressStream(format)
      strict.flush(format === 'brotli' ? 4 : 3)
      const [error] = await once(strict, 'error')
      assert.equal(error.code, 'ERR_OUT_OF_RANGE', format)
    }
  })
})

describe('backpressure', () => {
  test('a decompression bomb comes out as the reader reads, never all at once', async () => {
    const bomb = offloop.compressSync('gzip', Buffer.alloc(64 << 20))
    const stream = createDecompressStream('gzip', { chunkSize: 16 * 1024 })
    stream.end(bomb)
    // Nobody reads: the stream stops making output once its buffer is full.
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.ok(stream.readableLength <= 64 * 1024, `buffered ${stream.readableLength} bytes`)
    let total = 0
    let largest = 0
    // 'data' gives each pushed chunk (from Node 22 the async iterator joins what is buffered).
    stream.on('data', (chunk) => {
      total += chunk.length
      largest = Math.max(largest, chunk.length)
    })
    await once(stream, 'end')
    assert.equal(total, 64 << 20)
    assert.ok(largest <= 16 * 1024, `a chunk of ${largest} bytes`)
  })

  test('a slow reader slows the writer: write() returns false and drain comes', async () => {
    const stream = createCompressStream('gzip', { level: 0, highWaterMark: 64 * 1024 })
    const block = Buffer.alloc(256 * 1024, 7)
    let refused = 0
    const read = []
    for (let i = 0; i < 40; i++) {
      if (!stream.write(block)) {
        refused++
        const drained = once(stream, 'drain')
        // Read just enough to let it go on.
        const reader = setInterval(() => {
          const chunk = stream.read()
          if (chunk) read.push(chunk)
        }, 1)
        await drained
        clearInterval(reader)
      }
    }
    assert.ok(refused > 0)
    stream.end()
    read.push(await collect(stream))
    assert.equal(zlib.gunzipSync(Buffer.concat(read)).length, 40 * block.length)
  })
})

describe('errors', () => {
  test('corrupt and truncated input fail the stream with node:zlib\'s codes', async () => {
    for (const format of FORMATS) {
      await rejectsWith(through([Buffer.from('definitely not compressed data')], createDecompressStream(format)), Error, 'Z_DATA_ERROR')
      const packed = offloop.compressSync(format, input.subarray(0, 100_000))
      await rejectsWith(through([packed.subarray(0, packed.length >> 1)], createDecompressStream(format)), Error, 'Z_BUF_ERROR')
    }
  })

  test('maxOutputLength limits a whole decompressing stream', async () => {
    const packed = offloop.compressSync('zstd', Buffer.alloc(1 << 20))
    await rejectsWith(through(chunked(packed), createDecompressStream('zstd', { maxOutputLength: 500_000 })), RangeError, 'ERR_BUFFER_TOO_LARGE')
    assert.equal((await through([packed], createDecompressStream('zstd', { maxOutputLength: 1 << 20 }))).length, 1 << 20)
  })

  test('codecs never ended or closed are collected before their native memory piles up', { timeout: 120_000 }, async () => {
    // V8 sees a small object per StreamCodec; the codec behind it holds 260 KB (gzip) to 800 KB
    // (zstd). Without telling V8, 4,000 abandoned zstd compressors grew the process by 1 GB.
    const code = `
      import { createRequire } from 'node:module'
      const { StreamCodec, hash } = createRequire(import.meta.url)(${JSON.stringify(join(root, 'index.js'))})
      await hash('sha256', 'start the pool')
      const chunk = Buffer.from('{"a":1}'.repeat(100))
      const grew = {}
      for (const format of ['zstd', 'gzip']) {
        const before = process.memoryUsage().rss
        let peak = before
        for (let i = 0; i < 4000; i++) {
          await new StreamCodec('compress', format).write(chunk)
          if (i % 100 === 0) peak = Math.max(peak, process.memoryUsage().rss)
        }
        grew[format] = Math.round((peak - before) / 2 ** 20)
      }
      console.log(JSON.stringify(grew))`
    const grew = childJson(await runChild(code, { timeoutMs: 110_000 }))
    assert.ok(grew.zstd < 256 && grew.gzip < 200, `the process grew by ${JSON.stringify(grew)} MiB`)
  })

  test('a stream destroyed midway frees its codec; later calls on the codec are refused', async () => {
    const stream = createCompressStream('brotli')
    stream.write(input)
    stream.destroy()
    await once(stream, 'close')
    const codec = new offloop.StreamCodec('compress', 'gzip')
    await codec.write('abc')
    codec.close()
    await rejectsWith(codec.write('def'), Error, 'ERR_INVALID_STATE')
    // Found by a hostile hunt (2026-12-06): resume() resolved with nothing after close() or end().
    await rejectsWith(codec.resume(), Error, 'ERR_INVALID_STATE')
    const ended = new offloop.StreamCodec('compress', 'gzip')
    await ended.end()
    await rejectsWith(ended.resume(), Error, 'ERR_INVALID_STATE')
    assert.equal((await new offloop.StreamCodec('compress', 'gzip').resume()).length, 0)
  })

  // Found by a hostile hunt (2026-12-06): a destroyed stream's write ran on to the end of its chunk
  // (brotli at quality 11: seconds per MB of random bytes), holding a pool thread nobody waited on.
  test('destroying a stream or closing its codec stops the write in progress and frees the pool thread', async () => {
    const r = await runChild(`
      import { createRequire } from 'node:module';
      import { randomBytes } from 'node:crypto';
      const require = createRequire(import.meta.url);
      const offloop = require(${JSON.stringify(join(root, 'index.js'))});
      const { createCompressStream } = require(${JSON.stringify(join(root, 'stream.js'))});
      offloop.configure({ threads: 1 });
      const chunk = randomBytes(32 << 20);
      const running = async () => { while (offloop.poolStats().running === 0) await new Promise((r) => setTimeout(r, 5)); };
      const idle = async () => {
        const started = Date.now();
        while (offloop.poolStats().running > 0 && Date.now() - started < 20000) await new Promise((r) => setTimeout(r, 5));
        return Date.now() - started;
      };
      const out = {};
      // One call runs over the whole chunk: output comes at brotli's metablocks, after seconds.
      const options = { chunkSize: 256 << 20 };
      const stream = createCompressStream('brotli', options);
      stream.on('error', () => {});
      stream.write(chunk);
      await running();
      stream.destroy();
      out.afterDestroyMs = await idle();
      const codec = new offloop.StreamCodec('compress', 'brotli', options);
      const written = codec.write(chunk).then(() => 'resolved', (e) => e.name);
      const queued = codec.write('queued before close()').then(() => 'resolved', (e) => e.code);
      await running();
      codec.close();
      out.afterCloseMs = await idle();
      out.outcomes = [await written, await queued, await codec.write('after').then(() => 'resolved', (e) => e.code)];
      out.next = await offloop.hash('sha256', 'the pool works on');
      console.log(JSON.stringify(out));`, { timeoutMs: 120_000 })
    const out = childJson(r)
    // One slice of input (1 MiB) is finished: a fraction of a second, more on a loaded machine
    // (pool threads run in SCHED_IDLE); the whole chunk took over 20 s.
    assert.ok(out.afterDestroyMs < 5000, `the pool worked on for ${out.afterDestroyMs} ms after destroy()`)
    assert.ok(out.afterCloseMs < 5000, `the pool worked on for ${out.afterCloseMs} ms after close()`)
    assert.deepEqual(out.outcomes, ['AbortError', 'ERR_INVALID_STATE', 'ERR_INVALID_STATE'])
    assert.equal(typeof out.next, 'string')
  })

  test('a large chunk is copied between turns of the loop, and the calls made meanwhile keep their order', async () => {
    // Not awaited one by one: the small chunks, the flush and the end are made while the 3 MiB
    // chunks are still being copied, and must reach the compressor after them.
    const codec = new offloop.StreamCodec('compress', 'gzip', { chunkSize: 64 << 20 })
    const big = jsonBytes(3 << 20)
    const parts = [big, 'small one ', big.subarray(7, (2 << 20) + 7), 'small two']
    const outputs = parts.map((part) => codec.write(part))
    outputs.push(codec.flush(), codec.write('after the flush'), codec.end())
    const packed = Buffer.concat(await Promise.all(outputs))
    assert.deepEqual(zlib.gunzipSync(packed), Buffer.concat([...parts.map((p) => Buffer.from(p)), Buffer.from('after the flush')]))
  })

  test('a large chunk transferred while it is copied rejects its write with ERR_INVALID_STATE and fails the stream', async () => {
    const r = await runChild(`
      import { createRequire } from 'node:module';
      const offloop = createRequire(import.meta.url)(${JSON.stringify(join(root, 'index.js'))});
      const codec = new offloop.StreamCodec('compress', 'gzip');
      const first = codec.write('kept');
      const chunk = new Uint8Array(8 << 20).fill(7);
      const written = codec.write(chunk);
      const after = codec.write('after');
      structuredClone(chunk.buffer, { transfer: [chunk.buffer] });
      const outcome = (p) => p.then(() => 'resolved', (e) => e.code);
      console.log(JSON.stringify([await outcome(first), await outcome(written), await outcome(after), await outcome(codec.end())]));`)
    assert.deepEqual(childJson(r), ['resolved', 'ERR_INVALID_STATE', 'ERR_INVALID_STATE', 'ERR_INVALID_STATE'])
  })
})
