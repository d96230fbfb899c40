// One-shot compression against node:zlib (the reference) and zstd's own CLI: output each decodes,
// input each produced, sizes, errors and limits.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { offloop, rejectsWith, throwsWith, runChild, childJson, root, loadHooks } from './helpers.mjs'
import { corpora, jsonBytes, randomBytes, random } from './fixtures/compress-data.mjs'

const { BROTLI_PARAM_QUALITY } = zlib.constants
const MAX_BUFFER = 256 << 20

function zstdCli() {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** node:zlib for every format it has; zstd through node:zlib (Node >= 22.15) or the zstd CLI. */
const NODE = {
  gzip: { compress: (d, level) => zlib.gzipSync(d, { level }), decompress: (d) => zlib.gunzipSync(d) },
  deflate: { compress: (d, level) => zlib.deflateSync(d, { level }), decompress: (d) => zlib.inflateSync(d) },
  'deflate-raw': { compress: (d, level) => zlib.deflateRawSync(d, { level }), decompress: (d) => zlib.inflateRawSync(d) },
  brotli: {
    compress: (d, level) => zlib.brotliCompressSync(d, { params: { [BROTLI_PARAM_QUALITY]: level } }),
    decompress: (d) => zlib.brotliDecompressSync(d),
  },
  zstd:
    typeof zlib.zstdCompressSync === 'function'
      ? {
          compress: (d, level) => zlib.zstdCompressSync(d, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } }),
          decompress: (d) => zlib.zstdDecompressSync(d, { maxOutputLength: MAX_BUFFER }),
        }
      : zstdCli()
        ? {
            compress: (d, level) => execFileSync('zstd', [`-${level}`, '-c', '-q'], { input: d, maxBuffer: MAX_BUFFER }),
            decompress: (d) => execFileSync('zstd', ['-d', '-c', '-q'], { input: d, maxBuffer: MAX_BUFFER }),
          }
        : null,
}

/** node:zlib's one-shot gzip/deflate/deflate-raw with options. */
const NODE_OPTIONS = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, 'deflate-raw': zlib.deflateRawSync }

const LEVELS = { gzip: [0, 1, 6, 9], deflate: [0, 1, 6, 9], 'deflate-raw': [0, 1, 6, 9], brotli: [0, 4, 11], zstd: [1, 3, 19] }
const SIZES = [0, 1, 100, 65535, 65536, 1 << 20]
const FORMATS = Object.keys(LEVELS)
const DEFLATES = ['gzip', 'deflate', 'deflate-raw']

const sample = jsonBytes(1 << 20)
const data = (size) => sample.subarray(0, size)
// brotli's quality 11 runs at about 1 MB/s: the large sizes take a lower one.
const slow = (format, level, size) => format === 'brotli' && level === 11 && size > 65536

