// The runtime: the pool, the promise bridge, abort, queue bounds, panics and worker_threads.
// Most tests run in a child process: the pool is per process and configure() works only once.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { offloop, runChild, runNode, childJson, loadHooks, hooksPath, rejectsWith, throwsWith, root } from './helpers.mjs';

const index = JSON.stringify(`${root}/index.js`);
const requireOffloop = `import { createRequire } from 'node:module'; const offloop = createRequire(import.meta.url)(${index});`;

describe('pool', () => {
  test('poolStats() reports the pool; configure() after start throws', () => {
    const stats = offloop.poolStats();
    assert.deepEqual(Object.keys(stats).sort(), ['cancelled', 'completed', 'failed', 'priority', 'queued', 'running', 'threads']);
    assert.ok(stats.threads >= 1);
    const { priority, ...counters } = stats;
    assert.equal(priority, process.platform === 'linux' ? 'background' : 'normal');
    for (const v of Object.values(counters)) assert.equal(typeof v, 'number');
    throwsWith(() => offloop.configure({ threads: 2 }), Error, 'ERR_OFFLOOP_ALREADY_STARTED');
    throwsWith(() => offloop.configure({ threads: 0 }), RangeError, 'ERR_OUT_OF_RANGE');
    throwsWith(() => offloop.configure({ threads: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE');
    throwsWith(() => offloop.configure({ maxQueue: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
    throwsWith(() => offloop.configure({ threads: '2' }), TypeError, 'ERR_INVALID_ARG_TYPE');
    throwsWith(() => offloop.configure(2), TypeError, 'ERR_INVALID_ARG_TYPE');
    throwsWith(() => offloop.configure({ priority: 'low' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    throwsWith(() => offloop.configure({ priority: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  // The scheduling class of each pool thread, from the kernel: field 41 of /proc/<tid>/stat.
  const poolClasses = `
    offloop.poolStats();
    const { readdirSync, readFileSync } = await import('node:fs');
    await new Promise((r) => setTimeout(r, 50));
    const classes = readdirSync('/proc/self/task')
      .filter((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('offloop-'))
      .map((t) => {
        const stat = readFileSync('/proc/self/task/' + t + '/stat', 'utf8');
        return { 0: 'SCHED_OTHER', 5: 'SCHED_IDLE' }[stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]] ?? 'other';
      });
    console.log(JSON.stringify({ classes, priority: offloop.poolStats().priority }));`;
  const classes = (names, n) => Array.from({ length: n }, () => names);

  test('priority: pool threads run in SCHED_IDLE by default; normal on request', { skip: process.platform !== 'linux' }, async () => {
    const byDefault = childJson(await runChild(`${requireOffloop} offloop.configure({ threads: 2 }); ${poolClasses}`, { env: { OFFLOOP_PRIORITY: '' } }));
    assert.deepEqual(byDefault, { classes: ['SCHED_IDLE', 'SCHED_IDLE'], priority: 'background' });
    const normal = childJson(await runChild(`${requireOffloop} offloop.configure({ threads: 3, priority: 'normal' }); ${poolClasses}`));
    assert.deepEqual(normal, { classes: classes('SCHED_OTHER', 3), priority: 'normal' });
    const fromEnv = childJson(await runChild(`${requireOffloop} ${poolClasses}`, { env: { OFFLOOP_PRIORITY: 'normal', OFFLOOP_THREADS: '2' } }));
    assert.deepEqual(fromEnv, { classes: classes('SCHED_OTHER', 2), priority: 'normal' });
    // configure() wins over the environment, as it does for threads.
    const overridden = childJson(
      await runChild(`${requireOffloop} offloop.configure({ priority: 'background' }); ${poolClasses}`, { env: { OFFLOOP_PRIORITY: 'normal', OFFLOOP_THREADS: '2' } }),
    );
    assert.deepEqual(overridden, { classes: classes('SCHED_IDLE', 2), priority: 'background' });
  });

  test('configure() and OFFLOOP_THREADS size the pool; threads are named offloop-N', async () => {
    const configured = await runChild(`${requireOffloop}
      offloop.configure({ threads: 3 });
      console.log(JSON.stringify(offloop.poolStats()));`);
    assert.equal(childJson(configured).threads, 3);
    const fromEnv = await runChild(`${requireOffloop} console.log(JSON.stringify(offloop.poolStats()));`, {
      env: { OFFLOOP_THREADS: '5' },
    });
    assert.equal(childJson(fromEnv).threads, 5);
    const names = await runChild(`${requireOffloop}
      offloop.configure({ threads: 2 });
      offloop.poolStats();
      const { readdirSync, readFileSync } = await import('node:fs');
      await new Promise((r) => setTimeout(r, 50));
      const names = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim());
      console.log(JSON.stringify(names.filter((n) => n.startsWith('offloop'))));`);
    assert.deepEqual(childJson(names).sort(), ['offloop-0', 'offloop-1']);
  });

  test('maxQueue: a call beyond the bound rejects with ERR_QUEUE_FULL; nothing is lost', async () => {
    const r = await runChild(`${loadHooks}
      h.configure({ threads: 1, maxQueue: 2 });
      const running = h.testSleep(300);
      await new Promise((r) => setTimeout(r, 50));
      const queued = [h.testSleep(1), h.testSleep(1)];
      let full;
      try { await h.testSleep(1); } catch (e) { full = { name: e.name, code: e.code, message: e.message }; }
      const during = h.poolStats();
      await Promise.all([running, ...queued]);
      console.log(JSON.stringify({ full, during, after: h.poolStats() }));`);
    const { full, during, after } = childJson(r);
    assert.equal(full.code, 'ERR_QUEUE_FULL');
    assert.match(full.message, /maxQueue/);
    assert.equal(during.queued, 2);
    assert.equal(during.running, 1);
    assert.equal(after.completed, 3);
    assert.equal(after.queued, 0);
  });

  test('maxQueue: 0 runs a job on each free thread and lets none wait', async () => {
    // Found by a hostile hunt (2026-12-06): a job handed to an idle thread counted as waiting
    // until it started, so maxQueue: 0 refused every call.
    const r = await runChild(`${loadHooks}
      h.configure({ threads: 2, maxQueue: 0 });
      const outcome = (p) => p.then(() => 'ran', (e) => e.code);
      const first = [outcome(h.testSleep(300)), outcome(h.testSleep(300))];
      await new Promise((r) => setTimeout(r, 50));
      const third = await outcome(h.testSleep(1));
      const firstTwo = await Promise.all(first);
      const after = await outcome(h.testSleep(1));
      console.log(JSON.stringify({ firstTwo, third, after }));`);
    assert.deepEqual(childJson(r), { firstTwo: ['ran', 'ran'], third: 'ERR_QUEUE_FULL', after: 'ran' });
  });

  test('100k queued jobs complete, in one process, with the loop free', async () => {
    const r = await runChild(`${requireOffloop}
      const jobs = [];
      for (let i = 0; i < 100000; i++) jobs.push(offloop.verifyPassword('not a hash', 'pw').then(() => 'resolved', (e) => e.code));
      const codes = new Set(await Promise.all(jobs));
      console.log(JSON.stringify({ codes: [...codes], stats: offloop.poolStats() }));`);
    const { codes, stats } = childJson(r);
    assert.deepEqual(codes, ['ERR_INVALID_HASH']);
    assert.equal(stats.failed, 100000);
    assert.equal(stats.queued + stats.running, 0);
  });
});

describe('promise bridge', () => {
  test('a pending promise keeps the process alive; an idle addon does not', async () => {
    const pending = await runChild(`${requireOffloop}
      offloop.hashPassword('pw', { memoryCost: 64, timeCost: 1 }).then((h) => console.log(JSON.stringify(h.slice(0, 9))));`);
    assert.equal(childJson(pending), '$argon2id');
    // After the last job settles, the process exits on its own (the completion channel is unref'd).
    const idle = await runChild(`${requireOffloop}
      await offloop.hashPassword('pw', { memoryCost: 64, timeCost: 1 });
      console.log('1');`, { timeoutMs: 10_000 });
    assert.equal(childJson(idle), 1);
  });

  test('a stream of small jobs that queue more jobs lets the event loop turn between batches', async () => {
    // 8 lanes of `await hash()`: each settled promise queues the next job from its continuation.
    // A setImmediate chain counts the loop's turns and how many promises settled within each one.
    const r = await runChild(`${requireOffloop}
      const lanes = 8, total = 50000, data = Buffer.alloc(64);
      let started = 0, settled = 0, sinceTurn = 0, mostInOneTurn = 0, turns = 0, done = false;
      const turn = () => {
        mostInOneTurn = Math.max(mostInOneTurn, sinceTurn);
        sinceTurn = 0;
        turns++;
        if (!done) setImmediate(turn);
      };
      setImmediate(turn);
      async function lane() {
        while (started < total) { started++; await offloop.hash('sha256', data); settled++; sinceTurn++; }
      }
      await Promise.all(Array.from({ length: lanes }, lane));
      done = true;
      console.log(JSON.stringify({ settled, turns, mostInOneTurn }));`);
    const { settled, turns, mostInOneTurn } = childJson(r);
    assert.equal(settled, 50000);
    // A turn drains at most twice (bridge.rs), and a drain settles at most what is in flight.
    assert.ok(mostInOneTurn <= 2 * 8, `${mostInOneTurn} promises settled in one loop turn (${turns} turns)`);
  });

  test('a panic in a job rejects with ERR_OFFLOOP_PANIC and the pool keeps working', async () => {
    const r = await runChild(`${loadHooks}
      const out = [];
      for (let i = 0; i < 3; i++) {
        try { await h.testPanicInJob(); out.push('resolved'); } catch (e) { out.push(e.code + ': ' + e.message); }
      }
      const slept = await h.testSleep(1);
      console.log(JSON.stringify({ out, slept, stats: h.poolStats() }));`);
    const { out, slept, stats } = childJson(r);
    assert.equal(out.length, 3);
    for (const o of out) assert.match(o, /^ERR_OFFLOOP_PANIC: .*injected test panic/);
    assert.ok(slept >= 1);
    assert.equal(stats.failed, 3);
    assert.equal(stats.completed, 1);
  });
});

describe('AbortSignal', () => {
  test('an already-aborted signal rejects at once, without queueing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const before = offloop.poolStats();
    const e = await rejectsWith(offloop.hashPassword('pw', { signal: controller.signal }), Error, 'ABORT_ERR');
    assert.equal(e.name, 'AbortError');
    await rejectsWith(offloop.verifyPassword('x', 'pw', { signal: AbortSignal.abort() }), Error, 'ABORT_ERR');
    const after = offloop.poolStats();
    assert.equal(after.completed + after.failed + after.cancelled, before.completed + before.failed + before.cancelled);
  });

  // Found by a hostile hunt (2026-12-06): a signal aborted before the call gave an AbortError
  // without a `cause`, one aborted during it had the reason: telling a timeout from a user's abort
  // (`AbortSignal.timeout()`'s TimeoutError) depended on when it came.
  test("the AbortError's cause is the signal's reason, whether it aborted before or during the call", async () => {
    const reason = new Error('gone');
    const before = await rejectsWith(offloop.hash('sha256', 'x', 'hex', { signal: AbortSignal.abort(reason) }), Error, 'ABORT_ERR');
    assert.equal(before.cause, reason);
    const timedOut = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await rejectsWith(offloop.sort(new Float64Array(3), { signal: timedOut }), Error, 'ABORT_ERR')).cause?.name, 'TimeoutError');
    const controller = new AbortController();
    const during = offloop.hashPassword('pw', { memoryCost: 65536, timeCost: 50, signal: controller.signal });
    controller.abort(reason);
    assert.equal((await rejectsWith(during, Error, 'ABORT_ERR')).cause, reason);
    // A reason that cannot be read leaves the error without a cause; the call still rejects.
    const hostile = { aborted: true, get reason() { throw new Error('trap'); } };
    assert.equal((await rejectsWith(offloop.hash('sha256', 'x', 'hex', { signal: hostile }), Error, 'ABORT_ERR')).cause, undefined);
  });

  test('queued and running jobs: abort rejects at once, the queued job is skipped, the running one stops', async () => {
    const r = await runChild(`${loadHooks}
      h.configure({ threads: 1 });
      const t0 = Date.now();
      const running = new AbortController();
      const queued = new AbortController();
      let userHandler = 0;
      queued.signal.onabort = () => userHandler++;
      queued.signal.addEventListener('abort', () => userHandler++);
      const first = h.testSleep(10000, { signal: running.signal });
      const second = h.testSleep(10, { signal: queued.signal });
      await new Promise((r) => setTimeout(r, 50));
      queued.abort(new Error('user left'));
      const secondError = await second.catch((e) => e);
      const secondMs = Date.now() - t0;
      running.abort();
      const firstError = await first.catch((e) => e);
      // The running job noticed the abort and freed the only thread.
      await h.testSleep(1);
      const stats = h.poolStats();
      console.log(JSON.stringify({
        second: [secondError.name, secondError.code, secondError.cause?.message], secondMs,
        first: [firstError.name, firstError.code], totalMs: Date.now() - t0, userHandler, stats,
      }));`);
    const out = childJson(r);
    assert.deepEqual(out.second, ['AbortError', 'ABORT_ERR', 'user left']);
    assert.deepEqual(out.first, ['AbortError', 'ABORT_ERR']);
    assert.ok(out.secondMs < 5000, 'the queued job was rejected before the running one finished');
    assert.ok(out.totalMs < 8000, 'the running 10 s job stopped when aborted');
    assert.equal(out.userHandler, 2, "the user's onabort and listener both ran");
    assert.equal(out.stats.cancelled, 1);
    assert.equal(out.stats.running, 0);
  });

  test('listeners are removed when jobs settle, so a long-lived signal does not collect them', async () => {
    const { getEventListeners } = await import('node:events');
    const controller = new AbortController();
    for (let i = 0; i < 30; i++) {
      await offloop.verifyPassword('nope', 'pw', { signal: controller.signal }).catch(() => {});
    }
    await Promise.all(Array.from({ length: 30 }, () => offloop.hashPassword('pw', { memoryCost: 64, timeCost: 1, signal: controller.signal })));
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
  test('one listener per signal: 10,000 concurrent calls share it, then nothing is left behind', async () => {
    const r = await runChild(`${loadHooks}
      const { getEventListeners } = await import('node:events');
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      h.configure({ threads: 1 });
      const shared = new AbortController();
      const calls = Array.from({ length: 10000 }, (_, i) => h.testSleep(i < 2 ? 200 : 0, { signal: shared.signal }).then(() => 'ok', (e) => e.name));
      const whilePending = getEventListeners(shared.signal, 'abort').length;
      const outcomes = await Promise.all(calls);
      const afterSettled = getEventListeners(shared.signal, 'abort').length;
      // Aborting a signal shared by many pending calls rejects every one of them.
      const aborting = new AbortController();
      const pending = Array.from({ length: 1000 }, () => h.testSleep(50, { signal: aborting.signal }).then(() => 'ok', (e) => e.name));
      const duringAbort = getEventListeners(aborting.signal, 'abort').length;
      aborting.abort();
      const aborted = await Promise.all(pending);
      await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({
        whilePending, afterSettled, duringAbort, ok: outcomes.filter((o) => o === 'ok').length,
        abortErrors: aborted.filter((o) => o === 'AbortError').length, afterAbort: getEventListeners(aborting.signal, 'abort').length, warnings,
      }));`);
    assert.deepEqual(childJson(r), { whilePending: 1, afterSettled: 0, duringAbort: 1, ok: 10000, abortErrors: 1000, afterAbort: 0, warnings: [] });
  });

  test('a hostile signal (throwing getters, traps or addEventListener) rejects the call with a coded error', async () => {
    const r = await runChild(`${requireOffloop}
      const hostile = {
        'aborted getter throws': { get aborted() { throw new Error('no'); }, addEventListener() {} },
        'proxy whose traps throw': new Proxy({}, { has() { throw new Error('no'); }, get() { throw new Error('no'); } }),
        'addEventListener throws': { aborted: false, addEventListener() { throw new Error('no'); }, removeEventListener() {} },
        'removeEventListener throws': { aborted: false, addEventListener() {}, removeEventListener() { throw new Error('no'); } },
      };
      const out = {};
      for (const [name, signal] of Object.entries(hostile)) {
        out[name] = await offloop.hash('sha256', 'x', 'hex', { signal }).then(() => 'resolved', (e) => e.code);
      }
      console.log(JSON.stringify(out));`, { timeoutMs: 20_000 });
    assert.deepEqual(childJson(r), {
      'aborted getter throws': 'ERR_INVALID_ARG_TYPE',
      'proxy whose traps throw': 'ERR_INVALID_ARG_TYPE',
      'addEventListener throws': 'ERR_INVALID_ARG_TYPE',
      'removeEventListener throws': 'resolved',
    });
  });
});

describe('calls made while another call decodes its arguments', () => {
  // Found by a hostile hunt (2026-12-06): an offloop call made from another call's option getter
  // took, or released, what that call had recorded so far: its large views to copy, the reference
  // that kept its SharedArrayBuffer alive (a collected buffer was then read freed: SIGSEGV) and its
  // output array. The outer call failed with ERR_OFFLOOP_INTERNAL, or crashed the process.
  test('an offloop call from an option getter neither takes nor releases the memory of the call it is nested in', async () => {
    const r = await runChild(`${requireOffloop}
      import { createHash, randomBytes } from 'node:crypto';
      const sha = (b) => createHash('sha256').update(b).digest('hex');
      const outcome = (p) => p.then((v) => v, (e) => e.code);
      const out = {};
      // Read in place; its only reference is the call's, which the nested call released.
      const sums = [];
      for (let round = 0; round < 10; round++) {
        let inner;
        const outer = offloop.describe(new Float64Array(new SharedArrayBuffer(8 * (16 << 20))).fill(1.5), {
          percentiles: [],
          get skipNaN() { inner = offloop.hash('sha256', 'x'); return false; },
        });
        await inner;
        for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 1)); }
        const junk = Array.from({ length: 4 }, () => new Float64Array(new SharedArrayBuffer(8 * (16 << 20))).fill(NaN));
        sums.push(await outcome(outer.then((d) => d.sum)));
      }
      out.inPlace = sums.every((s) => s === 1.5 * (16 << 20)) || sums;
      // Copied between turns of the loop (1 MiB and more), with a nested call of each kind.
      const big = randomBytes(2 << 20);
      const other = randomBytes(3 << 20);
      const codec = new offloop.StreamCodec('compress', 'gzip');
      const nested = {
        'a small call': () => offloop.hash('sha256', 'x'),
        'a large call': () => offloop.hash('sha256', other),
        'a call that fails': () => offloop.hash('sha256', 5),
        'a stream write': () => codec.write(other),
        'a hashStream': () => offloop.hashStream('sha256', [other]),
      };
      out.staged = {};
      for (const [name, call] of Object.entries(nested)) {
        let inner;
        const outer = outcome(offloop.hash('sha256', big, 'hex', { get signal() { inner = outcome(call()); return undefined; } }));
        out.staged[name] = (await outer) === sha(big) && (await inner) !== 'ERR_OFFLOOP_INTERNAL' || [await outer, await inner];
      }
      // Written back into an array: each result goes into its own call's array.
      const data = Float64Array.from([3, 1, 2]);
      const into = new Float64Array(3);
      const into2 = new Float64Array(4);
      let inner;
      const sorted = await outcome(offloop.sort(data, { into, get signal() { inner = outcome(offloop.sort(Float64Array.from([4, 3, 2, 1]), { into: into2 })); return undefined; } }));
      out.into = [sorted === into, Array.from(into), (await inner) === into2, Array.from(into2)];
      console.log(JSON.stringify(out));`, { args: ['--expose-gc'], timeoutMs: 120_000 });
    const out = childJson(r);
    assert.equal(out.inPlace, true);
    assert.deepEqual(out.staged, { 'a small call': true, 'a large call': true, 'a call that fails': true, 'a stream write': true, 'a hashStream': true });
    assert.deepEqual(out.into, [true, [1, 2, 3], true, [1, 2, 3, 4]]);
  });
});

describe('worker_threads', () => {
  test('loads in several workers at once; terminating workers with queued jobs is safe', async () => {
    const r = await runChild(`${requireOffloop}
      const { Worker } = await import('node:worker_threads');
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const offloop = require(workerData.index);
        (async () => {
          const h = await offloop.hashPassword('pw', { memoryCost: 64, timeCost: 1 });
          parentPort.postMessage(await offloop.verifyPassword(h, 'pw'));
          // Then flood the pool and get terminated mid-flight.
          for (let i = 0; i < 2000; i++) offloop.hashPassword('pw', { memoryCost: 256, timeCost: 1 }).catch(() => {});
          parentPort.postMessage('flooded');
        })();\`;
      const t0 = Date.now();
      for (let round = 0; round < 5; round++) {
        const workers = Array.from({ length: 4 }, () => new Worker(src, { eval: true, execArgv: [], workerData: { index: ${index} } }));
        await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
          const seen = [];
          w.on('message', (m) => { seen.push(m); if (m === 'flooded') resolve(seen); });
          w.on('error', reject);
        })));
        await Promise.all(workers.map((w) => w.terminate()));
      }
      // The main thread's own calls still work while the pool skips the dead workers' jobs.
      const h = await offloop.hashPassword('pw', { memoryCost: 64, timeCost: 1 });
      const ok = await offloop.verifyPassword(h, 'pw');
      const stats = offloop.poolStats();
      console.log(JSON.stringify({ ok, ms: Date.now() - t0, stats }));`, { timeoutMs: 120_000 });
    const out = childJson(r);
    assert.equal(out.ok, true);
    assert.ok(out.stats.cancelled > 0, 'queued jobs of terminated workers were skipped');
  });
});

describe('loaded twice', () => {
  // Test runners and hot-reload tools clear require.cache and load the addon again: Node then gives
  // the second copy its own napi_env inside the same environment, on the same thread.
  const loadTwice = `
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const first = require(${index});
    for (const key of Object.keys(require.cache)) delete require.cache[key];
    const second = require(${index});
    if (first === second) throw new Error('the second require was served from the cache');`;

  test('both copies work, interleaved, with aborts, streams and classes', async () => {
    const r = await runChild(`${loadTwice}
      const crypto = await import('node:crypto');
      const expect = (s) => crypto.createHash('sha256').update(s).digest('hex');
      const results = await Promise.all([0, 1, 2, 3].map((i) => [first, second][i % 2].hash('sha256', 'x' + i)));
      const hashers = [first, second].map((m, i) => m.createHasher('sha256').update('h' + i).digest());
      const streams = [first, second].map((m, i) => m.hashStream('sha256', ['s', String(i)]));
      const c = new AbortController();
      const aborted = [first, second].map((m) => m.hashPassword('pw', { memoryCost: 64, timeCost: 50, signal: c.signal }).catch((e) => e.name));
      c.abort();
      console.log(JSON.stringify({
        ok: results.every((h, i) => h === expect('x' + i)),
        hashers: (await Promise.all(hashers)).map((h, i) => h === expect('h' + i)),
        streams: (await Promise.all(streams)).map((h, i) => h === expect('s' + i)),
        aborted: await Promise.all(aborted),
        index: new second.VectorIndex(2).add(new Float32Array([1, 0, 0, 1])),
      }));`);
    assert.deepEqual(childJson(r), { ok: true, hashers: [true, true], streams: [true, true], aborted: ['AbortError', 'AbortError'], index: 0 });
  });

  test("in worker_threads too: terminating a worker that loaded it twice leaves other environments' promises alone", async () => {
    const r = await runChild(`${requireOffloop}
      const { Worker } = await import('node:worker_threads');
      const src = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const first = require(workerData.index);
        for (const key of Object.keys(require.cache)) delete require.cache[key];
        const second = require(workerData.index);
        for (let i = 0; i < 500; i++) for (const m of [first, second]) m.hashPassword('pw', { memoryCost: 256, timeCost: 1 }).catch(() => {});
        Promise.all([first.hash('sha256', 'a'), second.hash('sha256', 'a')]).then((h) => parentPort.postMessage(h[0] === h[1]));\`;
      const pending = Array.from({ length: 200 }, () => offloop.hashPassword('pw', { memoryCost: 256, timeCost: 1 }));
      const workers = Array.from({ length: 3 }, () => new Worker(src, { eval: true, execArgv: [], workerData: { index: ${index} } }));
      const agreed = await Promise.all(workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); })));
      await Promise.all(workers.map((w) => w.terminate()));
      const hashes = await Promise.all(pending);
      console.log(JSON.stringify({ agreed, settled: hashes.length, ok: await offloop.verifyPassword(hashes[0], 'pw') }));`, { timeoutMs: 120_000 });
    assert.deepEqual(childJson(r), { agreed: [true, true, true], settled: 200, ok: true });
  });
});

describe('panics and a pool that cannot start', () => {
  const everyExport = (path, env = {}) => runNode([join(root, '__test__', 'fixtures', 'every-export.mjs'), path], { env });
  // Exports that never decode an argument, so an injected decoding panic cannot reach them.
  const NO_ARGUMENTS = ['poolStats', 'VectorIndex.size', 'VectorIndex.dim', 'VectorIndex.metric', 'VectorIndex.clear'];

  test('a panic while decoding arguments is ERR_OFFLOOP_PANIC from every export, sync or async', async () => {
    const { outcomes, missing } = childJson(await everyExport(hooksPath, { OFFLOOP_PANIC_DECODE: '1' }));
    assert.deepEqual(missing, []);
    for (const [name, outcome] of Object.entries(outcomes)) {
      assert.equal(outcome, NO_ARGUMENTS.includes(name) ? 'ok' : 'ERR_OFFLOOP_PANIC', name);
    }
  });

  test('a panic while a result is made on the JS thread rejects with ERR_OFFLOOP_PANIC', async () => {
    const r = await runChild(`${loadHooks}
      const outcome = await h.testPanicInSettle().then(() => 'resolved', (e) => e.code);
      console.log(JSON.stringify({ outcome, after: await h.testSleep(1) >= 1 }));`);
    assert.deepEqual(childJson(r), { outcome: 'ERR_OFFLOOP_PANIC', after: true });
  });

  // What needs the pool rejects or throws ERR_OFFLOOP_POOL_START; what runs on the calling thread works.
  const NEEDS_POOL = [
    'hash', 'hmac', 'hashMany', 'hashFile', 'hashFiles', 'hashStream', 'Hasher.update', 'Hasher.digest',
    'hashPassword', 'verifyPassword', 'jq', 'jqValues', 'jqFile', 'JqProgram.run', 'JqProgram.runValues',
    'canonicalizeJson', 'topK', 'describe', 'histogram', 'sort', 'argsort', 'VectorIndex.search',
    'VectorIndex.searchBatch', 'poolStats', 'compress', 'decompress',
  ];
  const assertPoolStartFailed = ({ outcomes, missing }) => {
    assert.deepEqual(missing, []);
    for (const [name, outcome] of Object.entries(outcomes)) {
      assert.equal(outcome, NEEDS_POOL.includes(name) ? 'ERR_OFFLOOP_POOL_START' : 'ok', name);
    }
  };

  // RLIMIT_NPROC counts the threads of the real user and does not bind root: the child runs as
  // `nobody`, limited to the threads Node itself starts (no pool thread), or one more (the pool's
  // second thread fails after its first started).
  const canDropPrivileges = process.platform === 'linux' && process.getuid?.() === 0;
  test('a pool that cannot start its threads (RLIMIT_NPROC, for real): every export ends with a coded error, none aborts', { skip: !canDropPrivileges && 'needs Linux and root (prlimit + setpriv)' }, async () => {
    const asNobody = (nproc, argv, env = {}) =>
      new Promise((resolve) => {
        const setpriv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...argv];
        const [command, ...args] = nproc ? ['prlimit', `--nproc=${nproc}`, ...setpriv] : setpriv;
        execFile(command, args, { cwd: root, env: { ...process.env, OFFLOOP_THREADS: '2', ...env } }, (error, stdout, stderr) =>
          resolve({ code: error ? error.code : 0, signal: error?.signal ?? null, stdout, stderr, timedOut: false }),
        );
      });
    const argv = [join(root, '__test__', 'fixtures', 'every-export.mjs'), join(root, 'index.js')];
    const { threads } = childJson(await asNobody(null, argv, { OFFLOOP_COUNT_THREADS: '1' }));
    for (const started of [0, 1]) assertPoolStartFailed(childJson(await asNobody(threads + started, argv)));
  });

  test('a pool that cannot start its threads (a test hook fails the spawn): every export ends with a coded error', async () => {
    for (const after of ['0', '1']) {
      const r = await everyExport(hooksPath, { OFFLOOP_THREADS: '2', OFFLOOP_TEST_SPAWN_FAILS_AFTER: after });
      assertPoolStartFailed(childJson(r));
    }
  });
});
