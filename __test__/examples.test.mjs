// The examples start with one command and do what their comments say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { root } from './helpers.mjs';

for (const name of ['express-login', 'fastify-login']) {
  test(`examples/${name}: signup, login, wrong password, metrics`, { timeout: 60_000 }, async () => {
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
      assert.equal((await post('/signup', { user: 'ada', password: 'lovelace' })).status, 201);
      assert.equal((await post('/signup', { user: 'ada', password: 'again' })).status, 409);
      assert.equal((await post('/login', { user: 'ada', password: 'lovelace' })).status, 200);
      assert.equal((await post('/login', { user: 'ada', password: 'wrong' })).status, 401);
      assert.equal((await post('/login', { user: 'nobody', password: 'lovelace' })).status, 401);
      assert.equal(await (await fetch(base + '/health')).text(), 'ok');
      const metrics = await (await fetch(base + '/metrics')).json();
      assert.ok(metrics.completed >= 5, JSON.stringify(metrics));
      assert.equal(metrics.queued, 0);
    } finally {
      server.kill();
    }
  });
}
