// The cost of going through offloop's pool: per-call overhead of a trivial job (one awaited at a
// time, and 1,000 in flight), the time `require('offloop')` takes, and the memory the addon adds.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { percentile } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const indexPath = fileURLToPath(new URL('../../index.js', import.meta.url));
const offloop = require(indexPath);

export default async function runtimeSection(bench) {
  const data = crypto.randomBytes(64);
  // The trivial job: SHA-256 of 64 bytes when the hashing exports exist, else the cheapest call of
  // the password module (a malformed hash, rejected on the pool thread).
  const trivial = offloop.hash
    ? { name: "offloop hash('sha256', 64 B)", op: () => offloop.hash('sha256', data) }
    : { name: 'offloop verifyPassword(malformed)', op: () => offloop.verifyPassword('x', 'pw').catch(() => {}) };
  bench.note(
    `Per-call overhead: a trivial job (${trivial.name}) through offloop's pool vs webcrypto's subtle.digest (libuv's pool) and node:crypto on the JS thread. ` +
      'µs per call = 1e6 / ops/s. Target: ≤ 25 µs for one awaited call, ≤ 2 µs per call with 1,000 in flight.',
  );
  for (const inFlight of [1, 1000]) {
    const group = `trivial async call, ${inFlight} in flight`;
    await bench.run({ group, task: 'per-call overhead', impl: trivial.name, params: '64 B', inFlight, op: trivial.op });
    await bench.run({
      group, task: 'per-call overhead', impl: 'webcrypto subtle.digest (libuv pool)', params: '64 B', inFlight,
      op: () => crypto.subtle.digest('SHA-256', data),
    });
    // Synchronous work cannot be "in flight": the JS-thread reference runs one call at a time.
    if (inFlight === 1) {
      await bench.run({
        group, task: 'per-call overhead', impl: 'node:crypto createHash (JS thread)', params: '64 B', inFlight, reference: true,
        op: () => crypto.createHash('sha256').update(data).digest(),
      });
    }
  }

  // Start-up and memory, each in fresh processes.
  const runs = bench.quick ? 3 : 7;
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['-e', `
      const rss0 = process.memoryUsage.rss();
      const t0 = performance.now();
      const o = require(${JSON.stringify(indexPath)});
      const requireMs = performance.now() - t0;
      const rss1 = process.memoryUsage.rss();
      o.poolStats();
      const rss2 = process.memoryUsage.rss();
      o.hashPassword('pw').then(() => {
        const rss3 = process.memoryUsage.rss();
        console.log(JSON.stringify({ requireMs, loaded: rss1 - rss0, poolStarted: rss2 - rss0, afterHash: rss3 - rss0 }));
      });`], { encoding: 'utf8' });
    samples.push(JSON.parse(out));
  }
  const median = (key) => percentile(samples.map((s) => s[key]).sort((a, b) => a - b), 50);
  bench.record({ group: 'start-up and memory', task: 'require', impl: "require('offloop')", params: `median of ${runs} fresh processes`, p50Ms: median('requireMs') });
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  bench.note(
    `require('offloop') takes ${median('requireMs').toFixed(1)} ms (median of ${runs} fresh processes). RSS the addon adds: ` +
      `${mb(median('loaded'))} MB once loaded, ${mb(median('poolStarted'))} MB with the pool started, ` +
      `${mb(median('afterHash'))} MB after one OWASP argon2id hash (the thread keeps its 19 MiB block arena for the next hash).`,
  );
}
