'use strict'
// What the Express middleware and the Fastify plugin share: which coding a client accepts, which
// responses are worth compressing, and how offloop's formats and errors map to HTTP. No framework
// is loaded here: `offloop/express` and `offloop/fastify` load without either installed.

const { compressSync } = require('../index.js')

// HTTP content-codings and offloop's formats.
const FORMATS = { br: 'brotli', gzip: 'gzip', deflate: 'deflate', zstd: 'zstd' }
const CODINGS = Object.keys(FORMATS)

/**
 * `codecs` (each coding's compressor options), checked now: a bad option (`level: 10`) throws
 * `compress()`'s coded error when the middleware or plugin is made, where `compression` answered
 * every response with a 500 and offloop sent its bodies uncompressed.
 */
function checkedCodecs(codecs) {
  for (const [coding, options] of Object.entries(codecs)) compressSync(FORMATS[coding], '', options)
  return codecs
}

/**
 * The coding to answer with, chosen as the `compression` middleware chooses it (negotiator 0.6's
 * `encodings`, read for this): of `encodings` and identity, the one with the highest quality in the
 * Accept-Encoding header; an entry that names a coding outranks `*`, and of several that name it the
 * one with the highest quality counts; ties go to the server's order (`deflate` only after the
 * client's order, as `compression` has it), then the header's. identity, when the header leaves it
 * out, has the lowest quality the header gives. `x-gzip` is gzip (RFC 9110). `null` when identity
 * wins or nothing is acceptable, `undefined` when there is no header.
 */
function negotiate(header, encodings) {
  if (header === undefined || header === null) return undefined
  const accepted = []
  let minQuality = 1
  String(header)
    .split(',')
    .forEach((part, order) => {
      const match = /^\s*([^\s;]+)\s*(?:;(.*))?$/.exec(part.trim())
      if (!match) return
      let quality = 1
      for (const param of match[2] ? match[2].split(';') : []) {
        const [key, value] = param.trim().split('=')
        if (key === 'q') {
          quality = parseFloat(value)
          break
        }
      }
      const coding = match[1].toLowerCase() === 'x-gzip' ? 'gzip' : match[1]
      accepted.push({ coding, quality, order })
      minQuality = Math.min(minQuality, quality || 1)
    })
  if (!accepted.some((a) => specificity('identity', a) !== undefined)) {
    accepted.push({ coding: 'identity', quality: minQuality, order: accepted.length })
  }
  const preferred = encodings.filter((coding) => coding !== 'deflate')
  const candidates = [...encodings, 'identity']
    .map((coding, index) => {
      let best = { coding, index, quality: 0, specific: 0, order: -1 }
      for (const a of accepted) {
        const specific = specificity(coding, a)
        if (specific === undefined) continue
        const next = { coding, index, quality: a.quality, specific, order: a.order }
        if ((best.specific - next.specific || best.quality - next.quality || best.order - next.order) < 0) best = next
      }
      return best
    })
    .filter((c) => c.quality > 0)
    .sort((a, b) => {
      if (a.quality !== b.quality) return b.quality - a.quality
      const [pa, pb] = [preferred.indexOf(a.coding), preferred.indexOf(b.coding)]
      if (pa === -1 && pb === -1) return b.specific - a.specific || a.order - b.order || a.index - b.index
      if (pa !== -1 && pb !== -1) return pa - pb
      return pa === -1 ? 1 : -1
    })
  const chosen = candidates[0]?.coding
  return chosen === undefined || chosen === 'identity' ? null : chosen
}

/** 1 if the header's entry names `coding`, 0 if it is `*`, undefined if it is about another. */
function specificity(coding, entry) {
  if (entry.coding.toLowerCase() === coding) return 1
  return entry.coding === '*' ? 0 : undefined
}

// The `compressible` package's rule (what the `compression` middleware uses): mime-db's
// compressible types, and any text/*, +json, +text or +xml type mime-db does not list. These are
// the compressible types of mime-db 1.54 that the pattern does not cover.
const COMPRESSIBLE_PATTERN = /^text\/|\+(?:json|text|xml)$/i
const COMPRESSIBLE_TYPES = new Set([
  'application/dart', 'application/ecmascript', 'application/javascript', 'application/json',
  'application/octet-stream', 'application/postscript', 'application/raml+yaml', 'application/rtf',
  'application/tar', 'application/toml', 'application/vnd.dart', 'application/vnd.ms-fontobject',
  'application/vnd.ms-opentype', 'application/wasm', 'application/x-httpd-php', 'application/x-javascript',
  'application/x-ns-proxy-autoconfig', 'application/x-sh', 'application/x-tar', 'application/x-virtualbox-hdd',
  'application/x-virtualbox-ova', 'application/x-virtualbox-ovf', 'application/x-virtualbox-vbox',
  'application/x-virtualbox-vdi', 'application/x-virtualbox-vhd', 'application/x-virtualbox-vmdk',
  'application/x-www-form-urlencoded', 'application/xml', 'application/xml-dtd', 'font/otf', 'font/ttf',
  'image/bmp', 'image/vnd.adobe.photoshop', 'image/vnd.microsoft.icon', 'image/vnd.ms-dds', 'image/x-icon',
  'image/x-ms-bmp', 'message/rfc822', 'model/gltf-binary', 'x-shader/x-fragment', 'x-shader/x-vertex',
])
// Types mime-db marks as not compressible although the pattern would take them: none in 1.54.

