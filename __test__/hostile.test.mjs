// The adversarial corpus of #15: jq programs, JSON inputs and options that an attacker who can send
// any filter and any body would try. Each case runs in a process of its own
// (fixtures/hostile-case.mjs), so a crash or a hang fails that case instead of the run, and asserts
// the outcome — jq 1.8.2's answer where jq gives one, else a specific coded error — and that the
// process stayed within its memory budget, settled soon after an abort, and stopped working.
// OFFLOOP_LONG_TESTS=1 runs the large versions (100 MB inputs, 10^6-deep values).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runNode, runChild, childJson, root } from './helpers.mjs';

const LONG = process.env.OFFLOOP_LONG_TESTS === '1';
const MiB = 2 ** 20;
const index = join(root, 'index.js');
const fixture = join(root, '__test__', 'fixtures', 'hostile-case.mjs');

/** A value built in the child from JavaScript source (large programs and inputs). */
const js = (source) => ({ js: source });
/** The JavaScript source of `[[[...0...]]]` nested `n` deep (a deep input). */
const deepArray = (n) => js(`'['.repeat(${n}) + '0' + ']'.repeat(${n})`);
/** jq source: a value nested `n` deep, built by the program. */
const built = (n) => `reduce range(${n}) as $i (0; [.])`;

/**
 * The call a case makes: `fn` with `program` and `input` (text, or `js(...)` built in the child
 * before the call), `options` (plus `signal: AbortSignal.timeout(abort)` when `abort` is set).
 */
const call = (fn, program, input = 'null', options = {}, abort) => ({ fn, program, input, options, abort });
const jq = (program, input, options, abort) => call('jq', program, input, options, abort);

// Runs in the child: builds the program and input before the call is measured.
const setup = (offloop, h, a) => {
  const build = (x) => (x && typeof x === 'object' && 'js' in x ? new Function(`return (${x.js})`)() : x);
  return { program: build(a.call.program), input: build(a.call.input), options: build(a.call.options) ?? {} };
};

// Runs in the child: the measured call.
const run = (o, h, a) => {
  const { program, input } = a.data;
  const c = a.call;
  const options = { ...a.data.options };
  if (c.abort !== undefined) options.signal = h.timeout(c.abort);
  if (options.outputPath) options.outputPath = h.path(options.outputPath);
  switch (c.fn) {
    case 'jq':
      return o.jq(program, input, options);
    case 'jqValues':
      return o.jqValues(program, input, options);
    case 'ndjsonFile':
      return o.jqFile(program, h.file('input.ndjson', input), { ndjson: true, ...options });
    case 'jqFile':
      return o.jqFile(program, h.file('input.json', input), options);
    case 'jqFileAt':
      return o.jqFile(program, input, options);
    case 'compileJq':
      o.compileJq(program);
      return 'compiled';
    case 'JqProgram':
      return new o.JqProgram(program).run(input, options);
    case 'canonicalizeJson':
      return o.canonicalizeJson(input, options);
    case 'canonicalizeJsonSync':
      return o.canonicalizeJsonSync(input, options);
    case 'compileJq in a worker_thread':
      return new Promise(async (resolve, reject) => {
        const { Worker } = await import('node:worker_threads');
        const source = `const { parentPort, workerData } = require('node:worker_threads');
          try { require(workerData.index).compileJq(workerData.program); parentPort.postMessage('compiled'); }
          catch (e) { parentPort.postMessage({ code: e.code, message: e.message }); }`;
        const worker = new Worker(source, { eval: true, workerData: { index: process.env.OFFLOOP_INDEX, program } });
        worker.once('message', (m) => (typeof m === 'string' ? resolve(m) : reject(Object.assign(new Error(m.message), m))));
        worker.once('error', reject);
      });
    default:
      throw new Error(`unknown call ${c.fn}`);
  }
};

const corpus = [];
/** `{"k0":0,"k1":0,...}` with `n` keys: its canonical form is as long as its text. */
const manyKeys = (n) => js(`'{' + Array.from({ length: ${n} }, (_, i) => '"k' + i + '":0').join(',') + '}'`);
const manyKeysLength = (n) => 2 + (n - 1) + Array.from({ length: n }, (_, i) => String(i).length + 5).reduce((a, b) => a + b, 0);

/**
 * A case: `expect` is one outcome or `{ oneOf: [...] }`; an outcome is `{ out }` (the exact
 * output text), `{ length }` (of the output text), `{ value }` (for jqValues), `{ code, message }`
 * (a rejection; `message` a RegExp) or `{ abort: true }` (an AbortError). `waits` names the work
 * the case waits for (a `todo` until then); `budgetMb` is the maxMemoryBytes the case sets (peak
 * RSS must stay within it plus `slackMb`). `maxMs` detects a hang, it is no speed claim: the quadratic
 * cases take seconds alone and ten times that on a shared machine. Likewise `workAfterAbortMs`, how long
 * the pool may work on after an abort: usually under 10 ms, a second once on 2 cores under a load of 8.
 */
function hostile(name, c, expect, { waits, long = false, slackMb = 192, maxMs = 50_000, workAfterAbortMs = 2000 } = {}) {
  corpus.push({ name, call: c, expect, waits, long, slackMb, maxMs, workAfterAbortMs });
}

const matches = (e, o) => {
  if ('abort' in e) return !o.ok && o.name === 'AbortError';
  if ('code' in e) return !o.ok && o.code === e.code && (!e.message || e.message.test(o.message));
  if ('out' in e) return o.ok && o.length === e.out.length && o.text === e.out.slice(0, 4096);
  if ('length' in e) return o.ok && o.length === e.length;
  if ('value' in e) return o.ok && JSON.stringify(o.value) === JSON.stringify(e.value);
  throw new Error(`bad expectation ${JSON.stringify(e)}`);
};

const COMPILE_LIMIT = { code: 'ERR_JQ_COMPILE', message: /nested too deeply: more than 10000 levels/ };
const TOO_DEEP = { code: 'ERR_JQ_RUNTIME', message: /deep/ };
const MEMORY = { code: 'ERR_JQ_MEMORY_LIMIT', message: /maxMemoryBytes/ };
const ABORT = { abort: true };
const small = { maxMemoryBytes: 256 * MiB };