describe('interop with node:zlib (and zstd)', () => {
  for (const format of FORMATS) {
    test(`${format}: offloop's output decodes with the reference, and the reference's with offloop`, (t) => {
      const reference = NODE[format]
      if (!reference) return t.skip('no zstd reference here (Node < 22.15 and no zstd CLI)')
      for (const level of LEVELS[format]) {
        for (const size of SIZES) {
          if (slow(format, level, size)) continue
          const input = data(size)
          const label = `${format} level ${level}, ${size} B`
          const ours = offloop.compressSync(format, input, { level })
          assert.ok(Buffer.isBuffer(ours), label)
          assert.ok(reference.decompress(ours).equals(input), `${label}: the reference decodes offloop's output`)
          const theirs = reference.compress(input, level)
          assert.ok(offloop.decompressSync(format, theirs).equals(input), `${label}: offloop decodes the reference's output`)
        }
      }
    })

    test(`${format}: the async forms give what the sync forms give`, async () => {
      for (const size of [0, 100, 200_000]) {
        const input = data(size)
        const packed = await offloop.compress(format, input)
        assert.ok(packed.equals(offloop.compressSync(format, input)), `${format} ${size} B`)
        assert.ok((await offloop.decompress(format, packed)).equals(input))
      }
    })
  }

  test('64 MiB through each format, both ways', { timeout: 600_000 }, async (t) => {
    const blocks = Array.from({ length: 8 }, (_, i) => jsonBytes(1 << 20, 100 + i).subarray(0, 1 << 20))
    const big = Buffer.concat(Array.from({ length: 64 }, (_, i) => blocks[(i * 5) % 8]))
    assert.equal(big.length, 64 << 20)
    for (const [format, level] of [['gzip', 6], ['deflate-raw', 1], ['brotli', 4], ['zstd', 3]]) {
      const reference = NODE[format]
      if (!reference) {
        t.diagnostic(`${format}: no reference here`)
        continue
      }
      const ours = await offloop.compress(format, big, { level })
      assert.ok(reference.decompress(ours).equals(big), `${format}: the reference decodes offloop's 64 MiB`)
      const theirs = reference.compress(big, level)
      assert.ok((await offloop.decompress(format, theirs)).equals(big), `${format}: offloop decodes the reference's 64 MiB`)
    }
  })

  test('inputs: strings are UTF-8, and any view or ArrayBuffer is its bytes', () => {
    const text = 'héllo wörld ✓ '.repeat(100)
    assert.equal(zlib.gunzipSync(offloop.compressSync('gzip', text)).toString(), text)
    const floats = new Float64Array([1.5, -2, Math.PI, 1e300])
    const bytes = Buffer.from(floats.buffer)
    for (const view of [floats, new DataView(floats.buffer), floats.buffer, new Uint8Array(floats.buffer)]) {
      assert.ok(zlib.inflateSync(offloop.compressSync('deflate', view)).equals(bytes))
    }
    const offset = new Uint8Array(floats.buffer, 8, 16)
    assert.ok(zlib.inflateRawSync(offloop.compressSync('deflate-raw', offset)).equals(Buffer.from(offset)))
  })
})

