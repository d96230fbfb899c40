// Retrieval for RAG behind Fastify, embeddings held in an offloop VectorIndex:
// `node examples/fastify-rag/server.mjs` (PORT=3000 by default).
//   POST /documents { text }            -> 201 { id }
//   POST /ask       { question, k = 3 } -> { context: [{ id, text, score }] }, best first
//   GET  /health                        -> ok
// The search runs on offloop's pool, so other requests are served while it scans every row.
import Fastify from 'fastify';
import { createRequire } from 'node:module';

// In your app: import { VectorIndex } from 'offloop';
const { VectorIndex } = createRequire(import.meta.url)('../../index.js');

const DIM = 384;

/**
 * A stand-in for your embedding model, so the example runs offline: each word adds 1 to the
 * dimension its FNV-1a hash picks, so texts that share words point the same way. Replace it with
 * the Float32Array(384) your model returns.
 */
function embed(text) {
  const vector = new Float32Array(DIM);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193);
    vector[(hash >>> 0) % DIM] += 1;
  }
  return vector;
}

const index = new VectorIndex(DIM); // cosine: rows are normalised once, at add
const texts = []; // id -> text; add() returns the id of the first new row

const app = Fastify({ logger: false });

app.post(
  '/documents',
  { schema: { body: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 } } } } },
  async (req, reply) => {
    const id = index.add(embed(req.body.text));
    texts[id] = req.body.text;
    return reply.code(201).send({ id });
  },
);

app.post(
  '/ask',
  {
    schema: {
      body: {
        type: 'object',
        required: ['question'],
        properties: { question: { type: 'string', minLength: 1 }, k: { type: 'integer', minimum: 1, maximum: 100, default: 3 } },
      },
    },
  },
  async (req) => {
    // k beyond the index's size returns what there is; the timeout rejects with an AbortError.
    const { ids, scores } = await index.search(embed(req.body.question), req.body.k, { signal: AbortSignal.timeout(1000) });
    return { context: Array.from(ids, (id, i) => ({ id, text: texts[id], score: scores[i] })) };
  },
);

app.get('/health', async () => 'ok');

// PORT=0 lets the OS pick a free port; the bound port is printed and sent to a parent process.
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
const { port } = app.server.address();
console.log(`fastify-rag listening on http://127.0.0.1:${port}`);
process.send?.({ port });
