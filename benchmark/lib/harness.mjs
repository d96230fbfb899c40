// The measuring core of `npm run bench`: runs one implementation of a task for a fixed time with a
// fixed number of operations in flight, and records throughput, latency, the event loop's delay,
// CPU use and peak RSS for that run.
import { constants, monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Sorted-array percentile with linear interpolation. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Milliseconds of `intervals` ([start, end] pairs) that fall inside [start, end]. */
function overlapMs(intervals, start, end) {
  let total = 0;
  for (const [s, e] of intervals) total += Math.max(0, Math.min(e, end) - Math.max(s, start));
  return total;
}

/**
 * Watches the event loop while a run goes: `monitorEventLoopDelay` for the distribution, plus a 1 ms
 * interval probe whose gaps catch a loop that is blocked outright (the histogram then gets no
 * samples), plus RSS sampled on each probe tick. V8's GC pauses are recorded too, so each stall
 * can be split into GC and everything else (what the code under test did on the JS thread).
 */
class LoopWatch {
  start() {
    this.histogram = monitorEventLoopDelay({ resolution: 1 });
    this.histogram.enable();
    this.maxGap = 0;
    this.gaps = [];
    this.gcPauses = [];
    this.gcObserver = new PerformanceObserver((list) => this.recordGc(list.getEntries()));
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.peakRss = process.memoryUsage.rss();
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.recordGap(now);
      this.last = now;
      this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    }, 1);
    this.cpu = process.cpuUsage();
    this.wall = performance.now();
  }

  recordGap(now) {
    const gap = now - this.last - 1;
    this.maxGap = Math.max(this.maxGap, gap);
    if (gap > 1) this.gaps.push([this.last, now]);
  }

  /**
   * Scavenges and mark-compacts only: those are pauses of the JS thread from start to end. An
   * incremental-marking entry spans work that may interleave with JS, so its time counts as
   * outside GC (which can only make that number larger, never hide a stall of ours).
   */
  recordGc(entries) {
    for (const e of entries) {
      if (e.detail?.kind !== constants.NODE_PERFORMANCE_GC_INCREMENTAL) this.gcPauses.push([e.startTime, e.startTime + e.duration]);
    }
  }

  /** The longest probe gap once the GC pauses inside each gap are taken out. */
  longestStallOutsideGc() {
    let longest = 0;
    for (const [start, end] of this.gaps) longest = Math.max(longest, end - start - 1 - overlapMs(this.gcPauses, start, end));
    return Math.max(0, longest);
  }

  stop() {
    clearInterval(this.timer);
    const now = performance.now();
    // A loop blocked until the very end never fired the probe again: count that last gap too.
    this.recordGap(now);
    this.recordGc(this.gcObserver.takeRecords());
    this.gcObserver.disconnect();
    this.histogram.disable();
    const cpu = process.cpuUsage(this.cpu);
    const wallMs = now - this.wall;
    const h = this.histogram;
    const p99 = h.count > 0 ? h.percentile(99) / 1e6 : 0;
    return {
      loopDelayP99Ms: Math.max(0, p99 - 1),
      loopDelayMaxMs: Math.max(this.maxGap, h.count > 0 ? h.max / 1e6 - 1 : 0),
      loopStallOutsideGcMaxMs: this.longestStallOutsideGc(),
      gcPauseMaxMs: this.gcPauses.reduce((max, [s, e]) => Math.max(max, e - s), 0),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      peakRssMb: this.peakRss / 2 ** 20,
    };
  }
}

export class Bench {
  constructor({ quick = false, log = console.log } = {}) {
    this.quick = quick;
    this.log = log;
    this.rows = [];
    this.notes = [];
    this.section = '';
  }

  /** A sentence for the report, under the current section. */
  note(text) {
    this.notes.push({ section: this.section, text });
  }

  /**
   * Runs `op` for `durationMs` (shorter under --quick) with `inFlight` operations at a time, after
   * `setup` and a short warm-up, and records one row. A synchronous `op` blocks the loop; between
   * its calls the harness yields to the event loop about once a millisecond, as a server between
   * requests would, so the delay it reports is the block one call causes.
   */
  async run(spec) {
    const { group, task, impl, params = '', bytesPerOp, inFlight = 1, op, setup, teardown, reference } = spec;
    const durationMs = spec.durationMs ?? (this.quick ? 400 : 3000);
    const minOps = spec.minOps ?? (this.quick ? 2 : 5);
    this.log(`  ${this.section} | ${group} | ${impl} ...`);
    if (setup) await setup();
    // Start from a collected heap (npm run bench passes --expose-gc), so a row does not pay for a
    // major GC of the garbage earlier rows left.
    globalThis.gc?.();
    // Warm-up: JIT, the pool's threads, caches.
    const warmEnd = performance.now() + Math.min(200, durationMs / 4);
    do await op(); while (performance.now() < warmEnd);

    const latencies = [];
    const watch = new LoopWatch();
    watch.start();
    const start = performance.now();
    const deadline = start + durationMs;
    let done = 0;
    let lastYield = start;
    const worker = async () => {
      while (performance.now() < deadline || done < minOps) {
        const t0 = performance.now();
        const r = op();
        if (r && typeof r.then === 'function') await r;
        const t1 = performance.now();
        latencies.push(t1 - t0);
        done++;
        if (t1 - lastYield >= 1) {
          lastYield = t1;
          await yieldToLoop();
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const elapsedMs = performance.now() - start;
    const loop = watch.stop();
    if (teardown) await teardown();
    latencies.sort((a, b) => a - b);
    const row = {
      section: this.section,
      group,
      task,
      impl,
      params,
      inFlight,
      ...(reference ? { reference: true } : {}),
      ops: done,
      opsPerSec: (done / elapsedMs) * 1000,
      mbPerSec: bytesPerOp ? ((done * bytesPerOp) / 2 ** 20 / elapsedMs) * 1000 : undefined,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      ...loop,
    };
    this.rows.push(row);
    this.log(
      `    ${fmt(row.opsPerSec)} ops/s${row.mbPerSec ? `, ${fmt(row.mbPerSec)} MB/s` : ''}, p50 ${fmt(row.p50Ms)} ms, p99 ${fmt(row.p99Ms)} ms, loop delay p99 ${fmt(row.loopDelayP99Ms)} / max ${fmt(row.loopDelayMaxMs)} ms (outside GC ${fmt(row.loopStallOutsideGcMaxMs)}, GC pause ${fmt(row.gcPauseMaxMs)}), cpu ${Math.round(row.cpuPercent)}%`,
    );
    return row;
  }

  /** Records a row measured some other way (a server run, a child process). */
  record(row) {
    const full = { section: this.section, ...row };
    this.rows.push(full);
    return full;
  }
}

export function fmt(n) {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  if (n >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}
