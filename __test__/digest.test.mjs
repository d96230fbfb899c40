// Hashing: known-answer vectors (NIST SHA-2, RFC 4231 HMAC, BLAKE3's official vectors),
// differential tests against node:crypto and hash-wasm, streams, files and bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { blake3 as wasmBlake3 } from 'hash-wasm'
import express from 'express'

const require = createRequire(import.meta.url)
const offloop = require('../index.js')
const { hash, hashSync, hashMany, hashFile, hashFiles, hmac, hmacSync, createHasher, hashStream } = offloop

const ALGORITHMS = ['sha256', 'sha384', 'sha512', 'sha512-256', 'blake3']
const SHA2 = ALGORITHMS.filter((a) => a !== 'blake3')
const ENCODINGS = ['hex', 'base64', 'base64url', 'buffer']

// A seeded generator, so a failure can be replayed: set DIGEST_TEST_SEED to the printed seed.
const SEED = Number(process.env.DIGEST_TEST_SEED ?? (Date.now() % 2 ** 31))
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
const random = prng(SEED)
const randomInt = (max) => Math.floor(random() * max)
console.log(`digest tests: seed ${SEED}`)

const BIG = crypto.randomBytes(16 << 20)

/** The reference digest: node:crypto for SHA-2, hash-wasm for BLAKE3 (node:crypto has none). */
async function reference(algorithm, data, encoding = 'hex', key) {
  let bytes
  if (algorithm === 'blake3') {
    bytes = Buffer.from(await wasmBlake3(data, 256, key), 'hex')
  } else if (key !== undefined) {
    bytes = crypto.createHmac(algorithm, key).update(data).digest()
  } else {
    bytes = crypto.createHash(algorithm).update(data).digest()
  }
  return encoding === 'buffer' ? bytes : bytes.toString(encoding)
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'offloop-digest-'))
}