// ---- Compiling: programs nested past any stack (the JS thread's too) ----
hostile('compileJq of 5,000 nested brackets (#15, on the JS thread)', call('compileJq', js(`'['.repeat(5000) + ']'.repeat(5000)`)), { out: 'compiled' });
hostile('compileJq of 5,000 nested brackets in a worker_thread (4 MB stack)', call('compileJq in a worker_thread', js(`'['.repeat(5000) + ']'.repeat(5000)`)), { out: 'compiled' });
hostile('jq() of 5,000 nested brackets', jq(js(`'['.repeat(5000) + ']'.repeat(5000)`)), { out: '['.repeat(5000) + ']'.repeat(5000) + '\n' });
hostile('compileJq of 1,000,000 nested brackets', call('compileJq', js(`'['.repeat(1e6) + ']'.repeat(1e6)`)), COMPILE_LIMIT);
hostile('new JqProgram of 1,000,000 unclosed brackets', call('JqProgram', js(`'['.repeat(1e6)`)), COMPILE_LIMIT);
hostile('jq() of 50,000 nested parentheses (#15)', jq(js(`'('.repeat(5e4) + '1' + ')'.repeat(5e4)`)), COMPILE_LIMIT);
hostile('jq() of 100,000 pipes (#15)', jq(js(`'.' + ' | .'.repeat(1e5)`)), COMPILE_LIMIT);
hostile('jq() of 100,000 additions (#15)', jq(js(`'1' + ' + 1'.repeat(1e5)`)), COMPILE_LIMIT);
hostile('jq() of 100,000 nested string interpolations', jq(js(`'"\\\\('.repeat(1e5) + '1' + ')"'.repeat(1e5)`)), COMPILE_LIMIT);
hostile('jq() of an array literal of 1,000,000 elements', jq(js(`'[' + '1,'.repeat(1e6) + '1] | length'`)), COMPILE_LIMIT);
hostile('compileJq of 10 MB of unclosed objects and strings', call('compileJq', js(`'{a:"\\\\('.repeat(1e6)`)), COMPILE_LIMIT);
// At the limit, each kind of construct compiles and runs (jq 1.8.2's answers, checked at depth 50).
hostile('10,000 nested parentheses (twice what jq 1.8.2 parses)', jq(js(`'('.repeat(1e4) + '1' + ')'.repeat(1e4)`)), { out: '1\n' });
hostile('9,997 nested objects', jq(js(`'{a:'.repeat(9997) + '1' + '}'.repeat(9997) + ' | tojson | length'`)), { out: '59983\n' });
hostile('4,999 nested string interpolations', jq(js(`'"\\\\('.repeat(4999) + '1' + ')"'.repeat(4999)`)), { out: '"1"\n' });
hostile('9,999 nested calls', jq(js(`'first('.repeat(9999) + '1' + ')'.repeat(9999)`)), { out: '1\n' });
hostile('a chain of 10,000 additions', jq(js(`'1' + ' + 1'.repeat(9999)`)), { out: '10000\n' });
// jaq yields each element of a comma chain through every level above it: time quadratic in the
// chain's length, under a second at the limit.
hostile('an array literal of 9,990 elements', jq(js(`'[' + '1,'.repeat(9989) + '1] | length'`)), { out: '9990\n' });
hostile('a chain of 9,999 comparisons', jq(js(`'1' + ' < 1'.repeat(9999)`)), { out: 'true\n' });
hostile('a chain of 4,999 pipes', jq(js(`'.' + ' | .'.repeat(4999)`)), { out: 'null\n' });
hostile('a chain of 3,333 updates', jq(js(`'.' + ' |= .'.repeat(3333)`)), { out: 'null\n' });
hostile('9,999 negations', jq(js(`'- '.repeat(9999) + '1'`)), { out: '-1\n' });
hostile('9,999 nested try', jq(js(`'try '.repeat(9999) + 'error(1)'`)), { out: '' });
hostile('3,332 nested reduce', jq(js(`'reduce '.repeat(3332) + '.' + ' as $x (0; 1)'.repeat(3332)`)), { out: '1\n' });
hostile('2,499 nested if', jq(js(`'if '.repeat(2499) + '.' + ' then 1 else 2 end'.repeat(2499)`)), { out: '1\n' });
hostile('1,999 nested definitions', jq(js(`'def f: '.repeat(1999) + '1' + '; f'.repeat(1999)`)), { out: '1\n' });
hostile('2,001 nested definitions (jaq compiles them in quadratic time)', jq(js(`'def f: '.repeat(2001) + '1' + '; f'.repeat(2001)`)), COMPILE_LIMIT);
hostile('3,333 nested variable bindings', jq(js(`'. as $x | '.repeat(3333) + '$x'`)), { out: 'null\n' });
hostile('9,997 nested destructuring patterns', jq(js(`'. as ' + '['.repeat(9997) + '$x' + ']'.repeat(9997) + ' | 1'`)), { out: '1\n' });
hostile('a path of 9,999 steps', jq(js(`'.a'.repeat(9999)`)), { out: 'null\n' });
hostile('a path of 1,000,000 steps', jq(js(`'.a'.repeat(1e6)`)), COMPILE_LIMIT);
hostile('a program with 1,000,000 brackets in a string literal', jq(js(`'"' + '(['.repeat(5e5) + '" | length'`)), { out: '1000000\n' });
hostile('a program with 1,000,000 brackets in a comment', jq(js(`'# ' + '(['.repeat(5e5) + '\\n1'`)), { out: '1\n' });
hostile('a string literal of 10 MB', jq(js(`'"' + 'x'.repeat(1e7) + '" | length'`)), { out: '10000000\n' });
// Found by the jq_compile fuzz target (2026-12-06): jaq's lexer keeps about 270 bytes for each
// escape, so 8,000,000 of them took 2.2 GB and 6 s to compile before any budget could stop it.
hostile('a string literal of 4,000,000 escaped backslashes', jq(js(`'"' + '\\\\'.repeat(8e6) + '" | length'`)), { code: 'ERR_JQ_COMPILE', message: /more than 100000 escapes in strings/ });
hostile('compileJq of 100,000 escaped backslashes (the limit)', call('compileJq', js(`'"' + '\\\\'.repeat(2e5) + '"'`)), { out: 'compiled' });
// jq 1.8.2 keeps a literal's decimal text (decNumber, up to 999,999,999 digits and exponents).
hostile('a number literal of 1,000,000 digits', jq(js(`'1'.repeat(1e6)`)), { out: '1'.repeat(1e6) + '\n' });
// Compiling took up to about 250 bytes per byte of program (a 16 MB one found by fuzzing: 1.8 GB, 11 s).
hostile('a program of 8 MB (more than 1 MiB)', jq(js(`('{('.repeat(1000) + '.k' + '): 1}'.repeat(1000) + ' // ').repeat(1200) + '1'`)), { code: 'ERR_JQ_COMPILE', message: /program of 8407201 bytes outside strings and comments, more than 1048576/ });
hostile('1e999999', jq('1e999999'), { out: '1E+999999\n' });
hostile('a NUL byte in a program', jq('1 \u0000 2'), { code: 'ERR_JQ_COMPILE' });
// Constant keys are checked at compile time (jq's compile error); keys inside keys within a budget
// linear in the program, past which they stay runtime errors.
hostile('4,999 object keys nested in keys', jq(js(`'{('.repeat(4999) + '0' + '):1}'.repeat(4999)`)), { code: 'ERR_JQ_RUNTIME', message: /Cannot use number \(0\) as object key/ });
hostile('a compile error at the end of a 1 MB line: the line is not quoted', jq(js(`'"' + 'x'.repeat(1e6) + '" | {(0):1}'`)), { code: 'ERR_JQ_COMPILE', message: /^jq: error: Cannot use number \(0\) as object key at <top-level>, line 1, column 1000008:$/ });

