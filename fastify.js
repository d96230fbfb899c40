'use strict'
// `offloop/fastify`: response compression and request decompression for Fastify, a drop-in for
// `@fastify/compress` (same options, route options and `reply.compress()`) with the work on
// offloop's pool instead of libuv's threadpool or the event loop.
//
// A buffered payload (what `reply.send()` of an object or string becomes) is compressed in one
// piece and sent with its Content-Length; a stream goes through a compressing stream. Compressed
// request bodies are decompressed as they arrive, never past the route's body limit.

const { constants } = require('node:zlib')
const { pipeline } = require('node:stream')
const { compress } = require('./index.js')
const { createCompressStream, createDecompressStream } = require('./stream.js')
const {
  FORMATS,
  checkedCodecs,
  outputLimit,
  listedCompressible,
  varyWith,
  codingsOption,
  coded,
  requestBodyError,
  unsupportedEncoding,
} = require('./lib/compression.js')

// `@fastify/compress`'s default: text (not event streams), JSON, XML, octet streams, and what
// mime-db calls compressible (no text/event-stream among them).
const DEFAULT_TYPES = /^text\/(?!event-stream)|(?:\+|\/)json(?:;|$)|(?:\+|\/)text(?:;|$)|(?:\+|\/)xml(?:;|$)|octet-stream(?:;|$)/u
const defaultTypes = (type) => DEFAULT_TYPES.test(type) || listedCompressible(type)

const REQUEST_CODES = { invalid: 'FST_CP_ERR_INVALID_CONTENT', tooLarge: 'FST_ERR_CTP_BODY_TOO_LARGE' }

function compressSettings(options) {
  const brotli = options.brotliOptions ?? {}
  const zlib = options.zlibOptions ?? {}
  return {
    global: typeof options.global === 'boolean' ? options.global : true,
    threshold: typeof options.threshold === 'number' ? options.threshold : 1024,
    encodings: codingsOption(options.encodings, 'encodings', ['zstd', 'br', 'gzip', 'deflate']),
    types:
      options.customTypes instanceof RegExp
        ? (type) => options.customTypes.test(type)
        : typeof options.customTypes === 'function'
          ? options.customTypes
          : defaultTypes,
    removeContentLengthHeader: options.removeContentLengthHeader !== false,
    onUnsupportedEncoding: options.onUnsupportedEncoding,
    codecs: checkedCodecs({
      gzip: zlib,
      deflate: zlib,
      // Quality 4, `@fastify/compress`'s default (11 is far too slow for responses).
      br: { ...brotli, params: { [constants.BROTLI_PARAM_QUALITY]: 4, ...brotli.params } },
      zstd: options.zstdOptions ?? zlib,
    }),
  }
}

function decompressSettings(options) {
  const encodings = codingsOption(options.requestEncodings, 'requestEncodings', ['zstd', 'br', 'gzip', 'deflate'])
  return {
    global: typeof options.global === 'boolean' ? options.global : true,
    encodings: options.forceRequestEncoding ? [options.forceRequestEncoding] : encodings,
    forceEncoding: options.forceRequestEncoding,
    onUnsupportedRequestEncoding: options.onUnsupportedRequestEncoding,
    onInvalidRequestPayload: options.onInvalidRequestPayload,
    maxOutputLength: options.maxRequestLength === undefined ? undefined : requestLength(options.maxRequestLength),
  }
}

/** `maxRequestLength`: a whole number of bytes, at least 1 (Infinity for no limit of its own). */
function requestLength(value) {
  if (typeof value !== 'number') {
    throw coded(TypeError, 'ERR_INVALID_ARG_TYPE', `The "maxRequestLength" option must be of type number. Received ${typeof value}`)
  }
  if (!(value >= 1 && (Number.isInteger(value) || value === Infinity))) {
    throw coded(RangeError, 'ERR_OUT_OF_RANGE', `The value of "maxRequestLength" is out of range. It must be an integer >= 1. Received ${value}`)
  }
  return value
}

