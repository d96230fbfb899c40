// The examples start with one command and do what their comments say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { root } from './helpers.mjs';

/** Starts `examples/<name>/server.mjs`, runs `check(base, post)` against it, then stops it. */
async function withServer(name, check) {
  // Port 0: a fixed or random port can collide with a client socket's ephemeral port.
  const server = fork(join(root, 'examples', name, 'server.mjs'), [], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise((resolve, reject) => {
      server.once('message', resolve);
      server.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const post = (path, body) =>
      fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await check(base, post);
  } finally {
    server.kill();
  }
}

for (const name of ['express-login', 'fastify-login']) {
  test(`examples/${name}: signup, login, wrong password, metrics`, { timeout: 60_000 }, () =>
    withServer(name, async (base, post) => {
      assert.equal((await post('/signup', { user: 'ada', password: 'lovelace' })).status, 201);
      assert.equal((await post('/signup', { user: 'ada', password: 'again' })).status, 409);
      assert.equal((await post('/login', { user: 'ada', password: 'lovelace' })).status, 200);
      assert.equal((await post('/login', { user: 'ada', password: 'wrong' })).status, 401);
      assert.equal((await post('/login', { user: 'nobody', password: 'lovelace' })).status, 401);
      assert.equal(await (await fetch(base + '/health')).text(), 'ok');
      const metrics = await (await fetch(base + '/metrics')).json();
      assert.ok(metrics.completed >= 5, JSON.stringify(metrics));
      assert.equal(metrics.queued, 0);
    }),
  );
}

test('examples/fastify-rag: documents in, the closest ones out, best first', { timeout: 60_000 }, () =>
  withServer('fastify-rag', async (base, post) => {
    const documents = [
      'Argon2id hashes passwords with a memory cost that slows down guessing.',
      'A jq program filters and reshapes JSON records, one NDJSON line at a time.',
      'Sorting ten million numbers on every core takes a fraction of a second.',
      'A worker thread pool copies data between isolates.',
    ];
    for (const [i, text] of documents.entries()) {
      const response = await post('/documents', { text });
      assert.equal(response.status, 201);
      assert.deepEqual(await response.json(), { id: i });
    }
    const ask = async (body) => (await (await post('/ask', body)).json()).context;

    const context = await ask({ question: 'how does jq filter JSON records?' });
    assert.equal(context.length, 3); // k's default, with four documents in the index
    assert.deepEqual(context[0], { id: 1, text: documents[1], score: context[0].score });
    const scores = context.map((c) => c.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
    assert.ok(scores[0] > scores[1] && scores[0] <= 1 + 1e-6, JSON.stringify(scores));
    assert.equal((await ask({ question: 'Sorting numbers on every core' }))[0].id, 2);

    // k beyond the index's size: every document, once.
    assert.deepEqual((await ask({ question: 'passwords', k: 10 })).map((c) => c.id).sort(), [0, 1, 2, 3]);
    assert.equal((await ask({ question: 'passwords', k: 1 }))[0].id, 0);

    assert.equal((await post('/ask', { question: '' })).status, 400);
    assert.equal((await post('/documents', {})).status, 400);
    assert.equal(await (await fetch(base + '/health')).text(), 'ok');
  }),
);
