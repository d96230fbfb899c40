// Express login server with offloop: `node examples/express-login/server.mjs` (PORT=3000 by default).
//   curl -XPOST localhost:3000/signup -H 'content-type: application/json' -d '{"user":"ada","password":"lovelace"}'
//   curl -XPOST localhost:3000/login  -H 'content-type: application/json' -d '{"user":"ada","password":"lovelace"}'
//   curl localhost:3000/metrics
import express from 'express';
import { createRequire } from 'node:module';

// In your app: import { hashPassword, ... } from 'offloop';
const { hashPassword, verifyPassword, needsRehash, poolStats } = createRequire(import.meta.url)('../../index.js');

const users = new Map(); // user -> stored hash; a database in real life
// Verifying against a dummy hash for unknown users keeps their response time the same as known ones.
const DUMMY_HASH = await hashPassword('dummy password, never matches');

const app = express();
app.use(express.json());

app.post('/signup', async (req, res) => {
  const { user, password } = req.body ?? {};
  if (typeof user !== 'string' || typeof password !== 'string') return res.status(400).json({ error: 'user and password required' });
  if (users.has(user)) return res.status(409).json({ error: 'user exists' });
  users.set(user, await hashPassword(password));
  res.status(201).json({ user });
});

app.post('/login', async (req, res, next) => {
  try {
    const { user, password } = req.body ?? {};
    if (typeof password !== 'string') return res.status(400).json({ error: 'password required' });
    const stored = users.get(user) ?? DUMMY_HASH;
    // Give up rather than queue forever when the pool is saturated.
    const ok = await verifyPassword(stored, password, { signal: AbortSignal.timeout(5000) });
    if (!ok || !users.has(user)) return res.status(401).json({ error: 'bad credentials' });
    // Parameters changed since this hash was made (or it is a legacy bcrypt hash): upgrade it now,
    // while the plain password is at hand.
    if (needsRehash(stored)) users.set(user, await hashPassword(password));
    res.json({ user });
  } catch (error) {
    next(error);
  }
});

app.get('/health', (req, res) => res.send('ok'));
app.get('/metrics', (req, res) => res.json(poolStats()));

// PORT=0 lets the OS pick a free port; the bound port is printed and sent to a parent process.
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', (error) => {
  // Express 5 hands listen errors (EADDRINUSE) to this callback instead of throwing them.
  if (error) throw error;
  const { port } = server.address();
  console.log(`express-login listening on http://127.0.0.1:${port}`);
  process.send?.({ port });
});
