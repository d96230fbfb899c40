// A JSON API as users write it, compressing its responses, for the `server` section:
// `node compress-app.mjs <framework> <variant>`, variant `offloop` (offloop/express or
// offloop/fastify), `reference` (compression or @fastify/compress) or `none`. It listens on a port
// the OS picks and sends `{ port }` to its parent once it is listening.
// GET /data answers about 100 KB of JSON (serialized per request, as a real handler would);
// GET /health answers at once; GET /file reads a small file with fs.promises (libuv's threadpool).
import { createRequire } from 'node:module';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const [framework, variant] = process.argv.slice(2);

/** About 100 KB of JSON once serialized: a page of records from a listing endpoint. */
function page() {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(' ');
  let seed = 7;
  const r = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const items = [];
  while (JSON.stringify(items).length < 100_000) {
    items.push({
      id: items.length,
      uuid: Math.floor(r() * 2 ** 52).toString(16),
      name: `${words[Math.floor(r() * words.length)]} ${words[Math.floor(r() * words.length)]}`,
      email: `user${Math.floor(r() * 1e6)}@example.com`,
      active: r() > 0.5,
      balance: Math.round(r() * 1e6) / 100,
      created: new Date(1.6e12 + r() * 1e11).toISOString(),
    });
  }
  return { page: 1, items };
}

const data = page();
const smallFile = join(tmpdir(), `offloop-bench-compress-${process.pid}.txt`);
await writeFile(smallFile, 'x'.repeat(512));

if (framework === 'fastify') {
  const app = require('fastify')();
  if (variant === 'offloop') await app.register(require('../../fastify.js'));
  else if (variant === 'reference') await app.register(require('@fastify/compress'));
  app.get('/data', async () => data);
  app.get('/health', async () => 'ok');
  app.get('/file', async () => readFile(smallFile, 'utf8'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ port: app.server.address().port });
} else {
  const express = require('express');
  const app = express();
  if (variant === 'offloop') app.use(require('../../express.js')());
  else if (variant === 'reference') app.use(require('compression')());
  app.get('/data', (req, res) => res.json(data));
  app.get('/health', (req, res) => res.send('ok'));
  app.get('/file', async (req, res) => res.send(await readFile(smallFile, 'utf8')));
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)));
  });
  process.send({ port: server.address().port });
}