describe('sizes against node:zlib', () => {
  const sets = corpora(root)

  test('gzip, deflate and deflate-raw come out as node:zlib\'s, byte for byte, at every level and shape', async () => {
    // offloop compresses with the zlib node:zlib runs (src/compress/host_zlib.rs); only the call
    // pattern differs: one buffer where node:zlib takes 16 KiB at a time, and 1 MiB input slices.
    const shapes = [{}, { windowBits: 9 }, { windowBits: 12, memLevel: 1 }, { memLevel: 9 }]
    for (const strategy of [1, 2, 3, 4]) shapes.push({ strategy })
    const inputs = { ...sets, empty: Buffer.alloc(0), byte: Buffer.from('x'), large: jsonBytes(3 << 20, 7) }
    for (const [name, input] of Object.entries(inputs)) {
      for (const format of DEFLATES) {
        for (let level = -1; level <= 9; level++) {
          for (const shape of name === 'large' ? [{}] : shapes) {
            const options = { level, ...shape }
            const theirs = NODE_OPTIONS[format](input, options)
            const ours = offloop.compressSync(format, input, options)
            assert.ok(ours.equals(theirs), `${name}, ${format} ${JSON.stringify(options)}: ${ours.length} B, node:zlib ${theirs.length} B`)
          }
        }
        const ours = await offloop.compress(format, input, { level: 6 })
        assert.ok(ours.equals(NODE_OPTIONS[format](input, { level: 6 })), `${name}, ${format}, compress()`)
      }
    }
  })

  test('a zlib whose version is not the one node:zlib reports is not used (an embedder with a system libz)', async () => {
    const code = `
      Object.defineProperty(process, 'versions', { value: { ...process.versions, zlib: '1.3.0.1-motley-40e35a7' } })
      import { createRequire } from 'node:module'
      import zlib from 'node:zlib'
      const { compressSync } = createRequire(import.meta.url)(${JSON.stringify(join(root, 'index.js'))})
      const input = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ id: i, name: 'row ' + i }))))
      const ours = compressSync('gzip', input, { level: 1 })
      console.log(JSON.stringify({ same: ours.equals(zlib.gzipSync(input, { level: 1 })), decodes: zlib.gunzipSync(ours).equals(input) }))`
    assert.deepEqual(childJson(await runChild(code)), { same: false, decodes: true })
  })

  test('a process.versions getter that throws, or that compresses itself, still leaves a working compress()', async () => {
    // The version is read from JS once, before the first compression: a getter runs the caller's
    // code there, which may throw or call offloop again before the lookup is settled.
    for (const getter of ['throw new Error(\'no versions\')', 'compressSync(\'gzip\', \'inner\'); return real']) {
      const code = `
        import { createRequire } from 'node:module'
        import zlib from 'node:zlib'
        const { compressSync, compress } = createRequire(import.meta.url)(${JSON.stringify(join(root, 'index.js'))})
        const real = process.versions
        Object.defineProperty(process, 'versions', { get() { ${getter} } })
        const one = compressSync('gzip', 'hello hello hello')
        const two = await compress('deflate', 'hello hello hello')
        console.log(JSON.stringify([zlib.gunzipSync(one).toString(), zlib.inflateSync(two).toString()]))`
      assert.deepEqual(childJson(await runChild(code)), ['hello hello hello', 'hello hello hello'], getter)
    }
  })

  test('without Node\'s zlib (an embedder that hides it), the bundled libraries decode with node:zlib, at most 2% larger', { timeout: 300_000 }, async () => {
    // The test-hooks build with OFFLOOP_TEST_BUNDLED_ZLIB set looks no further than libdeflate and
    // zlib-rs. A hostile hunt (2026-12-06) found libdeflate's output of short inputs 3 bytes larger
    // (5 B for an empty deflate-raw body where zlib writes 2), and small texts up to 1.7% larger.
    const code = `${loadHooks}
      import zlib from 'node:zlib'
      import { corpora } from ${JSON.stringify(join(root, '__test__/fixtures/compress-data.mjs'))}
      const sets = corpora(${JSON.stringify(root)})
      const node = { gzip: [zlib.gzipSync, zlib.gunzipSync], deflate: [zlib.deflateSync, zlib.inflateSync], 'deflate-raw': [zlib.deflateRawSync, zlib.inflateRawSync] }
      const failures = []
      let differs = 0
      for (const text of [sets.text, sets.json, sets.mixed]) {
        for (const [format, [pack, unpack]] of Object.entries(node)) {
          for (const level of [-1, 0, 1, 6, 9]) {
            for (let size = 0; size <= 65536; size += size < 128 ? 7 : 4093) {
              const input = text.subarray(0, size)
              const ours = h.compressSync(format, input, { level })
              const theirs = pack(input, { level })
              if (!ours.equals(theirs)) differs++
              const allowed = size < 128 ? theirs.length : theirs.length * 1.02
              if (ours.length > allowed || !unpack(ours).equals(input)) failures.push([format, level, size, ours.length, theirs.length])
            }
          }
          const whole = await h.compress(format, text, { level: 6, memLevel: 9, strategy: 1 })
          if (!unpack(whole).equals(text)) failures.push([format, 'shaped'])
        }
      }
      console.log(JSON.stringify({ failures, differs }))`
    const result = childJson(await runChild(code, { env: { OFFLOOP_TEST_BUNDLED_ZLIB: '1' }, timeoutMs: 280_000 }))
    assert.deepEqual(result.failures, [])
    assert.ok(result.differs > 0, 'the bundled libraries ran (their output is not node:zlib\'s)')
  })

  test('non-default window, hash size and strategy still decode with node:zlib, and say their window', () => {
    const input = sets.json
    for (const [options, header] of [[{ windowBits: 9 }, 0x18], [{ windowBits: 12, memLevel: 1 }, 0x48], [{ strategy: zlib.constants.Z_HUFFMAN_ONLY }, 0x78], [{ strategy: zlib.constants.Z_RLE, memLevel: 9 }, 0x78]]) {
      const packed = offloop.compressSync('deflate', input, options)
      assert.equal(packed[0], header, JSON.stringify(options))
      assert.ok(zlib.inflateSync(packed).equals(input), JSON.stringify(options))
      const raw = offloop.compressSync('deflate-raw', input, options)
      assert.ok(zlib.inflateRawSync(raw, { windowBits: options.windowBits ?? 15 }).equals(input))
      assert.ok(zlib.gunzipSync(offloop.compressSync('gzip', input, options)).equals(input))
    }
    // node:zlib turns windowBits 8 into 9 for raw deflate; so does offloop.
    const eight = offloop.compressSync('deflate-raw', input, { windowBits: 8 })
    assert.ok(zlib.inflateRawSync(eight, { windowBits: 9 }).equals(input))
    assert.ok(offloop.decompressSync('deflate-raw', eight, { windowBits: 8 }).equals(input))
  })

  test('brotli output is within 0.5% of node:zlib\'s at the same quality (brotli 1.0.9 here, 1.1 in Node 20)', () => {
    for (const [name, input] of Object.entries(sets)) {
      for (const quality of [0, 1, 4, 5, 9]) {
        const ours = offloop.compressSync('brotli', input, { level: quality }).length
        const theirs = NODE.brotli.compress(input, quality).length
        assert.ok(ours <= theirs * 1.005, `${name} q${quality}: ${ours} vs ${theirs}`)
      }
    }
  })

  test('brotli and zstd params are node:zlib\'s', () => {
    const input = sets.text
    const params = { [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 18 }
    const ours = offloop.compressSync('brotli', input, { params })
    assert.ok(zlib.brotliDecompressSync(ours).equals(input))
    assert.ok(ours.length <= zlib.brotliCompressSync(input, { params }).length * 1.005)
    // Every NPOSTFIX/NDIRECT pair node:zlib takes (brotli uses 0 and 0 for a pair it cannot use).
    const { BROTLI_PARAM_NPOSTFIX, BROTLI_PARAM_NDIRECT } = zlib.constants
    for (let npostfix = 0; npostfix <= 3; npostfix++) {
      for (const ndirect of [0, 1, 3, 12, 16, 60, 120]) {
        const pair = { [BROTLI_PARAM_QUALITY]: 5, [BROTLI_PARAM_NPOSTFIX]: npostfix, [BROTLI_PARAM_NDIRECT]: ndirect }
        const theirs = zlib.brotliCompressSync(input, { params: pair })
        const packed = offloop.compressSync('brotli', input, { params: pair })
        assert.ok(zlib.brotliDecompressSync(packed).equals(input), JSON.stringify(pair))
        assert.ok(packed.length <= theirs.length * 1.005, `${JSON.stringify(pair)}: ${packed.length} vs ${theirs.length}`)
      }
    }
    // `params` override `level`.
    assert.ok(offloop.compressSync('brotli', input, { level: 0, params }).equals(ours))
    // zstd: the checksum flag lands in the frame header (bit 2 of the descriptor).
    const ZSTD_c_checksumFlag = 201
    const ZSTD_c_compressionLevel = 100
    const withSum = offloop.compressSync('zstd', input, { params: { [ZSTD_c_checksumFlag]: 1, [ZSTD_c_compressionLevel]: 9 } })
    assert.equal(withSum[4] & 0x04, 0x04)
    assert.ok(offloop.decompressSync('zstd', withSum).equals(input))
    // Booleans are 1 and 0, as node:zlib takes them (found by a hostile hunt, 2026-12-06).
    assert.equal(offloop.compressSync('zstd', input, { params: { [ZSTD_c_checksumFlag]: true } })[4] & 0x04, 0x04)
    const { BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING: noContext } = zlib.constants
    const flagged = offloop.compressSync('brotli', input, { params: { [BROTLI_PARAM_QUALITY]: 5, [noContext]: true } })
    assert.ok(flagged.equals(offloop.compressSync('brotli', input, { params: { [BROTLI_PARAM_QUALITY]: 5, [noContext]: 1 } })))
    assert.ok(zlib.brotliCompressSync(input, { params: { [BROTLI_PARAM_QUALITY]: 5, [noContext]: true } }).length > 0)
  })
})

describe('bad input: corrupt, truncated, oversized', () => {
  test('corrupt data rejects with Z_DATA_ERROR (errno -3) in every format', async () => {
    for (const format of FORMATS) {
      const error = await rejectsWith(offloop.decompress(format, Buffer.from('this is not compressed data at all, no')), Error, 'Z_DATA_ERROR')
      assert.equal(error.errno, -3, format)
      throwsWith(() => offloop.decompressSync(format, Buffer.from('this is not compressed data at all, no')), Error, 'Z_DATA_ERROR')
    }
  })

  test('data cut short (or empty) rejects with Z_BUF_ERROR, as node:zlib does', async () => {
    const input = data(200_000)
    for (const format of FORMATS) {
      const packed = offloop.compressSync(format, input)
      for (const cut of [0, 1, 3, Math.floor(packed.length / 2), packed.length - 1]) {
        const error = await rejectsWith(offloop.decompress(format, packed.subarray(0, cut)), Error, 'Z_BUF_ERROR')
        assert.equal(error.errno, -5)
        assert.equal(error.message, 'unexpected end of file')
      }
    }
  })

  test('edge cases decode as node:zlib decodes them, or fail with its code', () => {
    const g = (s) => zlib.gzipSync(s)
    const cases = {
      gzip: [
        Buffer.concat([g('abc'), g('def')]),
        Buffer.concat([g('abc'), Buffer.alloc(10)]),
        Buffer.concat([g('abc'), Buffer.from('xyz')]),
        Buffer.concat([g('abc'), Buffer.from([0x1f, 0x8b, 0xff, 0xff])]),
        Buffer.concat([g('abc'), Buffer.from([0x1f])]),
        Buffer.concat([g('abc'), Buffer.alloc(3), g('def')]),
        (() => {
          const b = g('abc')
          b[b.length - 6] ^= 1
          return b
        })(),
        (() => {
          const b = g('abc')
          b[b.length - 1] ^= 1
          return b
        })(),
        // FNAME, FCOMMENT, FEXTRA and FHCRC header fields (written by hand: node:zlib writes none).
        Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 4, 0, 1, 2, 3, 4]), Buffer.from('name\0comment\0'), Buffer.from([0, 0]), zlib.deflateRawSync('abc'), (() => {
          const trailer = Buffer.alloc(8)
          trailer.writeUInt32LE(zlib.crc32 ? zlib.crc32('abc') : 0x352441c2, 0)
          trailer.writeUInt32LE(3, 4)
          return trailer
        })()]),
      ],
      deflate: [
        Buffer.concat([zlib.deflateSync('abc'), Buffer.from('xyz')]),
        Buffer.concat([zlib.deflateSync('abc'), zlib.deflateSync('def')]),
        zlib.deflateSync('abc', { windowBits: 9 }),
        // A preset dictionary (FDICT): offloop takes none, node:zlib needs its `dictionary` option.
        zlib.deflateSync('abc', { dictionary: Buffer.from('abc') }),
      ],
      'deflate-raw': [Buffer.concat([zlib.deflateRawSync('abc'), Buffer.from('xyz')]), Buffer.from([3, 0]), Buffer.from([1, 0, 0, 0xff, 0xff])],
      brotli: [Buffer.concat([zlib.brotliCompressSync('abc'), Buffer.from('xyz')]), Buffer.from([0x3b]), Buffer.from([6])],
    }
    const outcome = (f) => {
      try {
        return { ok: f().toString('hex') }
      } catch (e) {
        return { code: e.code }
      }
    }
    for (const [format, inputs] of Object.entries(cases)) {
      for (const input of inputs) {
        const theirs = outcome(() => NODE[format].decompress(input))
        const ours = outcome(() => offloop.decompressSync(format, input))
        if (theirs.code && format === 'brotli') {
          // node:zlib names brotli's own error; offloop's code for corrupt data is Z_DATA_ERROR.
          assert.ok(ours.code === 'Z_DATA_ERROR' || ours.code === 'Z_BUF_ERROR', `${format} ${input.toString('hex')}: ${ours.code}`)
        } else {
          assert.deepEqual(ours, theirs, `${format} ${input.toString('hex')}`)
        }
      }
    }
  })

  test('a zlib header that claims a window above 32 KiB fails as node:zlib fails, in every form, quietly', async () => {
    // Found by a hostile hunt (2026-12-06): with the header's window (windowBits 0, the default)
    // zlib-rs sized its window from the header before checking it, and panicked on CINFO 8-15.
    const result = await runChild(`
      import zlib from 'node:zlib'
      import { createRequire } from 'node:module'
      const require = createRequire(${JSON.stringify(root + '/')})
      const o = require('./index.js')
      const { createDecompressStream } = require('./stream.js')
      const outcome = async (f) => { try { return (await f()).toString('hex') } catch (e) { return e.code + ' ' + e.message } }
      const rows = []
      for (let cinfo = 7; cinfo <= 15; cinfo++) {
        const cmf = (cinfo << 4) | 8
        const flg = 31 - ((cmf << 8) % 31)
        const input = Buffer.concat([Buffer.from([cmf, flg]), zlib.deflateRawSync('abc'), Buffer.alloc(4)])
        for (const options of [undefined, { windowBits: 0 }, { windowBits: 15 }]) {
          const node = await outcome(() => zlib.inflateSync(input, options))
          const streamed = await outcome(() => new Promise((resolve, reject) => {
            const s = createDecompressStream('deflate', options)
            const out = []
            s.on('data', (c) => out.push(c)).on('end', () => resolve(Buffer.concat(out))).on('error', reject)
            for (const byte of input) s.write(Buffer.from([byte]))
            s.end()
          }))
          rows.push([cinfo, options, node, await outcome(() => o.decompressSync('deflate', input, options)),
            await outcome(() => o.decompress('deflate', input, options)), streamed])
        }
      }
      console.log(JSON.stringify(rows))`)
    assert.equal(result.stderr, '')
    for (const [cinfo, options, node, ...ours] of childJson(result)) {
      for (const answer of ours) assert.equal(answer, node, `CINFO ${cinfo} ${JSON.stringify(options)}`)
    }
  })

  test('mutated data: offloop and node:zlib agree on what decodes and to what', () => {
    const r = random(7)
    for (const format of ['gzip', 'deflate', 'deflate-raw', 'brotli']) {
      const packed = NODE[format].compress(data(3000), 6)
      for (let i = 0; i < 300; i++) {
        const input = Buffer.from(packed)
        const flips = 1 + Math.floor(r() * 3)
        for (let f = 0; f < flips; f++) input[Math.floor(r() * input.length)] ^= 1 << Math.floor(r() * 8)
        const cut = r() < 0.3 ? input.subarray(0, Math.floor(r() * input.length)) : input
        let theirs
        let ours
        try {
          theirs = NODE[format].decompress(cut).toString('hex')
        } catch (e) {
          theirs = e.code === 'Z_BUF_ERROR' ? 'Z_BUF_ERROR' : 'error'
        }
        try {
          ours = offloop.decompressSync(format, cut).toString('hex')
        } catch (e) {
          assert.ok(['Z_DATA_ERROR', 'Z_BUF_ERROR'].includes(e.code), e.code)
          ours = e.code === 'Z_BUF_ERROR' ? 'Z_BUF_ERROR' : 'error'
        }
        assert.equal(ours, theirs, `${format} mutation ${i}: ${cut.toString('hex')}`)
      }
    }
  })

  test('maxOutputLength: RangeError ERR_BUFFER_TOO_LARGE past it, the exact length passes, nothing partial', async () => {
    const zeros = Buffer.alloc(4 << 20)
    for (const format of FORMATS) {
      const bomb = offloop.compressSync(format, zeros)
      assert.ok(bomb.length < 20_000, `${format}: ${bomb.length}`)
      const error = await rejectsWith(offloop.decompress(format, bomb, { maxOutputLength: 1 << 20 }), RangeError, 'ERR_BUFFER_TOO_LARGE')
      assert.match(error.message, /larger than 1048576 bytes/)
      throwsWith(() => offloop.decompressSync(format, bomb, { maxOutputLength: zeros.length - 1 }), RangeError, 'ERR_BUFFER_TOO_LARGE')
      assert.equal((await offloop.decompress(format, bomb, { maxOutputLength: zeros.length })).length, zeros.length)
      // It bounds compression output too, as in node:zlib.
      throwsWith(() => offloop.compressSync(format, randomBytes(5000), { maxOutputLength: 1000 }), RangeError, 'ERR_BUFFER_TOO_LARGE')
    }
  })

  test('the default limit (256 MiB) stops a bomb early, in memory well below the bomb\'s size', { timeout: 300_000 }, async () => {
    const r = await runChild(`
      import { createRequire } from 'node:module';
      const offloop = createRequire(import.meta.url)(${JSON.stringify(root + '/index.js')});
      const results = {};
      for (const format of ['gzip', 'brotli', 'zstd']) {
        // 512 MiB of zeros, compressed as a stream (the input is never whole in memory).
        const codec = new offloop.StreamCodec('compress', format, { level: 1, chunkSize: 1 << 20 });
        const parts = [];
        const block = Buffer.alloc(8 << 20);
        for (let i = 0; i < 64; i++) {
          parts.push(await codec.write(block));
          while (codec.more) parts.push(await codec.resume());
        }
        parts.push(await codec.end());
        while (codec.more) parts.push(await codec.resume());
        const bomb = Buffer.concat(parts);
        globalThis.gc();
        const before = process.memoryUsage().rss;
        let peak = before;
        const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 1);
        const error = await offloop.decompress(format, bomb).then(() => null, (e) => e);
        clearInterval(timer);
        results[format] = { bomb: bomb.length, code: error?.code, growthMb: (peak - before) / 2 ** 20 };
      }
      console.log(JSON.stringify(results));`, { args: ['--expose-gc'], timeoutMs: 280_000 })
    const results = childJson(r)
    for (const [format, { code, growthMb, bomb }] of Object.entries(results)) {
      assert.equal(code, 'ERR_BUFFER_TOO_LARGE', format)
      assert.ok(bomb < 4 << 20, `${format}: the bomb is ${bomb} bytes`)
      // The output may grow to the limit (256 MiB) and no further.
      assert.ok(growthMb < 300, `${format}: RSS grew by ${growthMb.toFixed(0)} MB`)
    }
  })
})

