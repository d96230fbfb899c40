#!/usr/bin/env node
// How long offloop's JS thread sleeps on locks that its pool threads hold, on a saturated machine.
//
//   node benchmark/lock-waits.mjs [--seconds 15] [--hogs 2] [--addon path/to/offloop.node]
//
// Why a trace: offloop's pool threads run in SCHED_IDLE, so on a machine whose other threads want
// every core a pool thread gets almost no CPU. A pool thread preempted while it holds a lock the
// JS thread also takes (the bridge's queue, a stream's task queue, Node's threadsafe-function
// mutex, Rayon's sleep mutexes) leaves the JS thread asleep until the scheduler gives the idle
// thread a turn. From inside the process such a wait looks like any other stall; the kernel sees
// who woke the sleeper. So the load runs in a child process while `perf record` traces its futex
// syscalls and wake-ups; every FUTEX_WAIT of the JS thread is attributed to the thread that woke
// it. `--hogs` busy processes at normal priority keep the cores saturated meanwhile.
//
// Needs Linux, `perf`, and permission to trace the child (root, or perf_event_paranoid <= 1).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = { seconds: 15, hogs: 2, addon: join(here, '..', 'index.js') };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  if (!(key in args)) throw new Error(`unknown option ${process.argv[i]}`);
  args[key] = key === 'addon' ? process.argv[i + 1] : Number(process.argv[i + 1]);
}

// The load: every path on which the JS thread meets the pool. Small hashes (queue, wake-ups,
// completions), incremental hashes (a stream's task queue), jq (its program cache: compileJq()
// compiles on the JS thread, jq() on the pool), aborts (the abort path settles from the JS thread),
// and large blocks that cross threads (sorted arrays, multi-MB non-ASCII jq output, which the JS
// thread copies into a string and frees).
const load = `
  const addonPath = ${JSON.stringify(args.addon)};
  const offloop = addonPath.endsWith('.node')
    ? (() => { const m = { exports: {} }; process.dlopen(m, addonPath); return m.exports; })()
    : (await import('node:module')).createRequire(import.meta.url)(addonPath);
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const seconds = ${args.seconds};
  const end = Date.now() + seconds * 1000 + 1500;
  const small = Buffer.alloc(64, 1);
  const chunk = Buffer.alloc(16 << 10, 2);
  let calls = 0;
  async function hashes() { while (Date.now() < end) { await offloop.hash('sha256', small); calls++; } }
  async function streams() {
    while (Date.now() < end) {
      const h = offloop.createHasher('sha256');
      for (let i = 0; i < 16; i++) h.update(chunk);
      await h.digest(); calls++;
    }
  }
  async function programs() {
    let i = 0;
    while (Date.now() < end) {
      const filter = '.a + ' + (i++ % 64);
      offloop.compileJq(filter);
      await offloop.jq(filter, '{"a":1}'); calls++;
    }
  }
  const numbers = Float64Array.from({ length: 1 << 20 }, (_, i) => Math.sin(i));
  const text = JSON.stringify(Array.from({ length: 20000 }, (_, i) => ({ name: 'naïve café ' + i, tags: ['日本', 'ü'] })));
  async function large() {
    while (Date.now() < end) { await offloop.sort(numbers); await offloop.jq('.[]', text); calls++; }
  }
  async function aborts() {
    while (Date.now() < end) {
      const c = new AbortController();
      const p = offloop.hash('sha256', chunk, 'hex', { signal: c.signal }).catch(() => {});
      c.abort();
      await p; calls++;
    }
  }
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  console.log('ready');
  await Promise.all([...Array.from({ length: 8 }, hashes), streams(), streams(), programs(), aborts(), large()]);
  delay.disable();
  console.log(JSON.stringify({ calls, loopDelayMaxMs: delay.max / 1e6, loopDelayP99Ms: delay.percentile(99) / 1e6 }));
`;

const hogs = Array.from({ length: args.hogs }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const dir = mkdtempSync(join(tmpdir(), 'offloop-lock-waits-'));
try {
  const child = spawn(process.execPath, ['--input-type=module', '-e', load], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve) => child.stdout.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); }));
  const data = join(dir, 'perf.data');
  // perf ends the recording with a signal to itself when `sleep` exits: its exit status says nothing.
  spawnSync('perf', ['record', '-q', '-e', 'sched:sched_wakeup,syscalls:sys_enter_futex,syscalls:sys_exit_futex',
    '-p', String(child.pid), '-o', data, '--', 'sleep', String(args.seconds)], { stdio: 'ignore' });
  const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => child.on('exit', resolve));
  const summary = JSON.parse(out.trim().split('\n').pop());
  const script = execFileSync('perf', ['script', '-i', data, '-F', 'comm,tid,time,event,trace'], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  const result = attribute(script, child.pid);
  for (const wait of result.longest) wait.futex = locate(maps, wait.futex);
  console.log(JSON.stringify({ ...args, ...summary, ...result }, null, 2));
} finally {
  for (const hog of hogs) hog.kill();
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
}

/** The JS thread's futex waits (its tid is the process id), grouped by the kind of thread that woke it. */
function attribute(script, jsTid) {
  const waits = { pool: [], other: [] };
  const longest = [];
  let enteredAt = null;
  let address = null;
  let waker = null;
  for (const line of script.split('\n')) {
    const m = line.match(/^\s*(\S.*?)\s+(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$/);
    if (!m) continue;
    const [, comm, tid, time, event, trace] = m;
    const t = Number(time) * 1000;
    if (Number(tid) === jsTid && event === 'syscalls:sys_enter_futex') {
      const op = parseInt(trace.match(/op: (0x[0-9a-f]+)/)[1], 16) & 0x7f;
      enteredAt = op === 0 || op === 9 ? t : null; // FUTEX_WAIT, FUTEX_WAIT_BITSET
      address = trace.match(/uaddr: (0x[0-9a-f]+)/)[1];
      waker = null;
    } else if (event === 'sched:sched_wakeup' && enteredAt !== null && Number(trace.match(/pid=(\d+)/)[1]) === jsTid) {
      waker ??= comm;
    } else if (Number(tid) === jsTid && event === 'syscalls:sys_exit_futex' && enteredAt !== null) {
      (waker?.startsWith('offloop-') ? waits.pool : waits.other).push(t - enteredAt);
      longest.push({ ms: Math.round((t - enteredAt) * 1000) / 1000, futex: address, wokenBy: waker });
      enteredAt = null;
    }
  }
  const describe = (ms) => {
    const sorted = ms.sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const round = (x) => Math.round(x * 1000) / 1000;
    return {
      count: sorted.length,
      totalMs: round(sorted.reduce((a, b) => a + b, 0)),
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      maxMs: round(sorted[sorted.length - 1] ?? 0),
      over1ms: sorted.filter((x) => x > 1).length,
    };
  };
  longest.sort((a, b) => b.ms - a.ms);
  return { wokenByPoolThread: describe(waits.pool), wokenByOthers: describe(waits.other), longest: longest.slice(0, 5) };
}

/** Which mapping of the child holds a futex: a static names its library (and offset), else the heap. */
function locate(maps, address) {
  const at = BigInt(address);
  for (const line of maps.split('\n')) {
    const [range, , offset, , , path = ''] = line.trim().split(/\s+/);
    if (!range) continue;
    const [start, end] = range.split('-').map((x) => BigInt('0x' + x));
    if (at >= start && at < end) {
      const where = path || '[anonymous]';
      return `${address} (${where}${path.startsWith('/') ? ' +0x' + (at - start + BigInt('0x' + offset)).toString(16) : ''})`;
    }
  }
  return address;
}