/**
 * The coding for a request, chosen as `@fastify/compress` (through `@fastify/accept-negotiator`)
 * chooses it, so the plugin is a drop-in: `*` and `x-gzip` count as gzip; each entry counts on its
 * own, q=0 ones not at all; the highest quality wins, then the server's order. `null` when none
 * is acceptable, `undefined` without the header.
 */
function acceptedCoding(request, encodings) {
  const header = request.headers['accept-encoding']
  if (header === undefined) return undefined
  let best = null
  let bestQuality = 0
  for (const part of String(header).toLowerCase().replace(/\*|x-gzip/g, 'gzip').split(',')) {
    const [token, ...params] = part.split(';')
    const coding = token.trim()
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const quality = q === undefined ? 1 : Number.parseFloat(q.slice(2)) || 0
    if (quality === 0 || quality < bestQuality || !encodings.includes(coding)) continue
    if (quality > bestQuality || encodings.indexOf(coding) < encodings.indexOf(best)) {
      best = coding
      bestQuality = quality
    }
  }
  return best
}

/** Why a reply is sent as it is, or `null` to compress it. */
function passThrough(request, reply, settings) {
  const encoding = reply.getHeader('Content-Encoding')
  return (
    (encoding && encoding !== 'identity') ||
    request.headers['x-no-compression'] !== undefined ||
    // Content-Range counts bytes of the unencoded body.
    reply.statusCode === 206 ||
    reply.getHeader('Content-Range') !== undefined ||
    !settings.types(reply.getHeader('Content-Type') || 'application/json')
  )
}

function setCompressed(reply, coding) {
  reply.header('Vary', varyWith(reply.getHeader('Vary'), 'accept-encoding'))
  reply.header('Content-Encoding', coding)
}

/**
 * Compresses `payload` (a string, Buffer or stream) for `coding`: resolves with what to send.
 * Buffered payloads below the threshold, or when the pool refuses work, go out as they are.
 */
