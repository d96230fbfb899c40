// The headline: real login servers (Fastify and Express, each in its own process on 127.0.0.1) under
// a fixed login load, while a probe measures how long /health and /file (fs.promises.readFile) take.
// Then the same for JSON APIs that compress their responses (gzip, brotli).
import { fork } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { percentile } from '../lib/harness.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const loginApp = fileURLToPath(new URL('../servers/login-app.mjs', import.meta.url));
const compressApp = fileURLToPath(new URL('../servers/compress-app.mjs', import.meta.url));

const VARIANTS = [
  ['offloop', 'offloop verifyPassword()'],
  ['argon2', 'argon2 (node-argon2)'],
  ['node-rs-argon2', '@node-rs/argon2'],
  ['piscina-hash-wasm', 'piscina + hash-wasm'],
  ['bcryptjs', 'bcryptjs (bcrypt cost 10)'],
];

const COMPRESSION_VARIANTS = {
  express: [['offloop', 'offloop/express'], ['reference', 'compression (node:zlib streams)'], ['none', 'no compression']],
  fastify: [['offloop', 'offloop/fastify'], ['reference', '@fastify/compress (node:zlib)'], ['none', 'no compression']],
};

/** Forks a server and resolves with it and the port it bound (the OS picks a free one). */
function startServer(app, framework, variant) {
  const child = fork(app, [framework, variant], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${framework}/${variant} did not start`)), 30_000);
    child.once('message', ({ port }) => {
      clearTimeout(timer);
      resolve({ child, port });
    });
    child.once('exit', (code) => reject(new Error(`${framework}/${variant} exited with ${code}`)));
  });
}

function get(agent, port, path) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', (error) => resolve(error));
  });
}

/** Fires /health and /file every `everyMs`, each request on its own, until `stop()`. */
function probe(port, everyMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const samples = { health: [], file: [] };
  const failures = [];
  const pending = new Set();
  const timer = setInterval(() => {
    for (const path of ['health', 'file']) {
      const p = get(agent, port, `/${path}`).then((outcome) => {
        if (typeof outcome === 'number') samples[path].push(outcome);
        else failures.push(outcome);
        pending.delete(p);
      });
      pending.add(p);
    }
  }, everyMs);
  return async () => {
    clearInterval(timer);
    await Promise.all(pending);
    agent.destroy();
    // A probe that never got an answer is a broken run, not a fast one: say why instead of printing NaN.
    if (samples.health.length === 0 || samples.file.length === 0) {
      throw new Error(`the probe got no answers (${failures.length} failed, first: ${failures[0]?.message})`);
    }
    const stats = (xs) => {
      const s = xs.sort((a, b) => a - b);
      return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
    };
    return { health: stats(samples.health), file: stats(samples.file) };
  };
}

/**
 * GET requests at `rate` a second, evenly spaced, over up to `connections` keep-alive sockets, for
 * `seconds`; resolves with the fields of autocannon's result that `measured` and the rows read.
 * Why not autocannon's `overallRate`: each connection sends its quota for the second back to back
 * as the second starts, then waits for the next (httpClient.js, `reqsMadeThisSecond`), so "80
 * requests/s" was a burst of 80 requests each second, and the probes measured how long the burst
 * took to drain. A latency counts from when the request was due, so a queue is not hidden.
 */
async function paced({ port, path, headers }, rate, seconds, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  const counts = { ok: 0, non2xx: 0, errors: 0, bytes: 0 };
  const pending = new Set();
  const total = rate * seconds;
  const start = performance.now();
  let sent = 0;
  const issue = (due) =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
        res.on('data', (chunk) => (counts.bytes += chunk.length));
        res.on('end', () => {
          latencies.push(performance.now() - due);
          if (res.statusCode >= 200 && res.statusCode < 300) counts.ok++;
          else counts.non2xx++;
          resolve();
        });
      });
      req.on('error', () => {
        counts.errors++;
        resolve();
      });
    });
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      // Every request whose time has come, also those a late timer tick owes.
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const p = issue(start + (sent * 1000) / rate).then(() => pending.delete(p));
        pending.add(p);
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const answered = Math.max(1, sorted.length);
  return {
    '2xx': counts.ok,
    non2xx: counts.non2xx,
    errors: counts.errors,
    latency: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) },
    throughput: { average: counts.bytes / seconds },
    requests: { average: answered / seconds },
  };
}

/** A server row's figures: autocannon's throughput and latency, and the probes'. */
function measured(result, probes, seconds) {
  return {
    opsPerSec: result['2xx'] / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
    healthP50Ms: probes.health.p50,
    healthP99Ms: probes.health.p99,
    healthMaxMs: probes.health.max,
    fileP50Ms: probes.file.p50,
    fileP99Ms: probes.file.p99,
    fileMaxMs: probes.file.max,
  };
}

function logRow(bench, row, unit) {
  bench.log(
    `    ${row.opsPerSec.toFixed(1)} ${unit}/s, /health p99 ${row.healthP99Ms.toFixed(1)} ms, /file p99 ${row.fileP99Ms.toFixed(1)} ms (max ${row.fileMaxMs.toFixed(1)})`,
  );
}

export default async function serverSection(bench) {
  const seconds = bench.quick ? 3 : 10;
  const connections = 8;
  // OFFLOOP_BENCH_SERVERS=compression runs only the compressing servers.
  if (process.env.OFFLOOP_BENCH_SERVERS !== 'compression') await loginServers(bench, seconds, connections);
  await compressionServers(bench, seconds, connections);
}

/** Login servers under a fixed login load, with the probes beside them. */
async function loginServers(bench, seconds, connections) {
  bench.note(
    `Each server runs in its own process on 127.0.0.1; autocannon sends POST /login with ${connections} connections for ${seconds} s ` +
      '(argon2id at OWASP parameters m=19456 t=2 p=1 for every variant except bcryptjs, which verifies a bcrypt cost-10 hash as legacy apps do). ' +
      'Meanwhile a probe sends GET /health and GET /file (fs.promises.readFile of 512 bytes) every 20 ms. ' +
      'login/s counts 2xx responses only. The load generator shares the machine\'s cores with the server.',
  );
  for (const framework of ['fastify', 'express']) {
    for (const [variant, impl] of VARIANTS) {
      bench.log(`  server | ${framework} | ${impl} ...`);
      const { child: server, port } = await startServer(loginApp, framework, variant);
      try {
        // Warm-up: a few logins and probes.
        await autocannon({ url: `http://127.0.0.1:${port}/login`, method: 'POST', connections: 2, amount: 8,
          headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'correct horse battery staple' }) });
        const stopProbe = probe(port, 20);
        const result = await autocannon({
          url: `http://127.0.0.1:${port}/login`,
          method: 'POST',
          connections,
          duration: seconds,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: 'correct horse battery staple' }),
        });
        const probes = await stopProbe();
        const row = bench.record({
          group: `${framework} POST /login under load`,
          task: 'login server',
          impl,
          params: `${connections} connections, ${seconds} s`,
          inFlight: connections,
          ...measured(result, probes, seconds),
        });
        logRow(bench, row, 'login');
      } finally {
        server.kill();
      }
    }
  }
}

