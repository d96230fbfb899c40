'use strict'
// `offloop/express`: response compression for Express (and any Connect-style server), a drop-in for
// the `compression` middleware with the work on offloop's pool instead of libuv's threadpool.
//
// It decides as `compression` does, when the headers go out: a filter (compressible Content-Type),
// `Cache-Control: no-transform`, `Vary: Accept-Encoding`, a size threshold, no second encoding of
// an encoded body, no body for HEAD, the client's Accept-Encoding with quality values. A body sent
// whole (`res.end(body)`, which `res.send()`/`res.json()` use) is compressed in one piece and
// sent with its Content-Length; a body written in parts goes through a compressing stream, and
// `res.flush()` makes what was written so far reach the client (server-sent events).
// Optionally, compressed request bodies are decompressed before the body parsers run, with a
// limit on the decompressed size.

const { constants } = require('node:zlib')
const { compress, decompress } = require('./index.js')
const { createCompressStream } = require('./stream.js')
const {
  FORMATS,
  checkedCodecs,
  negotiate,
  outputLimit,
  compressible,
  noTransform,
  varyWith,
  byteCount,
  codingsOption,
  requestBodyError,
  unsupportedEncoding,
} = require('./lib/compression.js')

/** `compression`'s default filter: compress compressible Content-Types. */
function shouldCompress(req, res) {
  return compressible(res.getHeader('Content-Type'))
}

const ZLIB_OPTIONS = ['level', 'memLevel', 'windowBits', 'strategy', 'chunkSize']

/** Options of each coding's compressor, from `compression`'s option names. */
function codecOptions(options) {
  const zlib = Object.fromEntries(ZLIB_OPTIONS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]))
  const brotli = options.brotli ?? {}
  return {
    gzip: zlib,
    deflate: zlib,
    // Quality 4, as `compression` and `@fastify/compress` default to: 11 (node:zlib's) is far too
    // slow for responses.
    br: { ...brotli, params: { [constants.BROTLI_PARAM_QUALITY]: 4, ...brotli.params } },
    zstd: options.zstd ?? {},
  }
}

function toBuffer(chunk, encoding) {
  if (Buffer.isBuffer(chunk)) return chunk
  if (ArrayBuffer.isView(chunk)) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(chunk, encoding)
}

/**
 * The middleware. Options (those of `compression`, plus offloop's):
 * - `threshold`: bytes below which a response is sent as is (default 1024; '1kb' strings work).
 * - `filter(req, res)`: whether to consider compressing (default: a compressible Content-Type).
 * - `encodings`: the codings offered, in the server's order of preference (default
 *   `['br', 'gzip', 'deflate']`; add `'zstd'` for clients that accept it).
 * - `level`, `memLevel`, `windowBits`, `strategy`, `chunkSize`: gzip/deflate options.
 * - `brotli`: `{ params }` of brotli (default quality 4). `zstd`: `{ level, params }`.
 * - `enforceEncoding`: the coding to use when a request has no Accept-Encoding (default identity).
 * - `decompressRequests`: `true` or `{ encodings, maxOutputLength }` to decompress request bodies
 *   sent with a Content-Encoding (default limit 1 MiB decompressed).
 */
function compression(options = {}) {
  const settings = {
    threshold: byteCount(options.threshold, 'threshold', 1024),
    filter: options.filter ?? shouldCompress,
    encodings: codingsOption(options.encodings, 'encodings', ['br', 'gzip', 'deflate']),
    enforceEncoding: options.enforceEncoding ?? 'identity',
    codecs: checkedCodecs(codecOptions(options)),
  }
  const requests = options.decompressRequests ? requestSettings(options.decompressRequests) : null
  return function offloopCompression(req, res, next) {
    compressResponse(req, res, settings)
    if (!requests) return next()
    decompressRequest(req, requests, next)
  }
}

