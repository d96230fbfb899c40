// Shared by the JS tests: loading the addon, the test-hooks build, and child processes.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const require = createRequire(import.meta.url);

/** The package as users load it (index.js picks the built binary). */
export const offloop = require(join(root, 'index.js'));

/**
 * The debug build with the `test-hooks` feature (`cargo build --features test-hooks`), which adds
 * `testPanicInJob()` and `testSleep(ms, { signal })`. Load it only in child processes: it has its own
 * pool, separate from the release build's.
 */
export const hooksPath = join(root, 'target', 'debug', 'liboffloop.so');

/** Source that loads the hooks build as `hooks` (for child processes). */
export const loadHooks = `const hooks = { exports: {} }; process.dlopen(hooks, ${JSON.stringify(hooksPath)}); const h = hooks.exports;`;

/**
 * Runs `code` as an ES module in a fresh Node process; resolves with { code, signal, stdout,
 * stderr, ms }. A child that outlives `timeoutMs` is killed and reported as such, so a hang shows
 * as a failure, not as a stuck test run.
 */
export function runChild(code, { env = {}, timeoutMs = 60_000, args = [] } = {}) {
  return runNode([...args, '--input-type=module', '-e', code], { env, timeoutMs });
}

/** Runs `node ...argv` like `runChild`: for fixture scripts that take arguments. */
export function runNode(argv, { env = {}, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, argv, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut: signal === 'SIGKILL' });
    });
  });
}

/** Asserts a child exited cleanly and returns its stdout parsed as JSON (last line). */
export function childJson(result) {
  assert.equal(result.timedOut, false, `child timed out\n${result.stderr}`);
  assert.equal(result.code, 0, `child failed (code ${result.code}, signal ${result.signal})\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Asserts `promise` rejects with an error of `ctor` and `code`; returns the error. */
export async function rejectsWith(promise, ctor, code) {
  let error;
  await assert.rejects(promise, (e) => {
    error = e;
    return true;
  });
  assert.ok(error instanceof ctor, `expected ${ctor.name}, got ${error?.constructor?.name}: ${error?.message}`);
  assert.equal(error.code, code, error.message);
  return error;
}

/** Asserts `fn` throws an error of `ctor` and `code`; returns the error. */
export function throwsWith(fn, ctor, code) {
  let error;
  assert.throws(fn, (e) => {
    error = e;
    return true;
  });
  assert.ok(error instanceof ctor, `expected ${ctor.name}, got ${error?.constructor?.name}: ${error?.message}`);
  assert.equal(error.code, code, error.message);
  return error;
}