async function compressPayload(reply, payload, coding, settings) {
  const format = FORMATS[coding]
  if (typeof payload.pipe === 'function') {
    setCompressed(reply, coding)
    if (settings.removeContentLengthHeader) reply.removeHeader('Content-Length')
    const stream = createCompressStream(format, settings.codecs[coding])
    pipeline(payload, stream, (error) => {
      if (error && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') reply.log.error(error)
    })
    return stream
  }
  if (Buffer.byteLength(payload) < settings.threshold) return payload
  let packed
  try {
    packed = await compress(format, payload, settings.codecs[coding])
  } catch {
    return payload
  }
  setCompressed(reply, coding)
  reply.header('Content-Length', packed.length)
  return packed
}

function routeCompression(settings) {
  async function onSend(request, reply, payload) {
    if (payload === null || payload === undefined || passThrough(request, reply, settings)) return payload
    const coding = acceptedCoding(request, settings.encodings)
    if (!coding) {
      if (coding === null && settings.onUnsupportedEncoding) {
        return settings.onUnsupportedEncoding(request.headers['accept-encoding'], request, reply)
      }
      return payload
    }
    return compressPayload(reply, payload, coding, settings)
  }

  /** `reply.compress(payload)`: compresses (if the request accepts it) and sends. */
  function replyCompress(payload) {
    if (payload === null || payload === undefined) return this.send(new Error('Internal server error'))
    const coding = acceptedCoding(this.request, settings.encodings)
    if (!coding || passThrough(this.request, this, settings)) return this.send(payload)
    if (typeof payload.pipe !== 'function' && typeof payload !== 'string' && !Buffer.isBuffer(payload)) {
      payload = this.serialize(payload)
    }
    compressPayload(this, payload, coding, settings).then(
      (body) => this.send(body),
      (error) => this.send(error),
    )
    return this
  }

  return { onSend, replyCompress }
}

function routeDecompression(settings, bodyLimit) {
  return function preParsing(request, reply, raw, done) {
    let coding = settings.forceEncoding || request.headers['content-encoding']
    if (!coding) return done(null, raw)
    coding = String(coding).trim().toLowerCase()
    if (coding === 'x-gzip') coding = 'gzip'
    if (coding === 'identity') return done(null, raw)
    if (!settings.encodings.includes(coding)) {
      let error
      try {
        error = settings.onUnsupportedRequestEncoding?.(coding, request)
      } catch {}
      return done(error || unsupportedEncoding(coding, 'FST_CP_ERR_INVALID_CONTENT_ENCODING'))
    }
    const decompressor = createDecompressStream(FORMATS[coding], {
      maxOutputLength: outputLimit(settings.maxOutputLength ?? bodyLimit),
    })
    // Fastify compares the Content-Length with the bytes received on the wire.
    decompressor.receivedEncodedLength = 0
    raw.on('data', (chunk) => {
      decompressor.receivedEncodedLength += chunk.length
    })
    // Registered before Fastify's own listener, so the error it sees has its HTTP status and code.
    decompressor.on('error', (error) => {
      let replacement
      try {
        replacement = settings.onInvalidRequestPayload?.(coding, request, error)
      } catch {}
      const mapped = replacement || requestBodyError(error, REQUEST_CODES)
      Object.assign(error, { statusCode: mapped.statusCode, code: mapped.code, message: mapped.message })
    })
    pipeline(raw, decompressor, () => {})
    done(null, decompressor)
  }
}

function addHook(routeOptions, name, hook, first) {
  const existing = routeOptions[name]
  const hooks = Array.isArray(existing) ? existing : existing ? [existing] : []
  routeOptions[name] = first ? [hook, ...hooks] : [...hooks, hook]
}

/**
 * The plugin. Options are `@fastify/compress`'s: `global`, `threshold` (1024), `encodings`
 * (default zstd, br, gzip, deflate), `customTypes`, `zlibOptions`, `brotliOptions` (quality 4 by
 * default), `removeContentLengthHeader`, `onUnsupportedEncoding`, `requestEncodings`,
 * `forceRequestEncoding`, `onUnsupportedRequestEncoding`, `onInvalidRequestPayload`; route options
 * `compress` and `decompress` (`false` or options). offloop's own: `zstdOptions`, and
 * `maxRequestLength`, the most bytes a request body may decompress to (default: the route's
 * `bodyLimit`).
 */
function offloopCompress(fastify, options, done) {
  let compression
  let decompression
  try {
    compression = compressSettings(options)
    decompression = decompressSettings(options)
  } catch (error) {
    return done(error)
  }
  const globalRoute = routeCompression(compression)
  fastify.decorateReply('compress', null)
  fastify.addHook('onRoute', (routeOptions) => {
    const route = routeOptions.compress
    if (route !== false) {
      const settings = typeof route === 'object' ? compressSettings({ ...options, ...route }) : compression
      const { onSend, replyCompress } = typeof route === 'object' ? routeCompression(settings) : globalRoute
      addHook(routeOptions, 'onRequest', (request, reply, next) => {
        reply.compress = replyCompress
        next()
      })
      if (typeof route === 'object' || settings.global) addHook(routeOptions, 'onSend', onSend)
    }
    const decompress = routeOptions.decompress
    if (decompress !== false && (typeof decompress === 'object' || decompression.global)) {
      const settings = typeof decompress === 'object' ? decompressSettings({ ...options, ...decompress }) : decompression
      const bodyLimit = routeOptions.bodyLimit ?? fastify.initialConfig.bodyLimit
      addHook(routeOptions, 'preParsing', routeDecompression(settings, bodyLimit), true)
    }
  })
  done()
}

// What `fastify-plugin` would set: the plugin applies to the whole instance (not encapsulated).
offloopCompress[Symbol.for('skip-override')] = true
offloopCompress[Symbol.for('fastify.display-name')] = 'offloop-compress'
offloopCompress[Symbol.for('plugin-meta')] = { name: 'offloop-compress', fastify: '>=4' }

module.exports = offloopCompress
module.exports.offloopCompress = offloopCompress
module.exports.default = offloopCompress