function compressResponse(req, res, settings) {
  const write = res.write
  const end = res.end
  const on = res.on
  const writeHead = res.writeHead
  let decided = false
  let ended = false
  let stream = null
  // 'drain' listeners added before the decision: they belong to the compressing stream, if any.
  let drainListeners = []

  /** Whether (and how) to compress, decided once, as the headers are about to go out. */
  function decide(length) {
    decided = true
    if (!settings.filter(req, res) || noTransform(res.getHeader('Cache-Control'))) return null
    res.setHeader('Vary', varyWith(res.getHeader('Vary'), 'Accept-Encoding'))
    if (Number(res.getHeader('Content-Length')) < settings.threshold || length < settings.threshold) return null
    if ((res.getHeader('Content-Encoding') || 'identity') !== 'identity') return null
    if (req.method === 'HEAD') return null
    const header = req.headers['accept-encoding']
    // An empty header counts as none, as in `compression`.
    if (!header && settings.enforceEncoding in FORMATS) return settings.enforceEncoding
    return negotiate(header, settings.encodings) ?? null
  }

  function startStream(coding) {
    if (!coding) {
      for (const listener of drainListeners) on.call(res, 'drain', listener)
      drainListeners = null
      return
    }
    stream = createCompressStream(FORMATS[coding], settings.codecs[coding])
    res.setHeader('Content-Encoding', coding)
    res.removeHeader('Content-Length')
    for (const listener of drainListeners) stream.on('drain', listener)
    drainListeners = null
    stream.on('data', (chunk) => {
      if (write.call(res, chunk) === false) stream.pause()
    })
    stream.on('end', () => end.call(res))
    // Only a bug could fail a compressor; the response cannot be finished correctly then.
    stream.on('error', (error) => res.destroy(error))
    on.call(res, 'drain', () => stream.resume())
  }

  on.call(res, 'close', () => stream?.destroy())

  res.flush = function flush() {
    stream?.flush()
  }

  res.writeHead = function (statusCode, reason, headers) {
    if (decided) return writeHead.apply(this, arguments)
    // The headers given here count for the decision: set them first, as `on-headers` does.
    if (typeof reason !== 'string') {
      headers = reason
      reason = undefined
    }
    this.statusCode = statusCode
    if (reason !== undefined) this.statusMessage = reason
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1])
    } else if (headers) {
      for (const name of Object.keys(headers)) this.setHeader(name, headers[name])
    }
    startStream(decide(undefined))
    return writeHead.call(this, this.statusCode, this.statusMessage)
  }

  res.write = function (chunk, encoding, callback) {
    if (ended) return false
    if (!this.headersSent) this.writeHead(this.statusCode)
    if (!stream) return write.call(this, chunk, encoding, callback)
    if (typeof encoding === 'function') callback = encoding
    return stream.write(toBuffer(chunk, typeof encoding === 'string' ? encoding : undefined), callback)
  }

  res.end = function (chunk, encoding, callback) {
    if (typeof chunk === 'function') [callback, chunk, encoding] = [chunk, undefined, undefined]
    else if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined]
    if (ended) return this
    ended = true
    if (!this.headersSent) {
      // The whole body at once: compress it in one piece, off the event loop, and send it with
      // its length. Until then the headers stay unsent.
      const body = chunk === undefined || chunk === null ? Buffer.alloc(0) : toBuffer(chunk, encoding)
      const coding = decide(body.length)
      if (!coding) return end.call(this, chunk, encoding, callback)
      compress(FORMATS[coding], body, settings.codecs[coding]).then(
        (packed) => {
          this.setHeader('Content-Encoding', coding)
          this.setHeader('Content-Length', packed.length)
          end.call(this, packed, callback)
        },
        // Compressing cannot fail on valid options short of a full pool queue
        // (configure({ maxQueue })): the body then goes out as it is.
        () => end.call(this, body, callback),
      )
      return this
    }
    if (!stream) return end.call(this, chunk, encoding, callback)
    if (callback) on.call(this, 'finish', callback)
    if (chunk === undefined || chunk === null) stream.end()
    else stream.end(toBuffer(chunk, encoding))
    return this
  }

  res.on = function (type, listener) {
    if (type !== 'drain' || !drainListeners) {
      if (type === 'drain' && stream) return stream.on(type, listener)
      return on.call(this, type, listener)
    }
    drainListeners.push(listener)
    return this
  }
}

