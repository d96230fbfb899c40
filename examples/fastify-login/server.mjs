// Fastify login server with offloop: `node examples/fastify-login/server.mjs` (PORT=3000 by default).
// Same routes as the Express example: POST /signup, POST /login, GET /health, GET /metrics.
import Fastify from 'fastify';
import { createRequire } from 'node:module';

// In your app: import { hashPassword, ... } from 'offloop';
const { hashPassword, verifyPassword, needsRehash, poolStats } = createRequire(import.meta.url)('../../index.js');

const users = new Map(); // user -> stored hash; a database in real life
const DUMMY_HASH = await hashPassword('dummy password, never matches');

const credentials = {
  body: {
    type: 'object',
    required: ['user', 'password'],
    properties: { user: { type: 'string', minLength: 1 }, password: { type: 'string', minLength: 1 } },
  },
};

const app = Fastify({ logger: false });

app.post('/signup', { schema: credentials }, async (req, reply) => {
  const { user, password } = req.body;
  if (users.has(user)) return reply.code(409).send({ error: 'user exists' });
  users.set(user, await hashPassword(password));
  return reply.code(201).send({ user });
});

app.post('/login', { schema: credentials }, async (req, reply) => {
  const { user, password } = req.body;
  const stored = users.get(user) ?? DUMMY_HASH;
  const ok = await verifyPassword(stored, password, { signal: AbortSignal.timeout(5000) });
  if (!ok || !users.has(user)) return reply.code(401).send({ error: 'bad credentials' });
  if (needsRehash(stored)) users.set(user, await hashPassword(password));
  return { user };
});

app.get('/health', async () => 'ok');
app.get('/metrics', async () => poolStats());

// PORT=0 lets the OS pick a free port; the bound port is printed and sent to a parent process.
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
const { port } = app.server.address();
console.log(`fastify-login listening on http://127.0.0.1:${port}`);
process.send?.({ port });