test('NIST SHA-2 known answers (FIPS 180-4 examples)', async () => {
  const m448 = 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'
  const m896 =
    'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'
  const million = 'a'.repeat(1_000_000)
  const vectors = [
    ['sha256', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['sha256', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['sha256', m448, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['sha256', million, 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
    [
      'sha384',
      'abc',
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    ],
    [
      'sha384',
      m896,
      '09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039',
    ],
    [
      'sha384',
      million,
      '9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985',
    ],
    [
      'sha512',
      'abc',
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
    [
      'sha512',
      m896,
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
    ],
    [
      'sha512',
      million,
      'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b',
    ],
    ['sha512-256', 'abc', '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23'],
    ['sha512-256', m896, '3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a'],
  ]
  for (const [algorithm, message, expected] of vectors) {
    assert.equal(await hash(algorithm, message), expected, `${algorithm} of ${message.length} bytes`)
    assert.equal(hashSync(algorithm, message), expected)
    assert.equal(await hash(algorithm, Buffer.from(message)), expected)
  }
})

test('RFC 4231 HMAC-SHA-2 test cases 1-4, 6, 7', async () => {
  const cases = [
    [
      Buffer.alloc(20, 0x0b),
      Buffer.from('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
    ],
    [
      'Jefe',
      'what do ya want for nothing?',
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    ],
    [
      Buffer.alloc(20, 0xaa),
      Buffer.alloc(50, 0xdd),
      '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
      '88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27',
      'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
    ],
    [
      Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1)),
      Buffer.alloc(50, 0xcd),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb',
      'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
    ],
    [
      Buffer.alloc(131, 0xaa),
      'Test Using Larger Than Block-Size Key - Hash Key First',
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
      '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
    ],
    [
      Buffer.alloc(131, 0xaa),
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      '6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e',
      'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
    ],
  ]
  for (const [key, data, sha256, sha384, sha512] of cases) {
    for (const [algorithm, expected] of Object.entries({ sha256, sha384, sha512 })) {
      assert.equal(await hmac(algorithm, key, data), expected, `${algorithm}`)
      assert.equal(hmacSync(algorithm, key, data), expected)
    }
    // RFC 4231 has no SHA-512/256 column: compare with node:crypto.
    assert.equal(await hmac('sha512-256', key, data), await reference('sha512-256', data, 'hex', key))
  }
})

test("BLAKE3 official test vectors (hash and keyed_hash modes)", async () => {
  const vectors = JSON.parse(fs.readFileSync(new URL('./fixtures/blake3-vectors.json', import.meta.url), 'utf8'))
  const key = Buffer.from(vectors.key)
  for (const { input_len: length, hash: expected, keyed_hash: keyed } of vectors.cases) {
    const input = Buffer.from(Array.from({ length }, (_, i) => i % 251))
    assert.equal(await hash('blake3', input), expected, `hash of ${length} bytes`)
    assert.equal(hashSync('blake3', input), expected)
    assert.equal(await hmac('blake3', key, input), keyed, `keyed_hash of ${length} bytes`)
    assert.equal(hmacSync('blake3', vectors.key, input), keyed)
  }
})

test('every encoding matches node:crypto, and buffer gives a Buffer', async () => {
  const data = crypto.randomBytes(1000)
  for (const algorithm of ALGORITHMS) {
    for (const encoding of ENCODINGS) {
      const expected = await reference(algorithm, data, encoding)
      assert.deepEqual(await hash(algorithm, data, encoding), expected, `${algorithm} ${encoding}`)
      assert.deepEqual(hashSync(algorithm, data, encoding), expected)
    }
    assert.ok(Buffer.isBuffer(await hash(algorithm, data, 'buffer')))
    assert.equal(await hash(algorithm, data, undefined), await reference(algorithm, data))
    assert.equal(await hash(algorithm, data, null), await reference(algorithm, data))
  }
})

test('strings hash as UTF-8 and every kind of view hashes its own bytes', async () => {
  const text = 'héllo wörld ✓ 𝄞 and a lone surrogate-free string'
  for (const algorithm of ALGORITHMS) {
    assert.equal(await hash(algorithm, text), await reference(algorithm, Buffer.from(text, 'utf8')))
  }
  // Views at an offset into a larger buffer, of every size class (copied below 64 KiB, shared above).
  for (const size of [10, 70_000]) {
    const backing = crypto.randomBytes(size * 8 + 16)
    const bytes = backing.subarray(8, 8 + size * 4)
    const views = [
      new Uint8Array(backing.buffer, backing.byteOffset + 8, size * 4),
      new Uint16Array(backing.buffer.slice(backing.byteOffset + 8, backing.byteOffset + 8 + size * 4)),
      new Float32Array(backing.buffer.slice(backing.byteOffset + 8, backing.byteOffset + 8 + size * 4)),
      new DataView(backing.buffer, backing.byteOffset + 8, size * 4),
      backing.buffer.slice(backing.byteOffset + 8, backing.byteOffset + 8 + size * 4),
    ]
    for (const algorithm of ['sha256', 'blake3']) {
      const expected = await reference(algorithm, bytes)
      for (const view of views) {
        assert.equal(await hash(algorithm, view), expected, `${algorithm} ${view.constructor.name} ${size}`)
        assert.equal(hashSync(algorithm, view), expected)
        assert.deepEqual(await hashMany(algorithm, [view]), [expected])
      }
    }
  }
})

// Float16Array (Node 24+) is the one view whose element size N-API added late: each path that
// takes bytes (copied, staged from 1 MiB, read over a SharedArrayBuffer, borrowed by sync exports,
// secrets) must see all of its bytes, not one per element.
test('a Float16Array gives all of its bytes to every export that takes bytes', { skip: typeof Float16Array === 'undefined' && 'no Float16Array before Node 24' }, async () => {
  const zlib = await import('node:zlib')
  const fill = (view) => {
    new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(crypto.randomBytes(view.byteLength))
    return view
  }
  const views = [
    fill(new Float16Array(10)),
    fill(new Float16Array(1 << 20)),
    fill(new Float16Array(new SharedArrayBuffer(2 << 20))),
  ]
  for (const view of views) {
    const bytes = Buffer.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    const label = `${view.length} elements${view.buffer instanceof SharedArrayBuffer ? ', shared' : ''}`
    const expected = await reference('sha256', bytes)
    assert.equal(await hash('sha256', view), expected, label)
    assert.equal(hashSync('sha256', view), expected, label)
    assert.deepEqual(await hashMany('sha256', [view]), [expected], label)
    assert.equal(await createHasher('sha256').update(view).digest(), expected, label)
    assert.equal(await hmac('sha256', view, 'data'), await reference('sha256', 'data', 'hex', bytes), label)
    assert.equal(hmacSync('sha256', 'key', view), await reference('sha256', bytes, 'hex', 'key'), label)
    assert.deepEqual(zlib.gunzipSync(await offloop.compress('gzip', view)), bytes, label)
    assert.deepEqual(zlib.gunzipSync(offloop.compressSync('gzip', view)), bytes, label)
  }
  const salt = Buffer.alloc(16, 1)
  const password = views[0]
  const options = { memoryCost: 64, timeCost: 1, salt }
  assert.equal(
    await offloop.hashPassword(password, options),
    await offloop.hashPassword(Buffer.from(password.buffer), options),
  )
})

/** Sizes around block (64/128 B), BLAKE3 chunk (1 KiB), copy/share (64 KiB), parallel (128 KiB)
 * and file-chunk (1 MiB) boundaries, up to 16 MiB, plus random ones. */
const SIZES = [
  0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1023, 1024, 1025, 65535, 65536, 65537, 131071, 131072, 131073,
  (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 16 << 20,
  ...Array.from({ length: 4 }, () => randomInt(16 << 20)),
]

test('differential: hash, hashSync, hashMany and hmac agree with the references on 0 B to 16 MiB', async () => {
  for (const algorithm of ALGORITHMS) {
    const inputs = SIZES.map((size) => BIG.subarray(0, size))
    const expected = await Promise.all(inputs.map((input) => reference(algorithm, input)))
    assert.deepEqual(await Promise.all(inputs.map((input) => hash(algorithm, input))), expected, algorithm)
    assert.deepEqual(
      inputs.map((input) => hashSync(algorithm, input)),
      expected,
      algorithm,
    )
    assert.deepEqual(await hashMany(algorithm, inputs), expected, algorithm)
    const key = algorithm === 'blake3' ? crypto.randomBytes(32) : crypto.randomBytes(randomInt(200))
    const macInputs = inputs.filter((_, i) => i % 3 === 0)
    for (const input of macInputs) {
      assert.equal(await hmac(algorithm, key, input), await reference(algorithm, input, 'hex', key), `${algorithm} hmac`)
    }
  }
})

/** Feeds `chunks` to createHasher() and to hashStream() and returns both digests. */
async function incremental(algorithm, chunks) {
  const hasher = createHasher(algorithm)
  for (const chunk of chunks) assert.equal(hasher.update(chunk), hasher)
  return Promise.all([hasher.digest(), hashStream(algorithm, Readable.from(chunks, { objectMode: true }))])
}

test('differential: createHasher and hashStream with a split at every boundary', async () => {
  const data = BIG.subarray(0, 2100) // crosses SHA-2 blocks and two BLAKE3 chunks
  for (const algorithm of ['sha256', 'sha512', 'blake3']) {
    const expected = await reference(algorithm, data)
    const splits = Array.from({ length: data.length + 1 }, (_, i) => incremental(algorithm, [data.subarray(0, i), data.subarray(i)]))
    for (const [i, digests] of (await Promise.all(splits)).entries()) {
      assert.deepEqual(digests, [expected, expected], `${algorithm} split at ${i}`)
    }
  }
})

test('differential: createHasher and hashStream with random chunks up to 16 MiB', async () => {
  for (const algorithm of ALGORITHMS) {
    for (const size of [0, 100_000, 3_000_001, 16 << 20]) {
      const data = BIG.subarray(0, size)
      const chunks = []
      for (let at = 0; at < size; ) {
        // Mostly small chunks, sometimes large ones (shared, and split over threads by BLAKE3).
        const next = Math.min(size, at + (random() < 0.2 ? randomInt(1 << 20) : randomInt(70_000)))
        chunks.push(data.subarray(at, next))
        at = next
      }
      const expected = await reference(algorithm, data)
      assert.deepEqual(await incremental(algorithm, chunks), [expected, expected], `${algorithm} ${size}`)
    }
  }
})

test('createHasher copies each chunk, so a reused buffer hashes like node:crypto', async () => {
  const buffer = Buffer.alloc(100_000, 1)
  const ours = createHasher('sha256')
  const theirs = crypto.createHash('sha256')
  for (let i = 0; i < 5; i++) {
    buffer.fill(i)
    ours.update(buffer)
    theirs.update(buffer)
  }
  assert.equal(await ours.digest('base64'), theirs.digest('base64'))
})

test('hashStream equals node:crypto whatever the iterable does with its buffers', async () => {
  // Random bytes; the reference is node:crypto over the bytes each pattern recorded as it yielded.
  const fill = (buffer) => crypto.randomFillSync(buffer)
  // Each pattern yields `count` chunks of `size` bytes and records what it yielded, so the
  // reference is node:crypto over the same bytes in the same order.
  const patterns = {
    // One Buffer refilled for every chunk, as a parser reusing its read buffer does.
    async *reused(size, count, seen) {
      const buffer = Buffer.alloc(size)
      for (let i = 0; i < count; i++) { fill(buffer); seen.update(buffer); yield buffer }
    },
    // A file read with fileHandle.read() into one buffer, the loop Node's docs show (its first
    // `count` reads).
    async *fileHandle(size, count, seen, file) {
      const handle = await fs.promises.open(file, 'r')
      try {
        const buffer = Buffer.alloc(size)
        for (let i = 0; i < count; i++) {
          const { bytesRead } = await handle.read(buffer, 0, size)
          if (bytesRead === 0) break
          seen.update(buffer.subarray(0, bytesRead))
          yield buffer.subarray(0, bytesRead)
        }
      } finally {
        await handle.close()
      }
    },
    // Each chunk's memory is transferred away (and its new owner dropped) as soon as the consumer
    // asks for the next one.
    async *transferred(size, count, seen) {
      for (let i = 0; i < count; i++) {
        const chunk = fill(Buffer.alloc(size))
        seen.update(chunk)
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)
        structuredClone(chunk.buffer, { transfer: [chunk.buffer] })
      }
    },
    // Chunks of a resizable buffer that shrinks to nothing after each yield.
    async *resized(size, count, seen) {
      for (let i = 0; i < count; i++) {
        const buffer = new ArrayBuffer(size, { maxByteLength: size })
        const chunk = new Uint8Array(buffer)
        fill(chunk)
        seen.update(chunk)
        yield chunk
        buffer.resize(0)
      }
    },
  }
  const dir = tempDir()
  const file = path.join(dir, 'reads.bin')
  fs.writeFileSync(file, fill(Buffer.alloc((3 << 20) + 12345)))
  try {
    for (const size of [1, 1000, 64 << 10, 256 << 10, 1 << 20, 4 << 20]) {
      const count = Math.max(2, Math.min(64, (8 << 20) / size))
      for (const [name, pattern] of Object.entries(patterns)) {
        for (const algorithm of ['sha256', 'blake3']) {
          const bytes = []
          const recorder = { update: (b) => bytes.push(Buffer.from(b)) }
          const got = await hashStream(algorithm, pattern(size, count, recorder, file))
          const expected = await reference(algorithm, Buffer.concat(bytes))
          assert.equal(got, expected, `${name}, ${size}-byte chunks, ${algorithm}`)
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})

test('hashStream consumes fs streams, generators, sync iterables and an Express upload', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'five-mib.bin')
  const data = BIG.subarray(0, (5 << 20) + 3)
  fs.writeFileSync(file, data)
  for (const algorithm of ['sha256', 'blake3']) {
    const expected = await reference(algorithm, data)
    assert.equal(await hashStream(algorithm, fs.createReadStream(file)), expected)
    assert.equal(await hashStream(algorithm, fs.createReadStream(file, { highWaterMark: 1000 })), expected)
  }
  // Strings (UTF-8) from an async generator, and more than 8 MiB queued from a sync array (the
  // backpressure path: the loop waits for the hash to catch up).
  async function* words() {
    for (let i = 0; i < 1000; i++) yield `wörd ${i} `
  }
  const text = Array.from({ length: 1000 }, (_, i) => `wörd ${i} `).join('')
  assert.equal(await hashStream('sha512', words(), 'base64'), await reference('sha512', Buffer.from(text), 'base64'))
  const megabytes = Array.from({ length: 16 }, (_, i) => BIG.subarray(i << 20, (i + 1) << 20))
  assert.equal(await hashStream('sha256', megabytes), await reference('sha256', BIG))
  const tiny = Array.from({ length: 50_000 }, (_, i) => String.fromCharCode(97 + (i % 26)))
  assert.equal(await hashStream('blake3', tiny), await reference('blake3', Buffer.from(tiny.join(''))))

  // The README's example: hash an upload as it arrives.
  const app = express()
  app.put('/files/:name', async (req, res) => {
    const etag = await hashStream('sha256', req)
    res.set('ETag', `"${etag}"`).sendStatus(201)
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const body = BIG.subarray(0, 3 << 20)
    const response = await fetch(`http://127.0.0.1:${server.address().port}/files/a.bin`, { method: 'PUT', body })
    assert.equal(response.status, 201)
    assert.equal(response.headers.get('etag'), `"${await reference('sha256', body)}"`)
  } finally {
    server.close()
    fs.rmSync(dir, { recursive: true })
  }
})

test('hashStream passes on what the source throws and destroys a stream on a bad chunk', async () => {
  const boom = new Error('boom')
  async function* failing() {
    yield 'a'
    throw boom
  }
  await assert.rejects(hashStream('sha256', failing()), (err) => err === boom)

  const stream = Readable.from(['ok', 42, 'never'], { objectMode: true })
  await assert.rejects(hashStream('sha256', stream), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  assert.ok(stream.destroyed, 'the stream was destroyed through return()')

  const errored = new Readable({ read() {} })
  const pending = hashStream('sha256', errored)
  errored.push('some')
  errored.destroy(new Error('socket hang up'))
  await assert.rejects(pending, { message: 'socket hang up' })

  for (const source of [42, 'a string', null, undefined, {}, { [Symbol.asyncIterator]: 1 }]) {
    await assert.rejects(hashStream('sha256', source), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(hashStream('md5', ['x']), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
})

test('hashFile and hashFiles read files of every size like node:crypto', async () => {
  const dir = tempDir()
  try {
    const sizes = [0, 1, 4095, 4096, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (5 << 20) + 3]
    const paths = sizes.map((size, i) => {
      const file = path.join(dir, `f${i}.bin`)
      fs.writeFileSync(file, BIG.subarray(size === 0 ? 0 : i, i + size))
      return file
    })
    for (const algorithm of ALGORITHMS) {
      const expected = await Promise.all(paths.map((file) => reference(algorithm, fs.readFileSync(file))))
      assert.deepEqual(await Promise.all(paths.map((file) => hashFile(algorithm, file))), expected, algorithm)
      assert.deepEqual(await hashFiles(algorithm, paths), expected, algorithm)
    }
    assert.deepEqual(
      await hashFile('blake3', paths[7], 'buffer'),
      await reference('blake3', fs.readFileSync(paths[7]), 'buffer'),
    )
    assert.deepEqual(await hashFiles('sha256', []), [])
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})

test('file errors keep Node fs codes, syscall and path', async () => {
  const dir = tempDir()
  try {
    const missing = path.join(dir, 'missing.bin')
    await assert.rejects(hashFile('sha256', missing), (err) => {
      assert.equal(err.code, 'ENOENT')
      assert.equal(err.syscall, 'open')
      assert.equal(err.path, missing)
      assert.equal(err.message, `ENOENT: no such file or directory, open '${missing}'`)
      return true
    })
    await assert.rejects(hashFile('blake3', dir), { code: 'EISDIR', syscall: 'read', path: dir })
    const present = path.join(dir, 'present.bin')
    fs.writeFileSync(present, 'x')
    await assert.rejects(hashFiles('sha256', [present, missing, present]), { code: 'ENOENT', path: missing })
    if (process.getuid?.() !== 0) {
      // root reads any file, so EACCES can only be seen as another user.
      fs.chmodSync(present, 0)
      await assert.rejects(hashFile('sha256', present), { code: 'EACCES', path: present })
    }
    for (const bad of [42, Buffer.from(present), new URL(`file://${present}`), undefined, null]) {
      await assert.rejects(hashFile('sha256', bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    }
    await assert.rejects(hashFile('sha256', 'a\0b'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
    await assert.rejects(hashFiles('sha256', present), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(hashFiles('sha256', [present, 7]), (err) => {
      assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
      assert.match(err.message, /"paths\[1\]"/)
      return true
    })
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})

test('bad input: unknown algorithm or encoding and wrong types are TypeErrors naming what is supported', async () => {
  await assert.rejects(hash('md5', 'x'), (err) => {
    assert.equal(err.name, 'TypeError')
    assert.equal(err.code, 'ERR_INVALID_ARG_VALUE')
    for (const name of ALGORITHMS) assert.ok(err.message.includes(`'${name}'`), err.message)
    return true
  })
  await assert.rejects(hash('sha256', 'x', 'latin1'), (err) => {
    assert.equal(err.code, 'ERR_INVALID_ARG_VALUE')
    for (const name of ENCODINGS) assert.ok(err.message.includes(`'${name}'`), err.message)
    return true
  })
  assert.throws(() => hashSync('SHA256', 'x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => hashSync('sha256', 'x', 'utf8'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => createHasher('sha1'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  for (const bad of [undefined, null, 256, {}, Symbol('sha256')]) {
    await assert.rejects(hash(bad, 'x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => hashSync(bad, 'x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  for (const bad of [undefined, null, 42, {}, [1, 2], true]) {
    await assert.rejects(hash('sha256', bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => hashSync('sha256', bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    assert.throws(() => createHasher('sha256').update(bad), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(hmac('sha256', bad, 'x'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(hash('sha256', 'x', 7), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(hashMany('sha256', 'abc'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(hashMany('sha256', ['a', 5]), (err) => {
    assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
    assert.match(err.message, /"inputs\[1\]"/)
    return true
  })
  await assert.rejects(hash('sha256', 'x', 'hex', { signal: 'nope' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('blake3 keyed mode takes exactly 32 key bytes; keys never show in messages', async () => {
  for (const length of [0, 16, 31, 33, 64]) {
    await assert.rejects(hmac('blake3', Buffer.alloc(length, 7), 'x'), (err) => {
      assert.equal(err.name, 'RangeError')
      assert.equal(err.code, 'ERR_OUT_OF_RANGE')
      assert.match(err.message, new RegExp(`Received ${length}$`))
      return true
    })
  }
  assert.throws(() => hmacSync('blake3', 'short secret key', 'x'), (err) => {
    assert.equal(err.code, 'ERR_OUT_OF_RANGE')
    assert.ok(!err.message.includes('short secret key'))
    return true
  })
})

test('Hasher: update returns this, digest once, update after digest throws', async () => {
  const hasher = createHasher('sha256')
  assert.ok(hasher instanceof offloop.Hasher)
  assert.equal(hasher.update('a').update(Buffer.from('b')).update(new Uint8Array([99])), hasher)
  assert.equal(await hasher.digest(), crypto.hash('sha256', 'abc'))
  assert.throws(() => hasher.update('more'), { code: 'ERR_CRYPTO_HASH_FINALIZED' })
  await assert.rejects(hasher.digest(), { code: 'ERR_CRYPTO_HASH_FINALIZED' })
  await assert.rejects(createHasher('blake3').digest('utf8'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.deepEqual(await createHasher('sha384').digest('buffer'), crypto.createHash('sha384').digest())
  assert.equal(await new offloop.Hasher('blake3').update('abc').digest(), await reference('blake3', 'abc'))
  assert.throws(() => new offloop.Hasher('md5'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
})

test('an aborted signal rejects with an AbortError', async () => {
  const aborted = AbortSignal.abort()
  const calls = [
    hash('sha256', BIG, 'hex', { signal: aborted }),
    hashMany('sha256', [BIG], 'hex', { signal: aborted }),
    hmac('sha256', 'k', BIG, 'hex', { signal: aborted }),
    hashFile('sha256', '/etc/hostname', 'hex', { signal: aborted }),
    hashFiles('sha256', ['/etc/hostname'], 'hex', { signal: aborted }),
  ]
  for (const call of calls) {
    await assert.rejects(call, { name: 'AbortError', code: 'ABORT_ERR' })
  }
  const controller = new AbortController()
  const pending = hash('sha512', BIG, 'hex', { signal: controller.signal })
  controller.abort()
  await assert.rejects(pending, { name: 'AbortError' })
})

test('thousands of files never run out of file descriptors (ulimit -n 64)', () => {
  const dir = tempDir()
  try {
    const count = 3000
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `${i}.txt`), `file ${i}\n`.repeat(i % 50))
    const large = Array.from({ length: 12 }, (_, i) => path.join(dir, `large-${i}.bin`))
    for (const file of large) fs.writeFileSync(file, BIG.subarray(0, 3 << 20))
    // A child under a low descriptor limit: hashFiles over all files and as many hashFile calls at
    // once, then multi-chunk files (whose reads and BLAKE3 hashing use rayon::join) mixed with large
    // in-memory hashes, counting the descriptors open meanwhile: a pool thread that waits in a join
    // may pick up another queued file, but never more than one (two files per thread at most).
    const script = `
      const crypto = require('node:crypto'), fs = require('node:fs'), path = require('node:path')
      const { hashFiles, hashFile, hash, poolStats } = require(${JSON.stringify(require.resolve('../index.js'))})
      const dir = ${JSON.stringify(dir)}
      const paths = Array.from({ length: ${count} }, (_, i) => path.join(dir, i + '.txt'))
      const large = ${JSON.stringify(large)}
      const openFds = () => fs.readdirSync("/proc/self/fd").length
      ;(async () => {
        const many = await hashFiles('blake3', paths)
        const each = await Promise.all(paths.map((p) => hashFile('sha256', p)))
        const expected = paths.map((p) => crypto.hash('sha256', fs.readFileSync(p)))
        if (JSON.stringify(each) !== JSON.stringify(expected)) throw new Error('mismatch')
        const base = openFds()
        let maxExtra = 0
        let worst = []
        const timer = setInterval(() => { const n = openFds(); if (n - base > maxExtra) { maxExtra = n - base; worst = fs.readdirSync('/proc/self/fd').map((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f) } catch { return '?' } }) } }, 1)
        const memory = crypto.randomBytes(8 << 20)
        const calls = []
        for (let round = 0; round < 10; round++) {
          for (const [i, p] of large.entries()) {
            calls.push(hashFile(i % 2 ? 'sha256' : 'blake3', p))
            if (i % 4 === 0) calls.push(hash('blake3', memory))
          }
        }
        await Promise.all(calls)
        clearInterval(timer)
        console.log(JSON.stringify({ files: many.length + each.length, maxExtra, threads: poolStats().threads, worst }))
      })().catch((e) => { console.error(e); process.exit(1) })
    `
    const child = spawnSync('/bin/sh', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], {
      encoding: 'utf8',
    })
    assert.equal(child.status, 0, child.stderr)
    const { files, maxExtra, threads } = JSON.parse(child.stdout)
    assert.equal(files, 2 * count)
    // Two files per pool thread, plus the directory handle that counts them.
    assert.ok(maxExtra <= 2 * threads + 1, `${maxExtra} descriptors open at once with ${threads} threads` + child.stdout)
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})

test('a full queue (maxQueue) rejects or throws ERR_QUEUE_FULL on every path, never an unhandled rejection', () => {
  // A child: configure() must run before the pool starts. One thread, one waiting job allowed.
  const script = `
    const assert = require('node:assert/strict')
    const offloop = require(${JSON.stringify(require.resolve('../index.js'))})
    const { configure, poolStats, hash, createHasher, hashStream, hashMany } = offloop
    configure({ threads: 1, maxQueue: 1 })
    process.on('unhandledRejection', (e) => { console.error('unhandled', e); process.exit(3) })
    ;(async () => {
      const big = Buffer.alloc(128 << 20, 1)
      const running = hash('sha512', big)
      while (poolStats().running === 0) await new Promise((r) => setTimeout(r, 1))
      // A small input, queued at once: a large one is copied first (between turns of the loop), and
      // the running job could finish before that copy did, so nothing would ever wait (a hang
      // seen once on Node 26).
      const queued = hash('sha512', 'waits')
      assert.equal(poolStats().queued, 1)
      const full = { code: 'ERR_QUEUE_FULL' }
      await assert.rejects(hash('sha256', 'x'), full)
      await assert.rejects(hashMany('sha256', ['x']), full)
      assert.throws(() => createHasher('sha256').update('x'), full)
      await assert.rejects(createHasher('sha256').digest(), full)
      await assert.rejects(hashStream('sha256', ['a', 'b']), full)
      await Promise.all([running, queued])
      // Once the queue drains, everything works again.
      assert.equal(await createHasher('sha256').update('abc').digest(), require('node:crypto').hash('sha256', 'abc'))
      assert.equal(await hashStream('sha256', ['a', 'bc']), require('node:crypto').hash('sha256', 'abc'))
      await new Promise((r) => setTimeout(r, 50))
      console.log('ok')
    })().catch((e) => { console.error(e); process.exit(1) })
  `
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(child.status, 0, child.stderr || `ended by ${child.signal}`)
  assert.equal(child.stdout.trim(), 'ok')
})

test('terminating worker_threads mid-stream, mid-hasher and mid-file is safe', () => {
  const dir = tempDir()
  const file = path.join(dir, 'big.bin')
  fs.writeFileSync(file, BIG)
  try {
    const worker = `
      const o = require(${JSON.stringify(require.resolve('../index.js'))})
      const big = Buffer.alloc(8 << 20, 7)
      async function* chunks() { for (let i = 0; i < 1000; i++) yield big.subarray(0, (1 << 20) + i) }
      o.hashStream('blake3', chunks()).catch(() => {})
      const h = o.createHasher('sha256')
      for (let i = 0; i < 50; i++) h.update(big.subarray(0, 1 << 20))
      h.digest().catch(() => {})
      o.hashMany('sha256', Array(32).fill(big)).catch(() => {})
      o.hashFile('blake3', ${JSON.stringify(file)}).catch(() => {})
      require('node:worker_threads').parentPort.postMessage('started')
    `
    const script = `
      const { Worker } = require('node:worker_threads')
      ;(async () => {
        for (let i = 0; i < 20; i++) {
          const w = new Worker(${JSON.stringify(worker)}, { eval: true })
          await new Promise((resolve) => w.once('message', resolve))
          await new Promise((resolve) => setTimeout(resolve, i % 5))
          await w.terminate()
        }
        console.log('ok')
      })()
    `
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 })
    assert.equal(child.status, 0, child.stderr)
    assert.equal(child.stdout.trim(), 'ok')
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})