/** JSON APIs compressing ~100 KB responses under load, with the same probes beside them. */
async function compressionServers(bench, seconds, connections) {
  // The fixed rate every stack sustained even on a loaded VM: at it, each does the same work, so the
  // probes compare what compressing does to the loop and to libuv's pool, not how much was served.
  const rate = 80;
  bench.note(
    'Compressed responses: each server answers GET /data with ~100 KB of JSON (serialized per request), compressed for the Accept-Encoding autocannon sends ' +
      `(gzip, or br), ${connections} connections for ${seconds} s, with the same /health and /file probes every 20 ms: first as fast as it can ("under load"), ` +
      `then at ${rate} requests/s evenly spaced (one every ${1000 / rate} ms, up to ${connections} at a time; latency counted from when each was due). ` +
      'offloop/express and offloop/fastify compress each body in one piece on offloop\'s pool (gzip level 6, brotli quality 4); compression and @fastify/compress ' +
      'pipe it through node:zlib streams on libuv\'s threadpool (@fastify/compress compresses bodies up to 8 KiB on the JS thread), same level and quality. ' +
      'The "no compression" row sends the JSON as is: the cost of compressing is the difference. requests/s counts 2xx responses only. ' +
      `offloop's pool priority: '${process.env.OFFLOOP_PRIORITY ?? 'background'}' (OFFLOOP_PRIORITY).`,
  );
  for (const pace of ['under load', `at ${rate} requests/s`]) {
    for (const framework of ['fastify', 'express']) {
      for (const encoding of ['gzip', 'br']) {
        for (const [variant, impl] of COMPRESSION_VARIANTS[framework]) {
          bench.log(`  server | ${framework} ${encoding} ${pace} | ${impl} ...`);
          const { child: server, port } = await startServer(compressApp, framework, variant);
          try {
            const load = { url: `http://127.0.0.1:${port}/data`, headers: { 'accept-encoding': encoding } };
            await autocannon({ ...load, connections: 2, amount: 20 });
            const stopProbe = probe(port, 20);
            const result =
              pace === 'under load'
                ? await autocannon({ ...load, connections, duration: seconds })
                : await paced({ port, path: '/data', headers: load.headers }, rate, seconds, connections);
            const probes = await stopProbe();
            const row = bench.record({
              group: `${framework} GET /data (100 KB JSON, ${encoding}) ${pace}`,
              task: 'compressing server',
              impl,
              params: `${connections} connections, ${seconds} s, ${Math.round(result.throughput.average / Math.max(1, result.requests.average) / 100) / 10} KB per response`,
              inFlight: connections,
              unit: 'requests',
              ...(variant === 'none' ? { reference: true } : {}),
              ...measured(result, probes, seconds),
            });
            logRow(bench, row, 'req');
          } finally {
            server.kill();
          }
        }
      }
    }
  }
}