function mimeOf(type) {
  return /^\s*([^;\s]*)(?:;|\s|$)/.exec(type)[1].toLowerCase()
}

/** Whether a Content-Type is worth compressing, as the `compressible` package decides. */
function compressible(type) {
  if (typeof type !== 'string') return false
  const mime = mimeOf(type)
  return COMPRESSIBLE_TYPES.has(mime) || COMPRESSIBLE_PATTERN.test(mime)
}

/** Whether mime-db lists a type as compressible, leaving out those the pattern covers. */
function listedCompressible(type) {
  return typeof type === 'string' && COMPRESSIBLE_TYPES.has(mimeOf(type))
}

/** `Cache-Control: no-transform` forbids changing the body (RFC 9111 §5.2.2.6). */
function noTransform(cacheControl) {
  return typeof cacheControl === 'string' && /(?:^|,)\s*?no-transform\s*?(?:,|$)/i.test(cacheControl)
}

/** Adds `field` to a Vary header value unless it (or `*`) is already there. */
function varyWith(current, field) {
  if (current === undefined || current === null || current === '') return field
  const value = Array.isArray(current) ? current.join(', ') : String(current)
  const fields = value.split(',').map((f) => f.trim().toLowerCase())
  if (fields.includes('*') || fields.includes(field.toLowerCase())) return value
  return `${value}, ${field}`
}

const UNITS = { b: 1, kb: 1 << 10, mb: 1 << 20, gb: 1 << 30 }

/** A byte count: a number, or a string such as '1kb' (the `bytes` package's units). */
function byteCount(value, name, fallback) {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'number' && value >= 0) return value
  const match = typeof value === 'string' && /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value)
  if (match) return Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()])
  throw coded(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" option must be a number of bytes or a string such as '1kb'. Received ${typeof value}`)
}

/**
 * A body limit as `decompress()`'s `maxOutputLength`, which takes 1 to 2^32 (node:zlib's largest on
 * Node 20): a larger limit (`Infinity`, Fastify's `bodyLimit` as any safe integer) is 2^32 there, a
 * body that decompresses past 4 GiB is refused (413) whatever the limit. The callers refuse a
 * non-empty body past a limit of 0 themselves.
 */
function outputLimit(limit) {
  return Math.min(Math.max(Math.floor(limit), 1), 2 ** 32)
}

/** The server's order of codings, from an `encodings` option (default: br, then gzip, then deflate). */
function codingsOption(encodings, name, fallback) {
  if (encodings === undefined) return fallback
  if (!Array.isArray(encodings) || encodings.length === 0 || encodings.some((e) => !CODINGS.includes(e) && e !== 'identity')) {
    throw coded(TypeError, 'ERR_INVALID_ARG_VALUE', `The "${name}" option must be a non-empty array of ${CODINGS.map((c) => `'${c}'`).join(', ')}`)
  }
  return encodings.filter((e) => e !== 'identity')
}

/** An HTTP error for a request body that cannot be decompressed, with the status it deserves. */
function requestBodyError(error, codes) {
  const tooLarge = error.code === 'ERR_BUFFER_TOO_LARGE'
  const message = tooLarge ? 'The decompressed request body is too large' : 'Could not decompress the request payload using the provided encoding'
  return coded(Error, tooLarge ? codes.tooLarge : codes.invalid, message, httpStatus(tooLarge ? 413 : 400, { cause: error }))
}

function unsupportedEncoding(encoding, code) {
  return coded(Error, code, `Unsupported Content-Encoding: ${encoding}`, httpStatus(415))
}

/** An error of class `Type` with a Node-style `code`, and any other `fields`. */
function coded(Type, code, message, fields = {}) {
  return Object.assign(new Type(message), { code, ...fields })
}

/** The fields Express and Fastify read to answer an error with `status` and its message. */
function httpStatus(status, fields = {}) {
  return { status, statusCode: status, expose: true, ...fields }
}

module.exports = {
  FORMATS,
  CODINGS,
  checkedCodecs,
  negotiate,
  outputLimit,
  compressible,
  listedCompressible,
  noTransform,
  varyWith,
  byteCount,
  codingsOption,
  coded,
  requestBodyError,
  unsupportedEncoding,
}
