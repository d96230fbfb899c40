// A login server as users write it, for the `server` section: `node login-app.mjs <framework> <variant>`.
// It listens on a port the OS picks and sends `{ port }` to its parent once it is listening.
// POST /login verifies a password against a stored hash; GET /health answers at once; GET /file reads
// a small file with fs.promises (it needs libuv's threadpool, which native peers fill with hashes).
import { createRequire } from 'node:module';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const [framework, variant] = process.argv.slice(2);
const PASSWORD = 'correct horse battery staple';
const OWASP = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Each variant: how it makes the stored hash, and how /login verifies. */
async function makeVerifier() {
  switch (variant) {
    case 'offloop': {
      const offloop = require('../../index.js');
      const hash = await offloop.hashPassword(PASSWORD, OWASP);
      return (pw) => offloop.verifyPassword(hash, pw);
    }
    case 'argon2': {
      const argon2 = require('argon2');
      const hash = await argon2.hash(PASSWORD, { type: argon2.argon2id, ...OWASP });
      return (pw) => argon2.verify(hash, pw);
    }
    case 'node-rs-argon2': {
      const argon2 = require('@node-rs/argon2');
      const hash = await argon2.hash(PASSWORD, OWASP);
      return (pw) => argon2.verify(hash, pw);
    }
    case 'piscina-hash-wasm': {
      const { Piscina } = require('piscina');
      const pool = new Piscina({
        filename: fileURLToPath(new URL('../workers/argon2-hash-wasm.mjs', import.meta.url)),
        maxThreads: availableParallelism(),
      });
      const hash = await require('../../index.js').hashPassword(PASSWORD, OWASP);
      return (pw) => pool.run({ op: 'verify', password: pw, hash });
    }
    case 'bcryptjs': {
      // bcryptjs cannot verify argon2: this variant is the legacy setup, bcrypt at cost 10.
      const bcryptjs = require('bcryptjs');
      const hash = bcryptjs.hashSync(PASSWORD, 10);
      return (pw) => bcryptjs.compare(pw, hash);
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

const verify = await makeVerifier();
const smallFile = join(tmpdir(), `offloop-bench-${process.pid}.txt`);
await writeFile(smallFile, 'x'.repeat(512));

async function login(body) {
  const ok = await verify(body?.password ?? '');
  return ok ? { status: 200, body: { ok } } : { status: 401, body: { ok } };
}

if (framework === 'fastify') {
  const app = require('fastify')();
  app.post('/login', async (req, reply) => {
    const r = await login(req.body);
    return reply.code(r.status).send(r.body);
  });
  app.get('/health', async () => 'ok');
  app.get('/file', async () => readFile(smallFile, 'utf8'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send({ port: app.server.address().port });
} else {
  const express = require('express');
  const app = express();
  app.use(express.json());
  app.post('/login', async (req, res) => {
    const r = await login(req.body);
    res.status(r.status).json(r.body);
  });
  app.get('/health', (req, res) => res.send('ok'));
  app.get('/file', async (req, res) => res.send(await readFile(smallFile, 'utf8')));
  // Express 5 hands listen errors to the callback instead of throwing them.
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)));
  });
  process.send({ port: server.address().port });
}
