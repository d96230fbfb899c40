import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify'

type Coding = 'br' | 'gzip' | 'deflate' | 'zstd'

/** `@fastify/compress`'s options, with offloop's `zstdOptions` and `maxRequestLength`. */
export interface OffloopCompressOptions {
  global?: boolean
  threshold?: number
  encodings?: Array<Coding | 'identity'>
  customTypes?: RegExp | ((contentType: string) => boolean)
  zlibOptions?: { level?: number; memLevel?: number; windowBits?: number; strategy?: number; chunkSize?: number }
  brotliOptions?: { params?: Record<number, number> }
  zstdOptions?: { level?: number; params?: Record<number, number> }
  removeContentLengthHeader?: boolean
  onUnsupportedEncoding?: (encoding: string | undefined, request: FastifyRequest, reply: FastifyReply) => string | Buffer
  requestEncodings?: Array<Coding | 'identity'>
  forceRequestEncoding?: Coding
  onUnsupportedRequestEncoding?: (encoding: string, request: FastifyRequest) => Error | undefined
  onInvalidRequestPayload?: (encoding: string, request: FastifyRequest, error: Error) => Error | undefined
  /** The most bytes a request body may decompress to. Default: the route's `bodyLimit`. */
  maxRequestLength?: number
}

declare module 'fastify' {
  interface FastifyReply {
    /** Compresses `payload` for the request's Accept-Encoding and sends it. */
    compress(payload: unknown): FastifyReply
  }
  interface RouteShorthandOptions {
    compress?: false | OffloopCompressOptions
    decompress?: false | OffloopCompressOptions
  }
}

declare const offloopCompress: FastifyPluginCallback<OffloopCompressOptions>
export default offloopCompress
export { offloopCompress }