// ---- Values built deeper than any input could be (#15) ----
hostile('writing reduce range(1000000) as $i (null; [.]) (#15)', jq('reduce range(1000000) as $i (null; [.])'), TOO_DEEP);
for (const f of ['tojson', 'tostring', '@json', 'walk(.)']) {
  hostile(`reduce range(200000) as $i (null; [.]) | ${f} (#15)`, jq(`reduce range(200000) as $i (null; [.]) | ${f}`), TOO_DEEP);
}
hostile('dropping reduce range(3000000) as $i (null; [.]) (#15)', jq('reduce range(3000000) as $i (null; [.]) | length'), TOO_DEEP);
hostile('("[" * 1000000) + ("]" * 1000000) | fromjson (#15)', jq('("[" * 1000000) + ("]" * 1000000) | fromjson'), TOO_DEEP);
hostile('objects 200,000 deep', jq('reduce range(200000) as $i (null; {a: .}) | tojson'), TOO_DEEP);
hostile('recurse([.]) 200,000 deep', jq('last(limit(200000; recurse([.])))'), TOO_DEEP);
hostile('setpath with a path of 200,000 steps', jq('setpath([range(200000) | 0]; 1)'), TOO_DEEP);
hostile('getpath with a path of 200,000 steps', jq('getpath([range(200000) | "a"])'), { code: 'ERR_JQ_RUNTIME', message: /Path too deep/ });
hostile('a value built 200,000 deep inside try', jq('try (reduce range(200000) as $i (0; [.])) catch "caught"'), TOO_DEEP);
hostile('error() of a 200,000-deep value', jq('reduce range(200000) as $i (0; [.]) | error(.)'), TOO_DEEP);
// Just under the depth limit every walk works, with jq's answers.
const D = 9990;
const DEEP_JSON = 2 * D + 1;
for (const [f, out] of [
  ['tojson | length', `${DEEP_JSON}\n`],
  ['tostring | length', `${DEEP_JSON}\n`],
  ['@json | length', `${DEEP_JSON}\n`],
  ['@text | length', `${DEEP_JSON}\n`],
  ['"\\(.)" | length', `${DEEP_JSON}\n`],
  ['walk(.) | tojson | length', `${DEEP_JSON}\n`],
  ['. == .', 'true\n'],
  ['. < .', 'false\n'],
  ['[., .] | sort | length', '2\n'],
  ['[., .] | unique | length', '1\n'],
  ['[., .] | group_by(.) | length', '1\n'],
  ['contains(.)', 'true\n'],
  ['inside(.)', 'true\n'],
  ['[.] | indices([.]) | length', '0\n'],
  ['getpath([range(9989) | 0])', '[0]\n'],
  ['try error(.) catch (tojson | length)', `${DEEP_JSON}\n`],
  ['flatten', '[0]\n'],
]) {
  hostile(`a value ${D} deep: ${f}`, jq(`${built(D)} | ${f}`), { out });
}
// fromjson reads with the input's maxDepth (254 unless set), as offloop reads its input.
hostile(`a value ${D} deep: tojson | fromjson`, jq(`${built(D)} | tojson | fromjson | length`), { code: 'ERR_JQ_RUNTIME', message: /nesting deeper than 254 levels/ });
// Walks that make a path per level hold quadratic memory: 2,000 deep (past any input's 254).
const P = 2000;
for (const [f, out] of [
  ['[paths] | length', `${P}\n`],
  ['[paths(type == "number")] | length', '1\n'],
  ['[tostream] | length', `${P + 1}\n`],
  ['fromstream(tostream) | tojson | length', `${2 * P + 1}\n`],
  ['del(.. | select(. == 0)) | tojson | length', `${2 * P}\n`],
  ['[..] | length', `${P + 1}\n`],
]) {
  hostile(`a value ${P} deep: ${f}`, jq(`${built(P)} | ${f}`), { out });
}
hostile('error() of a deep value, uncaught: the message is cut', jq(`${built(D)} | error(.)`), { code: 'ERR_JQ_RUNTIME', message: /^\[{1000}\.\.\.$/ });
hostile('$__loc__', jq('$__loc__'), { out: '{"file":"<top-level>","line":1}\n' }, { waits: 'jq compatibility' });
hostile('input_line_number', jq('input_line_number'), { oneOf: [{ code: 'ERR_JQ_COMPILE' }, { code: 'ERR_JQ_RUNTIME' }, { out: '0\n' }] });

// ---- Values that share their parts: 2^60 leaves in a few kilobytes ----
const DAG = '[1] | reduce range(60) as $i (.; [., .])';
hostile('a DAG of 2^60 leaves: length', jq(`${DAG} | length`), { out: '2\n' });
hostile('a DAG of 2^60 leaves: add | length', jq(`${DAG} | add | length`), { out: '4\n' });
hostile('a DAG of 2^60 leaves: . == .', jq(`${DAG} | . == .`, 'null', {}, 1000), { oneOf: [{ out: 'true\n' }, ABORT] });
hostile('a DAG of 2^60 leaves: tojson', jq(`${DAG} | tojson | length`, 'null', small, 1000), { oneOf: [MEMORY, ABORT] });
hostile('a DAG of 2^60 leaves: written out', jq(DAG, 'null', small, 1000), { oneOf: [{ code: 'ERR_JQ_OUTPUT_LIMIT' }, MEMORY, ABORT] });
for (const f of ['flatten | length', '[paths] | length', '[..] | length', 'tostream', '[., .] | sort | length', 'unique | length', 'contains(.)', 'walk(.) | length', 'tostring | length', '[paths(type == "number")] | length', 'group_by(.) | length']) {
  hostile(`a DAG of 2^60 leaves: ${f}`, jq(`${DAG} | ${f}`, 'null', small, 1000), { oneOf: [MEMORY, ABORT, { code: 'ERR_JQ_OUTPUT_LIMIT' }] });
}

// ---- Exponential and endless programs: aborts reach them ----
const doublings = '.' + ' | [.[], .[]]'.repeat(40);
hostile('40 × [.[], .[]] under a 256 MiB budget', jq(doublings, '[1]', small), MEMORY);
hostile('40 × [.[], .[]] aborted after 1 s', jq(doublings, '[1]', { maxMemoryBytes: 2 ** 40 }, 1000), ABORT);
hostile('until(false; .) aborted after 1 s', jq('until(false; .)', 'null', {}, 1000), ABORT);
hostile('last(range(1e15)) aborted after 1 s', jq('last(range(1e15))', 'null', {}, 1000), ABORT);
hostile('range(1e15) | select(. < 0) aborted after 1 s', jq('range(1e15) | select(. < 0)', 'null', {}, 1000), ABORT);
hostile('def f: f; f aborted after 1 s', jq('def f: f; f', 'null', {}, 1000), { oneOf: [ABORT, { code: 'ERR_JQ_RUNTIME', message: /recursed too deeply/ }] });
hostile('def f: f, f; f', jq('def f: f, f; f', 'null', {}, 1000), { oneOf: [ABORT, { code: 'ERR_JQ_RUNTIME', message: /recursed too deeply/ }] });
// Found by the jq_hostile fuzz target (2026-12-06): `..` nested nine times over a value 253 deep
// builds iterator chains whose every step walks the chain. Natively it stops 3-6 ms after an
// abort; under ASan it passed the target's 3-s bound.
const nestedRecursion =
  'if ' + '('.repeat(9) + 'if ('.repeat(8) + '[('.repeat(9) + '['.repeat(253) + '.' + ']'.repeat(253) + ') | ..]'.repeat(9) + ')' +
  ' then 1 else 2 end)'.repeat(8) + '.a)'.repeat(8) + ' then 1 else 2 end';
hostile('.. nested 9 times over 253 levels aborted after 1 s', jq(nestedRecursion, 'false', { raw: true }, 1000), ABORT);
hostile('def f: [f]; f', jq('def f: [f]; f'), { code: 'ERR_JQ_RUNTIME', message: /recursed too deeply/ });
hostile('def f: 1 + f; f', jq('def f: 1 + f; f'), { code: 'ERR_JQ_RUNTIME', message: /recursed too deeply/ });
// A function that passes filters to itself in a tail call chained a closure per level: dropping
// the chain overflowed the pool thread's stack (SIGSEGV at about 1.3 million levels).
const RECURSION = { code: 'ERR_JQ_RUNTIME', message: /recursed too deeply/ };
hostile('tail recursion passing a filter, 1.5 million levels', jq('def f(x; $n): if $n <= 0 then x else f(x; $n - 1) end; f(7; 1500000)'), RECURSION);
hostile('tail recursion passing a filter it never runs, 3 million levels', jq('def f(x): if . <= 0 then 7 else (. - 1 | f(x)) end; 3000000 | f(1)'), RECURSION);
hostile('def f(x): f(x); f(0)', jq('def f(x): f(x); f(0)'), RECURSION);
hostile('def f(x; y): 1 as $a | f(x; y); f(0; 1)', jq('def f(x; y): 1 as $a | f(x; y); f(0; 1)'), RECURSION);
hostile('repeat(.) stops at maxOutputBytes', jq('repeat(.)', 'null', { maxOutputBytes: 1e6 }), { code: 'ERR_JQ_OUTPUT_LIMIT' });
hostile('[repeat(.)] under a 256 MiB budget', jq('[repeat(.)]', 'null', small), MEMORY);
hostile('[range(1e12)] under a 256 MiB budget', jq('[range(1e12)]', 'null', small), MEMORY);
hostile('[range(1e12)] under the default budget', jq('[range(1e12)] | length'), MEMORY, { slackMb: 256 });
hostile('[limit(1e12; repeat(1))] under a 256 MiB budget', jq('[limit(1e12; repeat(1))]', 'null', small), MEMORY);
hostile('"x" | until(length > 1e12; . + .) (#15)', jq('"x" | until(length > 1e12; . + .)', 'null', small), MEMORY);
hostile('"x" | until(length > 1e12; . + .) under the default budget', jq('"x" | until(length > 1e12; . + .) | length'), MEMORY, { slackMb: 256 });
hostile('[[0,1] | combinations(40)] under a 256 MiB budget', jq('[[0, 1] | combinations(40)] | length', 'null', small), MEMORY);
hostile('[., .] 30 times, then tojson', jq(`${'.' + ' | [., .]'.repeat(30)} | tojson | length`, 'null', small, 1000), { oneOf: [MEMORY, ABORT] });
hostile('{(.): .} keys that double each step', jq('reduce range(40) as $i ("x"; {(.): .} | tojson)', 'null', small), MEMORY);
hostile('@base64 nested 100 times', jq('reduce range(100) as $i ("x"; @base64)', 'null', small), MEMORY);
// Found by fuzzing (jq_hostile): each level's text is a third longer than the last.
hostile('@base64 "\\(...)" nested 100 deep', jq(js(`'@base64 "\\\\('.repeat(100) + '1' + ')"'.repeat(100)`), 'null', small, 1000), { oneOf: [MEMORY, ABORT] });
hostile('adding 1,000,000 strings', jq('[limit(1000000; repeat("abcdefghij"))] | add | length', 'null', {}, 5000), { oneOf: [{ out: '10000000\n' }, ABORT] });

// ---- Huge allocations from small programs (#15): checked before they are made ----
hostile('"ab" * 1000000000000000 (#15)', jq('"ab" * 1000000000000000'), { code: 'ERR_JQ_RUNTIME', message: /Repeat string result too long/ });
hostile('null | setpath([1000000000000000]; 0) (#15)', jq('null | setpath([1000000000000000]; 0)'), { code: 'ERR_JQ_RUNTIME', message: /Array index too large/ });
hostile('.[1e15] = 0', jq('.[1e15] = 0'), { code: 'ERR_JQ_RUNTIME', message: /Array index too large/ });
hostile('.[100000000] = 0 under a 256 MiB budget', jq('.[100000000] = 0 | length', 'null', small), MEMORY);
hostile('try ("abc" * 1000000000) catch . (#15)', jq('try (. * 1000000000) catch .', '"abc"'), { out: '"Repeat string result too long"\n' });
hostile('"abc" * 100000000 | length (300 MB, within the default budget)', jq('"abc" * 100000000 | length'), { out: '300000000\n' });
hostile('"abc" * 100000000 under a 256 MiB budget', jq('"abc" * 100000000 | length', 'null', small), MEMORY);
hostile('[range(1e9)] | implode under a 256 MiB budget', jq('[range(1e9)] | implode', 'null', small), MEMORY);
hostile('[range(1e6)] | implode | length', jq('[range(1e6)] | implode | length'), { out: '1000000\n' });
hostile('"x" * 1e8 | explode under a 256 MiB budget', jq('"x" * 1e8 | explode | length', 'null', small), MEMORY);
hostile('a 100 MB object key', jq('{} | .["a" * 1e8] = 1 | keys[0] | length'), { out: '100000000\n' });
hostile('ltrimstr of 1 MB', jq('"a" * 1000000 | ltrimstr("a" * 1000000)'), { out: '""\n' });
hostile('splits("a*") over 100,000 a', jq('"a" * 100000 | [splits("a*")] | length'), { out: '3\n' }, { waits: 'jq compatibility' });
// jaq's sub keeps every accumulator of its reduce (quadratic memory), and regex-bites' global
// searches take time quadratic in the text: jq's answers, or the budget or the abort stops them.
hostile('gsub(""; "x") over 1,000,000 a', jq('"a" * 1000000 | gsub(""; "x") | length', 'null', small, 2000), { oneOf: [{ out: '2000001\n' }, MEMORY, ABORT] });
hostile('sub("a"; "aa"; "g") over 100,000 a', jq('"a" * 100000 | sub("a"; "aa"; "g") | length', 'null', small, 2000), { oneOf: [{ out: '200000\n' }, MEMORY, ABORT] });
// jaq's regex natives collected every match before making values of any (2 GB for 10^7 empty
// matches, unchecked), and panicked on a group that starts before an earlier one.
hostile('[match(""; "g")] over 10,000,000 a under a 256 MiB budget', jq('"a" * 1e7 | [match(""; "g")] | length', 'null', small), MEMORY);
hostile('a capture group before an earlier one', jq('"ba" | match("(?:(a)|(b))+") | [.captures[].offset]'), { out: '[1,0]\n' });
hostile('[match("a"; "g")] over 100,000 a', jq('"a" * 100000 | [match("a"; "g")] | length'), { out: '100000\n' });
hostile('a catastrophic-backtracking regex', jq('"a" * 50000 + "b" | test("(a+)+$")'), { out: 'false\n' });
hostile('(a*)*b over 50,000 a', jq('"a" * 50000 | test("(a*)*b")'), { out: 'false\n' });
hostile('a regex too large to compile', jq('"aaa" | test("a{1000}{1000}")'), { oneOf: [{ code: 'ERR_JQ_RUNTIME' }, { out: 'false\n' }] });
hostile('a regex of 10,000 nested groups', jq('"a" | test(("(" * 10000) + "a" + (")" * 10000))'), { oneOf: [{ code: 'ERR_JQ_RUNTIME' }, { out: 'true\n' }] });
hostile('@base64d of 100 MB', jq('"QUJD" * 25000000 | @base64d | length'), { out: '75000000\n' });
hostile('@base64 of 100 MB (133 MB of text), within a 256 MiB budget', jq('"x" * 1e8 | @base64 | length', 'null', small), { out: '133333336\n' });
hostile('@base64 of 200 MB under a 256 MiB budget: checked before it is made', jq('"x" * 2e8 | @base64 | length', 'null', small), MEMORY);
hostile('tojson of 10,000,000 NUL characters', jq('"\\u0000" * 1e7 | tojson | length'), { out: '60000002\n' });
hostile('pow(2; 1e9)', jq('pow(2; 1e9)'), { out: '1.7976931348623157e+308\n' });
hostile('"x" * -1', jq('"x" * -1'), { out: 'null\n' });
hostile('[range(1e7)] | sort | length (legitimate, large)', jq('[range(1e7)] | sort | length'), { out: '10000000\n' });

// ---- Deep and huge JSON input ----
hostile('a document 1,000,000 arrays deep', jq('.', deepArray(1e6)), { code: 'ERR_JSON_PARSE' });
hostile('a document 1,000,000 objects deep', jq('.', js(`'{"a":'.repeat(1e6) + '0' + '}'.repeat(1e6)`)), { code: 'ERR_JSON_PARSE' });
hostile('1,000,000 unclosed brackets', jq('.', js(`'['.repeat(1e6)`)), { code: 'ERR_JSON_PARSE' });
hostile('an NDJSON line 1,000,000 arrays deep', jq('.', js(`'1\\n' + '['.repeat(1e6) + ']'.repeat(1e6) + '\\n'`), { ndjson: true }), { code: 'ERR_JSON_PARSE', message: /NDJSON line 2/ });
hostile('a document 254 deep, at maxDepth', jq('[paths] | length', deepArray(253)), { out: '253\n' });
hostile('maxDepth: 1 refuses [[0]]', jq('.', '[[0]]', { maxDepth: 1 }), { code: 'ERR_JSON_PARSE' });
const SIZE = LONG ? 1e8 : 2e7;
hostile(`a string of ${SIZE / 1e6} MB`, jq('length', js(`'"' + 'x'.repeat(${SIZE}) + '"'`)), { out: `${SIZE}\n` });
hostile(`a number of ${SIZE / 1e6} MB of digits`, jq('.', js(`'1'.repeat(${SIZE})`)), { out: '1'.repeat(SIZE) + '\n' });
hostile(`an unclosed string of ${SIZE / 1e6} MB`, jq('.', js(`'"' + 'x'.repeat(${SIZE})`)), { code: 'ERR_JSON_PARSE' });
hostile(`an NDJSON line of ${SIZE / 1e6} MB`, jq('length', js(`'"' + 'x'.repeat(${SIZE}) + '"\\n1\\n'`), { ndjson: true }), { out: `${SIZE}\n1\n` });
hostile('an array of 10,000,000 zeros', jq('length', js(`'[' + '0,'.repeat(1e7 - 1) + '0]'`)), { out: '10000000\n' });
hostile('an object of 1,000,000 keys', jq('keys | length', manyKeys(1e6)), { out: '1000000\n' });
hostile('an object with one key repeated 1,000,000 times', jq('length', js(`'{' + Array(1e6).fill('"k":0').join(',') + '}'`)), { out: '1\n' });
hostile('10,000,000 tiny documents', jq('.', js(`'1 '.repeat(1e7)`)), { length: 2e7 });
hostile(`a document of ${SIZE / 1e6} MB under a 16 MiB budget`, jq('.', js(`'[' + '"xxxxxxxx",'.repeat(${SIZE / 11}) + '0]'`), { maxMemoryBytes: 16 * MiB }), MEMORY);
hostile('jqFile of a document 1,000,000 deep', call('jqFile', '.', deepArray(1e6)), { code: 'ERR_JSON_PARSE' });
hostile('jqFile of NDJSON with a deep line, to outputPath', call('ndjsonFile', '.', js(`'1\\n'.repeat(1000) + '['.repeat(1e6)`), { outputPath: 'out.ndjson' }), { code: 'ERR_JSON_PARSE', message: /NDJSON line 1001/ });
hostile('canonicalizeJson of a document 1,000,000 deep', call('canonicalizeJson', null, deepArray(1e6)), { code: 'ERR_JSON_PARSE' });
hostile('canonicalizeJsonSync of a document 1,000,000 deep', call('canonicalizeJsonSync', null, deepArray(1e6)), { code: 'ERR_JSON_PARSE' });
hostile('canonicalizeJson of 1,000,000 keys', call('canonicalizeJson', null, manyKeys(1e6)), { length: manyKeysLength(1e6) });
hostile(`canonicalizeJson of ${SIZE / 1e6} MB under a 16 MiB budget`, call('canonicalizeJson', null, js(`'[' + '"xxxxxxxx",'.repeat(${SIZE / 11}) + '0]'`), { maxMemoryBytes: 16 * MiB }), MEMORY);
hostile(`canonicalizeJsonSync of ${SIZE / 1e6} MB under a 16 MiB budget`, call('canonicalizeJsonSync', null, js(`'[' + '"xxxxxxxx",'.repeat(${SIZE / 11}) + '0]'`), { maxMemoryBytes: 16 * MiB }), MEMORY);

// ---- Hostile vars ----
hostile('vars nested 300 deep', jq('$x', 'null', { vars: { x: JSON.parse('['.repeat(300) + ']'.repeat(300)) } }), { code: 'ERR_INVALID_ARG_VALUE' });
hostile('vars of a 20 MB string', jq('$x | length', 'null', js(`{ vars: { x: 'x'.repeat(2e7) } }`)), { out: '20000000\n' });
hostile('vars nested 1,000,000 deep (JSON.stringify gives up)', jq('$x', 'null', js('(() => { let d = {}; for (let i = 0; i < 1e6; i++) d = { a: d }; return { vars: { x: d } }; })()')), { code: 'ERR_INVALID_ARG_VALUE' });
hostile('vars with a cycle', jq('$x', 'null', js('(() => { const c = {}; c.self = c; return { vars: { x: c } }; })()')), { code: 'ERR_INVALID_ARG_VALUE' });
hostile('vars with a toJSON that throws', jq('$x', 'null', js('{ vars: { x: { toJSON() { throw new Error("boom"); } } } }')), { code: 'ERR_INVALID_ARG_VALUE' });
hostile('vars missing the variable', jq('$nope', 'null', { vars: { x: 1 } }), { code: 'ERR_JQ_COMPILE', message: /\$nope/ });
hostile('vars named like jq keywords', jq('$__loc__ | .line', 'null', { vars: { __loc__: 7, if: 1 } }), { out: '1\n' }, { waits: 'jq compatibility' });

// ---- Option edge values ----
for (const [name, options, expect] of [
  ['maxMemoryBytes: -1', { maxMemoryBytes: -1 }, { code: 'ERR_OUT_OF_RANGE' }],
  ['maxMemoryBytes: 1.5', { maxMemoryBytes: 1.5 }, { code: 'ERR_OUT_OF_RANGE' }],
  ['maxMemoryBytes: 2 ** 53', { maxMemoryBytes: 2 ** 53 }, { code: 'ERR_OUT_OF_RANGE' }],
  ['maxMemoryBytes: Infinity', js('{ maxMemoryBytes: Infinity }'), { code: 'ERR_OUT_OF_RANGE' }],
  ['maxMemoryBytes: NaN', js('{ maxMemoryBytes: NaN }'), { code: 'ERR_OUT_OF_RANGE' }],
  ["maxMemoryBytes: '1'", { maxMemoryBytes: '1' }, { code: 'ERR_INVALID_ARG_TYPE' }],
  ['maxMemoryBytes: Number.MAX_SAFE_INTEGER', { maxMemoryBytes: Number.MAX_SAFE_INTEGER }, { out: '1\n' }],
  ['maxMemoryBytes: 0, a 10 MB input', { maxMemoryBytes: 0 }, MEMORY, js(`'[' + '1,'.repeat(5e6) + '1]'`)],
  ['maxOutputBytes: 0', { maxOutputBytes: 0 }, { code: 'ERR_JQ_OUTPUT_LIMIT' }],
  ['maxOutputBytes: -1', { maxOutputBytes: -1 }, { code: 'ERR_OUT_OF_RANGE' }],
  ['maxDepth: 0', { maxDepth: 0 }, { code: 'ERR_OUT_OF_RANGE' }],
  ['maxDepth: 255', { maxDepth: 255 }, { code: 'ERR_OUT_OF_RANGE' }],
]) {
  hostile(`option ${name}`, jq('.', expect[3] ?? '1', options), expect);
}
for (const fn of ['jqValues', 'JqProgram', 'jqFile', 'canonicalizeJson', 'canonicalizeJsonSync']) {
  const program = fn.startsWith('canonicalize') ? null : '.';
  hostile(`${fn}: maxMemoryBytes applies`, call(fn, program, js(`'[' + '1,'.repeat(5e6) + '1]'`), { maxMemoryBytes: MiB }), MEMORY);
  hostile(`${fn}: maxMemoryBytes: -1`, call(fn, program, '1', { maxMemoryBytes: -1 }), { code: 'ERR_OUT_OF_RANGE' });
}
// The input's own copy counts too (the README's "input read"): a Buffer of whitespace, which
// parses into nothing, is refused before it is copied, not copied whole past the budget.
for (const fn of ['jq', 'jqValues', 'JqProgram', 'canonicalizeJson', 'canonicalizeJsonSync']) {
  const program = fn.startsWith('canonicalize') ? null : '.';
  hostile(`${fn}: a 300 MB Buffer of whitespace under a 16 MiB budget`, call(fn, program, js(`Buffer.alloc(300 * 2 ** 20, 0x20).fill(0x31, 300 * 2 ** 20 - 1)`), { maxMemoryBytes: 16 * MiB }), MEMORY);
}
hostile('jqValues of a 10 MB array under the default budget', call('jqValues', 'length', js(`'[' + '1,'.repeat(5e6) + '1]'`)), { value: [5000001] });

// ---- Aborts reach every kind of run ----
const BIG = LONG ? 2e8 : 5e7;
hostile('abort: the reader on one large document', jq('length', js(`'[' + '"xxxxxxxx",'.repeat(${BIG / 11}) + '0]'`), {}, 20), ABORT);
hostile('abort: the fast evaluator over a large document', jq('.[] | select(. == "y")', js(`'[' + '"xxxxxxxx",'.repeat(${BIG / 11}) + '0]'`), {}, 20), ABORT);
hostile('abort: jaq over a large document', jq('[.[] | tostring | ascii_downcase] | length', js(`'[' + '"xxxxxxxx",'.repeat(${BIG / 11}) + '0]'`), {}, 50), ABORT);
hostile('abort: NDJSON, each line slow', jq('range(1e6) | empty', js(`'1\\n'.repeat(1e4)`), { ndjson: true }, 200), ABORT);
// Found by a hostile hunt (2026-12-06): a line that never ends grew past the budget, read after
// read, until the kernel killed the process (23.8 GB).
hostile('jqFile NDJSON of /dev/zero to outputPath, under a 64 MiB budget', call('jqFileAt', '.', '/dev/zero', { ndjson: true, outputPath: 'out.ndjson', maxMemoryBytes: 64 * MiB }), MEMORY);
hostile('abort: jqFile NDJSON to outputPath', call('ndjsonFile', 'range(1e6) | empty', js(`'1\\n'.repeat(1e4)`), { outputPath: 'out.ndjson' }, 200), ABORT);
// Each step doubles the string (its escapes, or its quotes): the last steps escape hundreds of MB
// in one builtin, which must poll for the abort as it goes.
hostile('abort: tojson of a string that doubles at each step', jq('reduce range(254) as $i (.; tojson)', '"a"', {}, 200), ABORT);
hostile('abort: @csv of a string that doubles at each step', jq('reduce range(254) as $i (.; [.] | @csv)', '"a\\"b"', {}, 200), ABORT);
hostile('abort: sorting 10,000,000 numbers', jq('[range(1e7)] | sort | length', 'null', {}, 100), ABORT);
// The call settles at the abort, but one search of a text is one step: the regex engine searches
// the 10 MB to their end (time linear in the text and the pattern) before the thread can stop.
// fancy-regex runs this pattern (no backtracking construct) on a linear-time engine, so it may
// also finish before the abort with jq's answer, 0.
hostile('abort: a regex over 10 MB', jq('[match("(a|aa)*b"; "g")] | length', js(`'"' + 'a'.repeat(1e7) + '"'`), {}, 200), { oneOf: [ABORT, { out: '0\n' }] }, { workAfterAbortMs: 10_000 });

// Found by a hostile hunt (2026-12-06): these built their whole result in one step (to 3.5 GB
// under a 1 GiB budget), and `indices` did not poll, so an aborted call held its pool thread for
// the rest of a quadratic search (about 45 minutes for the array below).
hostile('an output longer than a JS string can be', jq('"x" * 6e8', 'null', { maxOutputBytes: 2 ** 31, maxMemoryBytes: 2 ** 32 }), { code: 'ERR_STRING_TOO_LONG' });
hostile('jqValues of an output longer than a JS string can be, in UTF-8 bytes', call('jqValues', '"é" * 3e8', 'null', { maxOutputBytes: 2 ** 31, maxMemoryBytes: 2 ** 32 }), { code: 'ERR_STRING_TOO_LONG' });
// Found by a hostile hunt (2026-12-06): the sync form threw napi's `GenericFailure` ("Failed to
// convert rust `String` into napi `string`") instead of the code its async form rejects with.
// `1e20` canonicalizes to 21 digits: 125 MB of input give an output of 550 million characters.
const longCanonical = js(`'[' + '1e20,'.repeat(25e6) + '0]'`);
hostile('canonicalizeJson of an output longer than a JS string can be', call('canonicalizeJson', null, longCanonical, { maxMemoryBytes: 2 ** 32 }), { code: 'ERR_STRING_TOO_LONG' });
hostile('canonicalizeJsonSync of an output longer than a JS string can be', call('canonicalizeJsonSync', null, longCanonical, { maxMemoryBytes: 2 ** 32 }), { code: 'ERR_STRING_TOO_LONG' });
hostile('split("") of 10^7 characters under a 64 MiB budget', jq('"x" * 1e7 | split("") | length', 'null', { maxMemoryBytes: 64 * MiB }), MEMORY);
hostile('rindex of a string with 10^8 matches under a 256 MiB budget', jq('"x" * 1e8 | rindex("x")', 'null', small), MEMORY);
hostile('@uri of 120 MB under a 128 MiB budget', jq('"é" * 6e7 | @uri | length', 'null', { maxMemoryBytes: 128 * MiB }), MEMORY);
hostile('@html of 120 MB under a 128 MiB budget', jq('"<" * 1.2e8 | @html | length', 'null', { maxMemoryBytes: 128 * MiB }), MEMORY);
hostile('@sh of 120 MB under a 128 MiB budget', jq(`"'" * 1.2e8 | @sh | length`, 'null', { maxMemoryBytes: 128 * MiB }), MEMORY);
// strptime reads as glibc's, by a reader of offloop's own (2026-12-06): long texts and formats.
hostile('strptime of 10^6 digits as a year, and as seconds', jq(js(`'[' + JSON.stringify('1'.repeat(1e6)) + ' | try strptime("%Y") catch "no", try strptime("%s") catch "no"] | length'`)), { out: '2\n' });
hostile('strptime with a format of 10^5 conversions', jq(js(`'"2015" | try strptime(' + JSON.stringify('%E%O%c%n'.repeat(25000)) + ') catch "no" | length'`)), { out: '2\n' });
hostile('strptime of 10^6 spaces before a year', jq(js(`'(" " * 1e6 + "2015") | strptime("%Y") | .[0]'`)), { out: '2015\n' });
hostile('abort: indices of a long array in a longer one', jq('[range(1e6) | 0] | indices([range(5e5) | 0]) | length', 'null', {}, 500), ABORT);
hostile('abort: indices of a long string in a longer one', jq('"a" * 2e6 | indices("a" * 1e6) | length', 'null', {}, 500), ABORT);

describe('hostile input (each case in a process of its own)', () => {
  for (const c of corpus) {
    const skip = c.long && !LONG;
    test(c.name, { skip, todo: c.waits ? `waits for the ${c.waits} branch` : undefined, timeout: 180_000 }, async (t) => {
      const budgetMb = Math.min((c.call.options?.maxMemoryBytes ?? 2 ** 30) / MiB, 4096);
      const spec = { setup: setup.toString(), run: run.toString(), args: { call: c.call }, killAtMb: budgetMb + c.slackMb + 512 };
      const r = await runNode(['--expose-gc', fixture], { env: { OFFLOOP_INDEX: index, HOSTILE_CASE: JSON.stringify(spec) }, timeoutMs: 60_000 });
      const report = childJson(r);
      assert.ok(!report.runaway, `ran away with memory: ${JSON.stringify(report).slice(0, 300)}`);
      const o = report.outcome;
      const expected = c.expect.oneOf ?? [c.expect];
      assert.ok(expected.some((e) => matches(e, o)), `outcome ${JSON.stringify(o).slice(0, 600)}`);
      assert.ok(report.ms < c.maxMs, `took ${report.ms} ms`);
      if (c.call.abort !== undefined) {
        assert.ok(report.settledAfterAbortMs < 300, `settled ${report.settledAfterAbortMs} ms after the abort`);
        assert.ok(report.idleAfterAbortMs < c.workAfterAbortMs, `the pool worked on for ${report.idleAfterAbortMs} ms after the abort`);
      } else {
        assert.ok(report.idleAfterSettleMs < 1000, `the pool worked on for ${report.idleAfterSettleMs} ms after settling`);
      }
      // The budget holds: the process grew by at most its budget plus a constant (stacks, the
      // allocator's slack, JavaScript's copy of the input and output).
      if (Number.isFinite(report.peakMb)) {
        t.diagnostic(`peak RSS grew by ${report.peakMb.toFixed(0)} MiB (budget ${budgetMb} MiB)`);
        assert.ok(report.peakMb < budgetMb + c.slackMb, `peak RSS grew by ${report.peakMb.toFixed(0)} MiB`);
        if (o.code === 'ERR_JQ_MEMORY_LIMIT') {
          assert.ok(report.afterMb < 64, `${report.afterMb.toFixed(0)} MiB still held after the rejection`);
        }
      }
    });
  }
});

// Found by a hostile hunt (2026-12-06): `open` of a FIFO nobody writes waited for good on a pool
// thread; the aborted calls settled, but the pool (one thread here) never ran another job.
test('a FIFO nobody writes, or nobody reads: aborted hashFile and jqFile calls free their pool thread; with a writer, it is read', { skip: process.platform === 'win32' && 'FIFOs' }, async () => {
  const r = await runChild(
    `import { createRequire } from 'node:module';
    import { execFileSync, spawn } from 'node:child_process';
    import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
    import { createHash } from 'node:crypto';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const o = createRequire(import.meta.url)(${JSON.stringify(index)});
    o.configure({ threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'offloop-fifo-'));
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const aborted = await Promise.all([
      o.hashFile('sha256', fifo, 'hex', { signal: AbortSignal.timeout(100) }).catch((e) => e.code),
      o.jqFile('.', fifo, { signal: AbortSignal.timeout(100) }).catch((e) => e.code),
      o.jqFile('.', fifo, { ndjson: true, outputPath: join(dir, 'out'), signal: AbortSignal.timeout(100) }).catch((e) => e.code),
    ]);
    // A FIFO whose reader never reads: the outputs fill it, and the write must not wait for good.
    const full = join(dir, 'full.fifo');
    execFileSync('mkfifo', [full]);
    const holder = spawn('sh', ['-c', 'exec sleep 30 3<"$0"', full], { stdio: 'ignore' });
    const lines = join(dir, 'lines.ndjson');
    writeFileSync(lines, ('"' + 'x'.repeat(1000) + '"\\n').repeat(2000));
    let blocked;
    for (let tries = 0; tries < 300 && (blocked === undefined || blocked === 'ENXIO'); tries++) {
      if (blocked) await new Promise((resolve) => setTimeout(resolve, 10));
      blocked = await o.jqFile('.', lines, { ndjson: true, outputPath: full, signal: AbortSignal.timeout(300) }).then(() => 'written', (e) => e.code);
    }
    aborted.push(blocked);
    const next = await Promise.race([o.hash('sha256', 'x', 'hex'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 10000))]);
    holder.kill();
    const writer = spawn('sh', ['-c', 'sleep 0.2; printf hello > "$0"', fifo]);
    const read = await o.hashFile('sha256', fifo, 'hex');
    await new Promise((resolve) => writer.on('close', resolve));
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ aborted, next, read: read === createHash('sha256').update('hello').digest('hex') }));`,
    { timeoutMs: 30_000 },
  );
  const report = childJson(r);
  assert.deepEqual(report.aborted, ['ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR']);
  assert.equal(report.next, createHash('sha256').update('x').digest('hex'), 'the next call ran');
  assert.equal(report.read, true, 'a FIFO with a writer is hashed as written');
});