describe('arguments', () => {
  test('wrong types, unknown names and out-of-range options, worded as node:zlib words them', async () => {
    await rejectsWith(offloop.compress('lz4', 'x'), TypeError, 'ERR_INVALID_ARG_VALUE')
    await rejectsWith(offloop.compress('gzip', 42), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(offloop.compress('gzip', 'x', 'fast'), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(offloop.compress('gzip', 'x', { level: '1' }), TypeError, 'ERR_INVALID_ARG_TYPE')
    const e = await rejectsWith(offloop.compress('gzip', 'x', { level: 10 }), RangeError, 'ERR_OUT_OF_RANGE')
    // node:zlib's words, checked against node:zlib itself.
    const zlibMessage = (f) => {
      try {
        f()
      } catch (error) {
        return error.message
      }
      assert.fail('node:zlib took it')
    }
    assert.equal(e.message, zlibMessage(() => zlib.gzipSync('x', { level: 10 })))
    // NaN is the default in node:zlib (found by a hostile hunt, 2026-12-06: offloop refused it).
    const text = sample.subarray(0, 50_000)
    for (const key of ['level', 'windowBits', 'memLevel', 'strategy', 'chunkSize', 'maxOutputLength']) {
      const options = { [key]: NaN }
      assert.ok(offloop.compressSync('gzip', text, options).equals(zlib.gzipSync(text, options)), key)
      assert.ok(offloop.decompressSync('gzip', zlib.gzipSync(text), options).equals(text), key)
    }
    // (maxOutputLength's bound is Node 20's 2^32 here; node:zlib's is Buffer's largest, 2^53 - 1 from Node 22.)
    for (const options of [{ windowBits: 1 }, { windowBits: 16 }]) {
      const ours = throwsWith(() => offloop.decompressSync('gzip', zlib.gzipSync('x'), options), RangeError, 'ERR_OUT_OF_RANGE')
      assert.equal(ours.message, zlibMessage(() => zlib.gunzipSync(zlib.gzipSync('x'), options)))
    }
    // Integers beyond 2^32 are grouped as Node groups them (`Received 8_589_934_592`).
    for (const options of [{ windowBits: 8 }, { memLevel: 0 }, { strategy: 5 }, { level: 2 ** 33 }, { memLevel: -(2 ** 40) }]) {
      const ours = throwsWith(() => offloop.compressSync('gzip', 'x', options), RangeError, 'ERR_OUT_OF_RANGE')
      assert.equal(ours.message, zlibMessage(() => zlib.gzipSync('x', options)))
    }
    await rejectsWith(offloop.compress('gzip', 'x', { level: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('gzip', 'x', { windowBits: 8 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('deflate', 'x', { memLevel: 0 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('deflate', 'x', { strategy: 5 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('deflate', 'x', { chunkSize: 10 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.decompress('gzip', 'x', { maxOutputLength: 0 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.decompress('gzip', 'x', { maxOutputLength: 2 ** 33 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.decompress('deflate-raw', 'x', { windowBits: 0 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('brotli', 'x', { level: 12 }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('zstd', 'x', { level: 23 }), RangeError, 'ERR_OUT_OF_RANGE')
    const b = await rejectsWith(offloop.compress('brotli', 'x', { params: { 99: 1 } }), RangeError, 'ERR_BROTLI_INVALID_PARAM')
    assert.equal(b.message, '99 is not a valid Brotli parameter')
    await rejectsWith(offloop.compress('brotli', 'x', { params: { [BROTLI_PARAM_QUALITY]: 12 } }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('brotli', 'x', { params: { [BROTLI_PARAM_QUALITY]: '4' } }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(offloop.compress('brotli', 'x', { params: 5 }), TypeError, 'ERR_INVALID_ARG_TYPE')
    await rejectsWith(offloop.compress('brotli', 'x', { params: { 3: 15 } }), RangeError, 'ERR_OUT_OF_RANGE')
    await rejectsWith(offloop.compress('zstd', 'x', { params: { 9999: 1 } }), RangeError, 'ERR_ZSTD_INVALID_PARAM')
    await rejectsWith(offloop.compress('zstd', 'x', { params: { 400: 2 } }), RangeError, 'ERR_ZSTD_INVALID_PARAM')
    await rejectsWith(offloop.compress('gzip', 'x', { signal: {} }), TypeError, 'ERR_INVALID_ARG_TYPE')
    throwsWith(() => offloop.compressSync('gzip', 'x', { level: -2 }), RangeError, 'ERR_OUT_OF_RANGE')
    throwsWith(() => offloop.decompressSync('gzip', null), TypeError, 'ERR_INVALID_ARG_TYPE')
    // Options of other formats are ignored, as node:zlib ignores them.
    assert.ok(offloop.compressSync('brotli', 'x', { windowBits: 99, memLevel: 'x' }).length > 0)
    assert.ok(offloop.compressSync('gzip', 'x', { params: { 99: 1 } }).length > 0)
  })

  test('maxOutputLength up to 2^32 and windowBits 0 or 8-15 on decompression, as node:zlib takes them, in every form', async () => {
    // Found by a hostile hunt (2026-12-06): 2^32 read as 0 (a u32), and windowBits 1-7 panicked
    // inside zlib-rs (ERR_OFFLOOP_PANIC; a stream's promise was dropped unsettled).
    const gz = zlib.gzipSync('hello')
    assert.equal((await offloop.decompress('gzip', gz, { maxOutputLength: 2 ** 32 })).toString(), 'hello')
    assert.equal(offloop.decompressSync('gzip', gz, { maxOutputLength: 2 ** 32 }).toString(), 'hello')
    assert.ok(zlib.gunzipSync(await offloop.compress('gzip', 'hello', { maxOutputLength: 2 ** 32 })).equals(Buffer.from('hello')))
    const codec = new offloop.StreamCodec('decompress', 'gzip', { maxOutputLength: 2 ** 32 })
    assert.equal(Buffer.concat([await codec.write(gz), await codec.end()]).toString(), 'hello')
    for (const [format, data, reference] of [['gzip', gz, zlib.gunzipSync], ['deflate', zlib.deflateSync('hello'), zlib.inflateSync], ['deflate-raw', zlib.deflateRawSync('hello'), zlib.inflateRawSync]]) {
      for (let windowBits = 0; windowBits <= 16; windowBits++) {
        let expected
        try {
          expected = reference(data, { windowBits }).toString()
        } catch (e) {
          expected = e.code
        }
        const label = `${format} windowBits ${windowBits}`
        const outcome = (f) => f().then((b) => b.toString(), (e) => e.code)
        assert.equal(await outcome(() => offloop.decompress(format, data, { windowBits })), expected, label)
        assert.equal(await outcome(async () => offloop.decompressSync(format, data, { windowBits })), expected, label)
        assert.equal(await outcome(async () => {
          const c = new offloop.StreamCodec('decompress', format, { windowBits })
          return Buffer.concat([await c.write(data), await c.end()])
        }), expected, label)
      }
    }
  })

  test('a pre-aborted signal, and an abort while a slow compression runs', async () => {
    await rejectsWith(offloop.compress('gzip', 'x', { signal: AbortSignal.abort() }), Error, 'ABORT_ERR')
    const input = jsonBytes(8 << 20)
    const controller = new AbortController()
    const started = performance.now()
    const slowCall = offloop.compress('brotli', input, { level: 11, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    const error = await rejectsWith(slowCall, Error, 'ABORT_ERR')
    assert.equal(error.name, 'AbortError')
    // Quality 11 on 8 MB takes seconds; the abort is seen between slices of 1 MiB.
    assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`)
    const decompressing = offloop.decompress('gzip', offloop.compressSync('gzip', Buffer.alloc(200 << 20)), { signal: AbortSignal.timeout(1) })
    await rejectsWith(decompressing, Error, 'ABORT_ERR')
  })
})
