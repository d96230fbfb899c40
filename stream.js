'use strict'
// `offloop/stream`: compression and decompression as Node Transform streams, with the work on
// offloop's pool (never libuv's threadpool), in order, one chunk at a time, as node:zlib's streams.
// The native `StreamCodec` does the work; this file only moves chunks and follows node:zlib's
// stream behaviour (lib/zlib.js): `flush()` through the write queue, output in pieces of at most
// `chunkSize` bytes, and no more output made while the reader is behind.

const { Transform } = require('node:stream')
const { StreamCodec } = require('./index.js')

// Small chunks written meanwhile are joined into pieces of at most this many bytes (`_writev`).
const BATCH_MAX = 64 << 10

// `flush()` writes one of these marker chunks, so a flush keeps its place among the writes: one
// per kind node:zlib's `flush(kind)` takes (zlib's Z_NO_FLUSH 0 to Z_BLOCK 5; brotli and zstd use
// fewer, checked by the codec), and `undefined`, the format's default kind.
const flushMarkers = new Map([undefined, 0, 1, 2, 3, 4, 5].map((kind) => [kind, Buffer.alloc(0)]))
const flushKinds = new Map([...flushMarkers].map(([kind, marker]) => [marker, kind]))

class CodecStream extends Transform {
  constructor(direction, format, options) {
    // Arguments are checked (and may throw) before the stream exists, as node:zlib's constructors do.
    const codec = new StreamCodec(direction, format, options)
    super({ autoDestroy: true, ...options })
    this._codec = codec
    // Input bytes consumed so far, as on node:zlib's streams.
    this.bytesWritten = 0
  }

  _transform(chunk, encoding, callback) {
    // With `decodeStrings: false` a string arrives as written: encode it as its writer said.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk
    const call = flushKinds.has(chunk) ? this._codec.flush(flushKinds.get(chunk)) : this._codec.write(bytes)
    this._drain(call, () => {
      this.bytesWritten += bytes.length
      callback()
    }, callback)
  }

  /**
   * Chunks written while the pool worked on an earlier one: runs of small ones go to the pool as
   * one chunk, so a response written in many small pieces costs a few round trips, not one per
   * piece. A flush keeps its place; a large chunk, or one that is not bytes (`decodeStrings:
   * false`, `objectMode`), goes alone as before. Each piece goes through Transform's own `_write`,
   * which keeps its backpressure.
   */
  _writev(entries, callback) {
    const pieces = []
    let run = []
    let runLength = 0
    const endRun = () => {
      if (run.length > 0) pieces.push([run.length === 1 ? run[0] : Buffer.concat(run, runLength), 'buffer'])
      run = []
      runLength = 0
    }
    for (const { chunk, encoding } of entries) {
      if (flushKinds.has(chunk) || !(chunk instanceof Uint8Array) || chunk.length >= BATCH_MAX) {
        endRun()
        pieces.push([chunk, encoding])
      } else {
        if (runLength + chunk.length > BATCH_MAX) endRun()
        run.push(chunk)
        runLength += chunk.length
      }
    }
    endRun()
    const next = (i) => {
      if (i === pieces.length) return callback()
      this._write(pieces[i][0], pieces[i][1], (error) => (error ? callback(error) : next(i + 1)))
    }
    next(0)
  }

  _flush(callback) {
    this._drain(this._codec.end(), () => callback(), callback)
  }

  _destroy(error, callback) {
    this._codec.close()
    callback(error)
  }

  /** Pushes the output of `call` and of its continuations, then calls `done` (or `fail`). */
  _drain(call, done, fail) {
    call.then((output) => {
      if (this.destroyed) return done()
      const readerIsBehind = output.length > 0 && !this.push(output)
      if (!this._codec.more) return done()
      const resume = () => this._drain(this._codec.resume(), done, fail)
      if (!readerIsBehind) return resume()
      // Make the rest of the output only when the reader asks: node:zlib's way of keeping one
      // highly compressed chunk from filling memory.
      const read = this._read
      this._read = (size) => {
        this._read = read
        resume()
        this._read(size)
      }
    }, fail)
  }

  /**
   * Makes everything written so far decodable from the output so far, as node:zlib's
   * `flush([kind, ]callback)`, with its format's constants: `kind` defaults to
   * `zlib.constants.Z_FULL_FLUSH` for gzip and deflate, to brotli's and zstd's flush otherwise.
   */
  flush(kind, callback) {
    if (typeof kind === 'function') {
      callback = kind
      kind = undefined
    }
    const marker = flushMarkers.get(kind)
    if (marker === undefined) {
      const error = new RangeError(`The value of "kind" is out of range. It must be >= 0 && <= 5. Received ${String(kind)}`)
      error.code = 'ERR_OUT_OF_RANGE'
      throw error
    }
    if (this.writableFinished) {
      if (callback) process.nextTick(callback)
    } else if (this.writableEnded) {
      if (callback) this.once('end', callback)
    } else {
      this.write(marker, '', callback)
    }
  }
}

class CompressStream extends CodecStream {
  constructor(format, options) {
    super('compress', format, options)
  }
}

class DecompressStream extends CodecStream {
  constructor(format, options) {
    super('decompress', format, options)
  }
}

/** A Transform that compresses in `format` on offloop's pool, like node:zlib's `createGzip()` and kin. */
function createCompressStream(format, options) {
  return new CompressStream(format, options)
}

/** A Transform that decompresses `format` on offloop's pool, like node:zlib's `createGunzip()` and kin. */
function createDecompressStream(format, options) {
  return new DecompressStream(format, options)
}

module.exports = { CompressStream, DecompressStream, createCompressStream, createDecompressStream }
