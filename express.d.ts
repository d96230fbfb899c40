import type { IncomingMessage, ServerResponse } from 'node:http'

export type Coding = 'br' | 'gzip' | 'deflate' | 'zstd'

export interface CompressionOptions {
  /** Bytes below which a response is sent as is. Default 1024; strings such as '1kb' work. */
  threshold?: number | string
  /** Whether to consider compressing a response. Default: `filter`, a compressible Content-Type. */
  filter?: (req: IncomingMessage, res: ServerResponse) => boolean
  /** Codings offered, in the server's order of preference. Default `['br', 'gzip', 'deflate']`. */
  encodings?: Array<Coding | 'identity'>
  /** gzip/deflate level (0-9, default 6; never larger output than node:zlib's at the same level). */
  level?: number
  memLevel?: number
  windowBits?: number
  strategy?: number
  /** Streamed responses: the most bytes pushed at once. */
  chunkSize?: number
  /** brotli's options; `params[zlib.constants.BROTLI_PARAM_QUALITY]` defaults to 4. */
  brotli?: { params?: Record<number, number> }
  /** zstd's options: `level` (default 3) or `params`. */
  zstd?: { level?: number; params?: Record<number, number> }
  /** The coding to use when a request has no Accept-Encoding header. Default 'identity'. */
  enforceEncoding?: Coding | 'identity'
  /**
   * Decompress request bodies sent with a Content-Encoding before the body parsers run: `true`, or
   * the codings taken and the most bytes a body may decompress to (default 1 MiB; 413 beyond,
   * 400 for corrupt data, 415 for other codings).
   */
  decompressRequests?: boolean | { encodings?: Array<Coding | 'identity'>; maxOutputLength?: number | string }
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/** A drop-in for the `compression` middleware, compressing on offloop's pool. */
declare function compression(options?: CompressionOptions): Middleware
declare namespace compression {
  /** The default filter: whether the response's Content-Type is compressible. */
  function filter(req: IncomingMessage, res: ServerResponse): boolean
  export { compression, compression as default }
}
export = compression