function requestSettings(options) {
  const given = options === true ? {} : options
  const maxOutputLength = byteCount(given.maxOutputLength, 'decompressRequests.maxOutputLength', 1 << 20)
  return {
    encodings: codingsOption(given.encodings, 'decompressRequests.encodings', ['br', 'gzip', 'deflate', 'zstd']),
    maxOutputLength,
  }
}

const REQUEST_CODES = { invalid: 'ERR_INVALID_CONTENT', tooLarge: 'ERR_CONTENT_TOO_LARGE' }

/**
 * Decompresses a request body sent with a Content-Encoding, before anything reads it: the raw
 * bytes are collected as they arrive, decompressed in one piece on the pool (at most
 * `maxOutputLength` bytes), and handed back to `req` as its body, which then has no
 * Content-Encoding and the decompressed Content-Length. `next` is called after that (or with a
 * 415, 400 or 413 error).
 */
function decompressRequest(req, settings, next) {
  const header = req.headers['content-encoding']
  let coding = header === undefined ? 'identity' : String(header).trim().toLowerCase()
  if (coding === 'x-gzip') coding = 'gzip'
  if (coding === 'identity' || coding === '') return next()
  if (!settings.encodings.includes(coding)) return next(unsupportedEncoding(coding, 'ERR_UNSUPPORTED_CONTENT_ENCODING'))

  const chunks = []
  let size = 0
  let settled = false
  let parserEnded = false
  // After a failure the stream gets its end back, so whoever answers the error (Express's final
  // handler waits for the request to end) can.
  const release = () => {
    delete req.push
    if (parserEnded && !req.readableEnded) req.push(null)
  }
  const settle = (error) => {
    if (settled) return
    settled = true
    if (error) release()
    next(error)
  }
  const collect = (chunk) => {
    size += chunk.length
    if (size > settings.maxOutputLength) return settle(requestBodyError({ code: 'ERR_BUFFER_TOO_LARGE' }, REQUEST_CODES))
    chunks.push(chunk)
  }
  const finish = () => {
    parserEnded = true
    if (settled) return release()
    decompress(FORMATS[coding], Buffer.concat(chunks, size), { maxOutputLength: outputLimit(settings.maxOutputLength) }).then(
      (body) => {
        delete req.headers['content-encoding']
        delete req.headers['transfer-encoding']
        req.headers['content-length'] = String(body.length)
        delete req.push
        // A body the parser had already ended cannot be pushed to; put it back in front instead.
        if (endedBefore) req.unshift(body)
        else {
          req.push(body)
          req.push(null)
        }
        settled = true
        next()
      },
      (error) => settle(requestBodyError(error, REQUEST_CODES)),
    )
  }

  // Bytes that arrived before this middleware ran (after an earlier one awaited something) wait
  // in the stream's buffer: take exactly them (reading exactly the buffered length does not end
  // the stream).
  if (req.readableLength > 0) collect(req.read(req.readableLength))
  const endedBefore = req.complete
  if (endedBefore) return finish()
  // From now on the HTTP parser's pushes come here instead of into the stream.
  req.push = (chunk) => {
    if (chunk === null) finish()
    else if (!settled) collect(chunk)
    return true
  }
  req.once('close', () => {
    if (!req.complete) settle(requestBodyError({ code: 'Z_BUF_ERROR' }, REQUEST_CODES))
  })
}

module.exports = compression
module.exports.compression = compression
module.exports.filter = shouldCompress
module.exports.default = compression
