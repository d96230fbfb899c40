import { Transform, TransformOptions } from 'node:stream'
import type { CompressOptions, DecompressOptions } from './index'

export type Format = 'gzip' | 'deflate' | 'deflate-raw' | 'brotli' | 'zstd'

/** Options of a compressing stream: `compress()`'s, and those of a Transform (`highWaterMark`...). */
export type CompressStreamOptions = Omit<CompressOptions, 'signal'> & TransformOptions
/** Options of a decompressing stream: `decompress()`'s (`maxOutputLength` limits the whole stream, default none), and a Transform's. */
export type DecompressStreamOptions = Omit<DecompressOptions, 'signal'> & TransformOptions

declare class CodecStream extends Transform {
  /** Input bytes consumed so far, as on node:zlib's streams. */
  bytesWritten: number
  /**
   * Makes everything written so far decodable from the output so far, as node:zlib's `flush()`,
   * with its format's constants. gzip/deflate: `zlib.constants.Z_FULL_FLUSH` (3, the default),
   * `Z_SYNC_FLUSH` (2, keeps the history: smaller output), `Z_PARTIAL_FLUSH` (1), `Z_BLOCK` (5),
   * `Z_FINISH` (4, ends the stream), `Z_NO_FLUSH` (0). brotli: `BROTLI_OPERATION_FLUSH` (1, the
   * default), `BROTLI_OPERATION_FINISH` (2). zstd: `ZSTD_e_flush` (1, the default), `ZSTD_e_end` (2).
   */
  flush(kind?: number, callback?: () => void): void
  flush(callback?: () => void): void
}

/** A Transform that compresses on offloop's pool, in order, with node:zlib's options. */
export declare class CompressStream extends CodecStream {
  constructor(format: Format, options?: CompressStreamOptions)
}

/** A Transform that decompresses on offloop's pool; errors carry node:zlib's codes (`Z_DATA_ERROR`, `Z_BUF_ERROR`). */
export declare class DecompressStream extends CodecStream {
  constructor(format: Format, options?: DecompressStreamOptions)
}

/** Like node:zlib's `createGzip()`, `createDeflate()`, `createDeflateRaw()`, `createBrotliCompress()`, `createZstdCompress()`. */
export declare function createCompressStream(format: Format, options?: CompressStreamOptions): CompressStream
/** Like node:zlib's `createGunzip()`, `createInflate()`, `createInflateRaw()`, `createBrotliDecompress()`, `createZstdDecompress()`. */
export declare function createDecompressStream(format: Format, options?: DecompressStreamOptions): DecompressStream
