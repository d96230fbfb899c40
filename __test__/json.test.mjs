import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, existsSync, rmSync, statSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import canonicalize from 'canonicalize'

import { cases, differences, toFix, inputText } from './jq-cases.mjs'
import { jqOracle, normalize, outcome } from './jq-oracle.mjs'
import { runChild, childJson } from './helpers.mjs'

const { jq, jqValues, compileJq, JqProgram, jqFile, canonicalizeJson, canonicalizeJsonSync } = createRequire(import.meta.url)(
  '../index.js',
)

const here = dirname(fileURLToPath(import.meta.url))

// offloop's outcome as the oracle's: { values: [JSON text] } or { error: kind, message }.
async function offloop(program, input, vars) {
  try {
    return { values: (await jq(program, input, { vars })).split('\n').slice(0, -1) }
  } catch (e) {
    const kind = { ERR_JQ_COMPILE: 'compile', ERR_JQ_RUNTIME: 'runtime', ERR_JSON_PARSE: 'input' }[e.code]
    if (!kind) throw e
    return { error: kind, message: e.message }
  }
}


async function inBatches(items, size, fn) {
  const results = []
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(fn))))
  return results
}

async function expectCode(promise, code, ctor = Error) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.message)
    assert.ok(e instanceof ctor, `${e.name} is not ${ctor.name}`)
    return true
  })
}

describe('jq', () => {
  test('outputs compact JSON lines', async () => {
    // Number literals keep their text while unchanged, as in jq 1.8.
    assert.equal(await jq('.a', '{"a": [1, 2.50, "x"]}'), '[1,2.50,"x"]\n')
    assert.equal(await jq('.a * 1', '{"a": 2.50}'), '2.5\n')
    assert.equal(await jq('.[]', '[1, "two", null]'), '1\n"two"\nnull\n')
    assert.equal(await jq('empty', '1'), '')
    assert.equal(await jq('.', '1 2 [3]'), '1\n2\n[3]\n', 'a sequence of documents')
    assert.equal(await jq('.', '  '), '', 'no input, no output')
    assert.equal(await jq('.[]', '["a\\nb", "\\u00e9", "\\u0001"]', { raw: true }), 'a\nb\né\n\u0001\n')
    // jq 1.8.2's printing: literals as written (decNumber's notation), computed doubles as jq's
    // dtoa (17 digits, e+XX), NaN as null, infinities as the largest doubles, DEL escaped.
    assert.equal(await jq('[1e1000, -0, 0.1, 1e21, 1e-7]', 'null'), '[1E+1000,0,0.1,1E+21,1E-7]\n')
    assert.equal(await jq('[1e1000, -0, 0.1, 1e21, 1e-7, nan, infinite] | map(. * 1)', 'null'),
      '[1.7976931348623157e+308,0,0.1,1e+21,1e-07,null,1.7976931348623157e+308]\n')
    assert.equal(await jq('"\\u2028 😀 \\u007f"', 'null'), '"\u2028 😀 \\u007f"\n')
    assert.equal(await jq('.', '"\\ud83d\\ude00"'), '"😀"\n')
  })

  test('takes strings, Buffers, TypedArrays, DataViews and ArrayBuffers', async () => {
    const text = '{"a":1}'
    const bytes = new TextEncoder().encode(text)
    for (const input of [text, Buffer.from(text), bytes, new DataView(bytes.buffer), bytes.buffer]) {
      assert.equal(await jq('.a', input), '1\n')
    }
    // Large Buffers are used in place (not copied).
    const big = Buffer.from(JSON.stringify({ items: Array.from({ length: 20000 }, (_, i) => ({ i })) }))
    assert.ok(big.length > 64 * 1024)
    assert.equal(await jq('.items | length', big), '20000\n')
    assert.equal(await jq('.items[12345].i', big.subarray(0)), '12345\n')
  })

  test('jqValues parses the outputs', async () => {
    assert.deepEqual(await jqValues('.[] | {v: .}', '[1, "b", null]'), [{ v: 1 }, { v: 'b' }, { v: null }])
    assert.deepEqual(await jqValues('empty', '1'), [])
    assert.deepEqual(await jqValues('.[]', '["x"]', { raw: true }), ['x'], 'raw is ignored')
  })

  test('vars bind $variables', async () => {
    assert.equal(await jq('[$a, $b.c]', 'null', { vars: { a: 1, b: { c: 'x' } } }), '[1,"x"]\n')
    assert.equal(await jq('.', '1', { vars: { unused: 1 } }), '1\n')
    await expectCode(jq('$missing', '1'), 'ERR_JQ_COMPILE')
    await expectCode(jq('$missing', '1', { vars: { other: 1 } }), 'ERR_JQ_COMPILE')
  })

  test('compileJq compiles once for many runs', async () => {
    const program = compileJq('select(.n > $min) | .n')
    assert.equal(await program.run('{"n": 5}', { vars: { min: 1 } }), '5\n')
    assert.deepEqual(await program.runValues('{"n": 5}', { vars: { min: 9 } }), [])
    const runs = await Promise.all(Array.from({ length: 50 }, (_, i) => program.runValues(`{"n": ${i}}`, { vars: { min: 24 } })))
    assert.deepEqual(runs.flat(), Array.from({ length: 25 }, (_, i) => i + 25))
    assert.throws(() => compileJq('.a |'), (e) => e.code === 'ERR_JQ_COMPILE' && e.line === 1 && e.column === 5)
    assert.throws(() => compileJq(42), TypeError)
    assert.equal(await new JqProgram('.a').run('{"a":"b"}', { raw: true }), 'b\n')
    assert.ok(program instanceof JqProgram)
    assert.throws(() => new JqProgram('('), (e) => e.code === 'ERR_JQ_COMPILE')
  })

  test('programs no longer referenced are collected: 20,000 of them do not pile up', async () => {
    // Found by a hostile hunt (2026-12-06): V8 saw a small object for each program, which holds
    // about 170 KB, so it collected them late (500 MB and more here, 3.5 GB without yielding).
    const r = await runChild(
      `import { createRequire } from 'node:module';
      const { compileJq } = createRequire(import.meta.url)(${JSON.stringify(join(here, '..', 'index.js'))});
      const rss = () => process.memoryUsage.rss() / 2 ** 20;
      let base;
      let peak = 0;
      for (let i = 0; i < 20000; i++) {
        compileJq('.a' + i);
        if (i % 100 === 0) {
          await new Promise((resolve) => setImmediate(resolve));
          base ??= rss();
          peak = Math.max(peak, rss());
        }
      }
      console.log(JSON.stringify({ grewMb: peak - base }));`,
    )
    const { grewMb } = childJson(r)
    assert.ok(grewMb < 200, `RSS grew by ${grewMb.toFixed(0)} MiB`)
  })
})

describe('NDJSON', () => {
  test('lines run independently, in order, blank lines skipped', async () => {
    const lines = Array.from({ length: 50000 }, (_, i) => JSON.stringify({ i, even: i % 2 === 0 }))
    const text = lines.join('\n') + '\n\n   \r\n'
    const out = await jq('select(.even) | .i', text, { ndjson: true })
    assert.equal(out, Array.from({ length: 25000 }, (_, i) => `${i * 2}\n`).join(''))
    assert.equal(await jq('.i', '{"i":1}\r\n\n{"i":2}', { ndjson: true }), '1\n2\n')
    assert.deepEqual(await jqValues('.', Buffer.from(text), { ndjson: true }), lines.map((l) => JSON.parse(l)))
  })

  test('large ASCII outputs reach JS without a copy on its heap; other outputs are copied; both are whole', async () => {
    // An ASCII output of 256 KiB or more becomes an external string over Rust's buffer (freed by
    // V8's GC), so keeping 8 outputs of ~2.9 MB adds next to nothing to the JS heap; a non-ASCII
    // output is decoded into the heap, which shows the measurement sees copies.
    const r = await runChild(
      `import v8 from 'node:v8';
      import { createRequire } from 'node:module';
      const { jq } = createRequire(import.meta.url)(${JSON.stringify(join(here, '..', 'index.js'))});
      const lines = Array.from({ length: 200000 }, (_, i) => JSON.stringify({ i, s: 'ascii-' + i, u: 'ünï-' + i }));
      const input = Buffer.from(lines.join('\\n'));
      lines.length = 0;
      const heapGrowth = async (program) => {
        gc();
        const before = v8.getHeapStatistics().used_heap_size;
        const outputs = [];
        for (let k = 0; k < 8; k++) outputs.push(await jq(program, input, { ndjson: true, raw: true }));
        const grew = v8.getHeapStatistics().used_heap_size - before;
        return { grew, outputs };
      };
      const ascii = await heapGrowth('.s');
      const unicode = await heapGrowth('.u');
      const expected = (prefix) => Array.from({ length: 200000 }, (_, i) => prefix + i + '\\n').join('');
      const whole = ascii.outputs.every((o) => o === expected('ascii-')) && unicode.outputs.every((o) => o === expected('ünï-'));
      const size = ascii.outputs[0].length;
      ascii.outputs.length = 0;
      for (let k = 0; k < 3; k++) gc(); // the external strings' finalizers free Rust's buffers
      console.log(JSON.stringify({ whole, size, asciiGrew: ascii.grew, unicodeGrew: unicode.grew }));`,
      { args: ['--expose-gc'] },
    )
    const { whole, size, asciiGrew, unicodeGrew } = childJson(r)
    assert.ok(whole, 'outputs differ from the expected text')
    assert.ok(size > 256 * 1024)
    assert.ok(asciiGrew < size, `JS heap grew ${asciiGrew} bytes for 8 ASCII outputs of ${size} bytes`)
    assert.ok(unicodeGrew > 2 * size, `JS heap grew only ${unicodeGrew} bytes for 8 copied outputs of ~${size} bytes`)
  })

  test('records the fast evaluator leaves to jaq come out the same, in order', async () => {
    // Object comparisons and integer overflow are left to jaq, record by record; the Buffer is
    // large enough to be read in place.
    const lines = Array.from({ length: 20000 }, (_, i) =>
      JSON.stringify(i % 7 ? { i, o: { k: `v${i}` }, p: { k: `v${i}` }, n: i } : { i, o: { k: 'x' }, p: { k: 'y' }, n: i }),
    )
    lines[10] = '{"i":10,"o":{"k":"v10"},"p":{"k":"v10"},"n":9223372036854775807}'
    const buffer = Buffer.from(lines.join('\n'))
    assert.ok(buffer.length > 64 * 1024)
    const out = await jqValues('select(.o == .p) | {i, o, next: (.n + 1)}', buffer, { ndjson: true })
    assert.equal(out.length, 20000 - Math.ceil(20000 / 7))
    assert.deepEqual(out[1], { i: 2, o: { k: 'v2' }, next: 3 })
    // Numbers are doubles (jq 1.8): 2^63 prints as jq prints it.
    const big = await jq('select(.i == 10) | .n + 1', buffer, { ndjson: true })
    assert.equal(big, '9223372036854776000\n')
  })

  test('errors name the line', async () => {
    const text = Array.from({ length: 30000 }, (_, i) => `{"i":${i}}`).join('\n') + '\n{"i": 1,}\n{"i": 2}'
    await assert.rejects(jq('.i', text, { ndjson: true }), (e) => {
      assert.equal(e.code, 'ERR_JSON_PARSE')
      assert.equal(e.line, 30001)
      assert.equal(e.column, 9)
      return true
    })
    await assert.rejects(jq('.i', '{"i":1}\n[1, 2] [3]\n', { ndjson: true }), (e) => e.code === 'ERR_JSON_PARSE' && e.line === 2)
    await assert.rejects(jq('.i + 1', '{"i":1}\n{"i":"x"}\n', { ndjson: true }), (e) => e.code === 'ERR_JQ_RUNTIME' && e.line === 2)
  })

  test('the first failing line in input order is reported', async () => {
    const text = Array.from({ length: 200000 }, (_, i) => (i === 1000 || i === 150000 ? '{' : '{"a":1}')).join('\n')
    await assert.rejects(jq('.a', text, { ndjson: true }), (e) => e.line === 1001)
  })
})

describe('errors', () => {
  test('malformed JSON: ERR_JSON_PARSE with line and column', async () => {
    await assert.rejects(jq('.', '{"a": 1,\n  "b": }'), (e) => {
      assert.equal(e.code, 'ERR_JSON_PARSE')
      assert.deepEqual([e.line, e.column], [2, 8])
      return true
    })
    for (const bad of ['{', '[1,]', 'nan1', 'Infinityx', '-', '"\\ud800"', '{"a" 1}', "{'a': 1}", 'tru', '.5', '[1 2]', '"\t"']) {
      await expectCode(jq('.', bad), 'ERR_JSON_PARSE')
    }
    await expectCode(jq('.', Buffer.from([0x22, 0xff, 0x22])), 'ERR_JSON_PARSE')
    await expectCode(jq('.', '01', { ndjson: true }), 'ERR_JSON_PARSE')
  })

  test('programs that do not compile: ERR_JQ_COMPILE with position', async () => {
    await assert.rejects(jq('.a |\n  map(', '1'), (e) => e.code === 'ERR_JQ_COMPILE' && e.line === 2)
    await assert.rejects(jq('nosuch(1)', '1'), (e) => e.code === 'ERR_JQ_COMPILE' && /nosuch\/1/.test(e.message))
    await expectCode(jq('import "x" as x; .', '1'), 'ERR_JQ_COMPILE')
    await expectCode(jq('env', '1'), 'ERR_JQ_COMPILE')
  })

  test("runtime errors: ERR_JQ_RUNTIME with jq's message", async () => {
    await assert.rejects(jq('error("boom")', '1'), (e) => e.code === 'ERR_JQ_RUNTIME' && e.message === 'boom')
    await assert.rejects(jq('error({a: 1})', '1'), (e) => e.message === '{"a":1}')
    await assert.rejects(jq('.a', '5'), (e) => e.code === 'ERR_JQ_RUNTIME' && e.message === 'Cannot index number with string ("a")')
    await assert.rejects(jq('"oops" | halt_error(2)', '1'), (e) => e.message === 'oops' && e.exitCode === 2)
    assert.equal(await jq('1, halt, 2', 'null'), '1\n')
    const huge = '"' + 'x'.repeat(100000) + '"'
    await assert.rejects(jq('error', huge), (e) => e.message.length < 2000, 'messages are capped')
  })

  test('nothing partial is returned', async () => {
    await expectCode(jq('.[] | if . == 3 then error("x") else . end', '[1,2,3,4]'), 'ERR_JQ_RUNTIME')
    await expectCode(jq('.', '1 2 {'), 'ERR_JSON_PARSE')
  })

  test('limits: output size, input depth, recursion', async () => {
    for (const program of ['repeat(.)', 'range(1e12)', '[range(1e6)]', '"x" * 100000 | ., .']) {
      await expectCode(jq(program, '1', { maxOutputBytes: 100000 }), 'ERR_JQ_OUTPUT_LIMIT')
    }
    await expectCode(jq('.[]', '[1,2,3]', { maxOutputBytes: 3 }), 'ERR_JQ_OUTPUT_LIMIT')
    assert.equal(await jq('.[]', '[1,2,3]', { maxOutputBytes: 6 }), '1\n2\n3\n')
    const nested = (n) => '['.repeat(n) + ']'.repeat(n)
    assert.equal(await jq('length', nested(254)), '1\n')
    await assert.rejects(jq('length', nested(255)), (e) => e.code === 'ERR_JSON_PARSE' && /deeper than 254/.test(e.message))
    await expectCode(jq('length', nested(11), { maxDepth: 10 }), 'ERR_JSON_PARSE')
    await expectCode(jq('.a', `{"a":1,"b":${nested(300)}}`), 'ERR_JSON_PARSE', Error)
    await assert.rejects(jq('def f: 1 + f; f', 'null'), (e) => e.code === 'ERR_JQ_RUNTIME' && /deeply/.test(e.message))
    // Values nest at most 10,001 levels (as deep as jq 1.8 compares and prints them).
    assert.equal(await jq('reduce range(10000) as $i ([]; [.]) | length', 'null'), '1\n')
    await assert.rejects(jq('reduce range(100000) as $i (null; [.]) | length', 'null'), (e) => e.code === 'ERR_JQ_RUNTIME' && e.depth === 10002)
  })

  test('abort stops a running program', async () => {
    const aborted = AbortSignal.abort()
    await assert.rejects(jq('.', '1', { signal: aborted }), { name: 'AbortError' })
    for (const program of ['[range(1e12)] | length', 'last(range(1e12))', 'def f: f; f', 'until(false; .)', '[repeat(.)]']) {
      const controller = new AbortController()
      const pending = jq(program, '0', { signal: controller.signal })
      setTimeout(() => controller.abort(), 50)
      await assert.rejects(pending, { name: 'AbortError' }, program)
    }
    const ndjson = Array.from({ length: 1000 }, () => '{"a":1}').join('\n')
    await assert.rejects(jq('def f: f; f', ndjson, { ndjson: true, signal: AbortSignal.timeout(50) }), { name: 'AbortError' })
  })

  test('wrong arguments are TypeErrors / RangeErrors', async () => {
    await expectCode(jq(1, '1'), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', 1), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', null), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', 'x'), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', { ndjson: 1 }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', { raw: 'yes' }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', { vars: [1] }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', { vars: 'a' }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jq('.', '1', { vars: { a: 1n } }), 'ERR_INVALID_ARG_VALUE', TypeError)
    await expectCode(jq('.', '1', { maxOutputBytes: -1 }), 'ERR_OUT_OF_RANGE', RangeError)
    await expectCode(jq('.', '1', { maxOutputBytes: 1.5 }), 'ERR_OUT_OF_RANGE', RangeError)
    await expectCode(jq('.', '1', { maxDepth: 0 }), 'ERR_OUT_OF_RANGE', RangeError)
    await expectCode(jq('.', '1', { maxDepth: 255 }), 'ERR_OUT_OF_RANGE', RangeError)
    await expectCode(jq('.', '1', { signal: {} }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jqValues('.', {}), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(compileJq('.').run(5), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jqFile('.', 5), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(jqFile('.', 'x', { outputPath: 5 }), 'ERR_INVALID_ARG_TYPE', TypeError)
    await expectCode(canonicalizeJson(5), 'ERR_INVALID_ARG_TYPE', TypeError)
    assert.throws(() => canonicalizeJsonSync({}), TypeError)
  })
})

describe('jqFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'offloop-json-'))
  const input = join(dir, 'in.ndjson')
  const lines = Array.from({ length: 20000 }, (_, i) => JSON.stringify({ i, s: `s${i}` }))
  writeFileSync(input, lines.join('\n') + '\n')

  test('returns the outputs, or writes them and resolves with their number', async () => {
    assert.equal(await jqFile('select(.i < 3) | .s', input, { ndjson: true, raw: true }), 's0\ns1\ns2\n')
    const out = join(dir, 'out.ndjson')
    assert.equal(await jqFile('select(.i % 2 == 0) | {i}', input, { ndjson: true, outputPath: out }), 10000)
    assert.equal(readFileSync(out, 'utf8'), await jq('select(.i % 2 == 0) | {i}', readFileSync(input), { ndjson: true }))
    const doc = join(dir, 'doc.json')
    writeFileSync(doc, JSON.stringify({ items: [1, 2, 3] }))
    assert.equal(await jqFile('.items[]', doc, { outputPath: out }), 3)
    assert.equal(readFileSync(out, 'utf8'), '1\n2\n3\n')
  })

  test('reads NDJSON larger than its 32 MiB blocks', async () => {
    const big = join(dir, 'big.ndjson')
    const line = JSON.stringify({ pad: 'x'.repeat(200) })
    const count = Math.ceil((36 << 20) / (line.length + 1))
    writeFileSync(big, (line + '\n').repeat(count - 1) + '{"last": true}')
    const out = join(dir, 'big.out')
    assert.equal(await jqFile('select(.last) | .last', big, { ndjson: true, outputPath: out }), 1)
    assert.equal(readFileSync(out, 'utf8'), 'true\n')
    await assert.rejects(jqFile('.', big, { ndjson: true, outputPath: out, maxOutputBytes: 1 << 20 }), {
      code: 'ERR_JQ_OUTPUT_LIMIT',
    })
    rmSync(big)
  })

  test('leaves no file behind on errors', async () => {
    const bad = join(dir, 'bad.ndjson')
    writeFileSync(bad, lines.slice(0, 5000).join('\n') + '\n{oops}\n' + lines.slice(5000).join('\n'))
    const out = join(dir, 'never.ndjson')
    await assert.rejects(jqFile('.', bad, { ndjson: true, outputPath: out }), (e) => e.code === 'ERR_JSON_PARSE' && e.line === 5001)
    await assert.rejects(jqFile('error("x")', input, { ndjson: true, outputPath: out }), { code: 'ERR_JQ_RUNTIME' })
    assert.equal(existsSync(out), false)
    const kept = join(dir, 'kept.txt')
    writeFileSync(kept, 'old')
    await assert.rejects(jqFile('.', bad, { ndjson: true, outputPath: kept }), { code: 'ERR_JSON_PARSE' })
    assert.equal(readFileSync(kept, 'utf8'), 'old', 'an existing file is untouched')
    // Past the memory budget too: a hostile hunt (2026-12-06) found the file replaced with the
    // whole output by a call that then rejected.
    const ones = join(dir, 'ones.ndjson')
    writeFileSync(ones, '1\n'.repeat(1000))
    await assert.rejects(jqFile('"x" * 2e4', ones, { ndjson: true, outputPath: kept, maxMemoryBytes: 64 << 20, maxOutputBytes: 2 ** 40 }), {
      code: 'ERR_JQ_MEMORY_LIMIT',
    })
    assert.equal(readFileSync(kept, 'utf8'), 'old', 'an existing file is untouched past the budget')
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.offloop-')),
      [],
      'no temporary files',
    )
  })

  test('outputPath as fs.writeFile takes it: a symlink is followed, a FIFO or device is written to, not replaced', { skip: process.platform === 'win32' && 'POSIX files' }, async () => {
    // Found by a hostile hunt (2026-12-06): each was replaced by a regular file (as root, /dev/null).
    const { execFileSync, spawn } = await import('node:child_process')
    const { symlinkSync, lstatSync } = await import('node:fs')
    const expected = await jq('select(.i < 3) | .i', readFileSync(input), { ndjson: true })
    const target = join(dir, 'link-target.txt')
    writeFileSync(target, 'old')
    const link = join(dir, 'link.txt')
    symlinkSync(target, link)
    assert.equal(await jqFile('select(.i < 3) | .i', input, { ndjson: true, outputPath: link }), 3)
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link')
    assert.equal(readFileSync(target, 'utf8'), expected)

    const fifo = join(dir, 'out.fifo')
    execFileSync('mkfifo', [fifo])
    await assert.rejects(jqFile('.i', input, { ndjson: true, outputPath: fifo }), { code: 'ENXIO' }, 'no reader: ENXIO, not a blocked pool thread')
    const reader = spawn('cat', [fifo])
    const chunks = []
    reader.stdout.on('data', (c) => chunks.push(c))
    const exited = new Promise((resolve) => reader.on('close', resolve))
    // `cat` opens the FIFO once it runs: retry ENXIO until it does.
    for (let tries = 0; ; tries++) {
      try {
        assert.equal(await jqFile('select(.i < 3) | .i', input, { ndjson: true, outputPath: fifo }), 3)
        break
      } catch (e) {
        if (e.code !== 'ENXIO' || tries > 200) throw e
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
    await exited
    assert.equal(Buffer.concat(chunks).toString(), expected)
    assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO')

    if (process.getuid?.() === 0) {
      // A null device of the test's own (as root), so that a regression replaces this one, not /dev/null.
      const device = join(dir, 'null')
      execFileSync('mknod', [device, 'c', '1', '3'])
      assert.equal(await jqFile('.i', input, { ndjson: true, outputPath: device }), lines.length)
      assert.ok(lstatSync(device).isCharacterDevice(), 'the device is still a device')
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.offloop-')), [], 'no temporary files')
  })

  test('a new file gets the mode fs.writeFile gives under the umask; a replaced file keeps its mode', { skip: process.platform === 'win32' && 'POSIX modes' }, async () => {
    const modeOf = (path) => statSync(path).mode & 0o7777
    const previous = process.umask(0o027)
    try {
      const reference = join(dir, 'reference.txt')
      writeFileSync(reference, 'x')
      const created = join(dir, 'created.json')
      await jqFile('.i', input, { ndjson: true, outputPath: created })
      assert.equal(modeOf(created).toString(8), modeOf(reference).toString(8))
      for (const mode of [0o600, 0o755, 0o664]) {
        const replaced = join(dir, `replaced-${mode.toString(8)}.json`)
        writeFileSync(replaced, 'old')
        chmodSync(replaced, mode)
        await jqFile('.i', input, { ndjson: true, outputPath: replaced })
        assert.equal(modeOf(replaced).toString(8), mode.toString(8))
        assert.equal(readFileSync(replaced, 'utf8').split('\n').length, lines.length + 1)
      }
    } finally {
      process.umask(previous)
    }
  })

  test('file errors look like Node fs errors', async () => {
    const missing = join(dir, 'missing.json')
    await assert.rejects(jqFile('.', missing), (e) => {
      assert.equal(e.code, 'ENOENT')
      assert.equal(e.path, missing)
      assert.equal(e.syscall, 'open')
      return true
    })
    await expectCode(jqFile('.', input, { outputPath: join(dir, 'no', 'such', 'dir.json') }), 'ENOENT')
  })
})

describe('differential: jq 1.8.2', () => {
  const records = Array.from({ length: 300 }, (_, i) => ({ id: i, v: (i * 7919) % 101, tags: i % 3 ? ['a'] : [], deleted: i % 4 === 0 }))
  const ndjson = records.map((r) => JSON.stringify(r)).join('\n')
  const ndjsonPrograms = [
    'select(.v > 50) | {id, v}',
    '.tags[]?',
    '[.id, .v] | @csv',
    'if .v % 2 == 0 then .id else empty end',
    'select(.deleted | not) | .id',
    'select(.tags[0] | not) | .id',
  ]
  const asCase = ([program, name, extra]) => ({ program, name, input: inputText(name), vars: typeof extra === 'object' ? extra : undefined, reason: typeof extra === 'string' ? extra : undefined })
  const lists = {
    cases: cases.map(asCase),
    toFix: toFix.map(asCase),
    differences: differences.map(asCase),
    ndjson: ndjsonPrograms.map((program) => ({ program, input: ndjson })),
  }
  // Every program runs through jq 1.8.2 once, in one Python process.
  before(async () => {
    const all = Object.values(lists).flat()
    const results = await jqOracle(all)
    all.forEach((c, i) => (c.jq = results[i]))
    await inBatches(all, 8, async (c) => (c.offloop = await offloop(c.program, c.input, c.vars)))
  })
  const agrees = (c) => outcome(c.jq) === outcome(c.offloop)
  const show = (c) => `${c.program} [${c.name}]${c.reason ? ` (${c.reason})` : ''}\n  jq:      ${outcome(c.jq)}\n  offloop: ${outcome(c.offloop)}`

  test('hundreds of programs agree value for value, and error for error', () => {
    assert.ok(lists.cases.length >= 600, `${lists.cases.length} cases`)
    const failures = lists.cases.filter((c) => !agrees(c)).map(show)
    assert.deepEqual(failures, [], failures.join('\n'))
  })

  test('the known differences to fix (#17 phase 2) still differ', () => {
    const same = lists.toFix.filter(agrees).map(show)
    assert.deepEqual(same, [], 'these now agree with jq 1.8.2: move them to `cases`')
  })

  test('the documented differences still differ', () => {
    assert.ok(lists.differences.every((c) => c.reason))
    const same = lists.differences.filter(agrees).map(show)
    assert.deepEqual(same, [], 'these now agree with jq 1.8.2: move them to `cases` and out of the README')
  })

  test('runtime error messages and number texts (recorded, not compared yet: #17 phase 2)', (t) => {
    // Both fail: does the message read as jq's? Both agree: are the outputs written as jq writes them?
    const messages = lists.cases.filter((c) => c.jq.error === 'runtime' && c.offloop.error === 'runtime' && c.jq.message !== c.offloop.message)
    const texts = lists.cases.filter((c) => c.jq.values && c.offloop.values && c.jq.values.join('\n') !== c.offloop.values.join('\n'))
    t.diagnostic(`${messages.length} runtime error messages differ from jq 1.8.2's`)
    for (const c of messages) t.diagnostic(`${c.program} [${c.name}]: jq ${JSON.stringify(c.jq.message)}, offloop ${JSON.stringify(c.offloop.message)}`)
    t.diagnostic(`${texts.length} outputs equal as JSON values are written differently`)
    for (const c of texts) t.diagnostic(`${c.program} [${c.name}]: jq ${c.jq.values.join(' ')}, offloop ${c.offloop.values.join(' ')}`)
  })

  test('NDJSON and the single-document path agree with jq', async () => {
    for (const c of lists.ndjson) {
      const want = normalize(c.jq.values.map((text) => JSON.parse(text)))
      assert.deepEqual(normalize(await jqValues(c.program, c.input, { ndjson: true })), want, c.program)
      assert.deepEqual(normalize(await jqValues(c.program, c.input)), want, c.program)
    }
  })
})

describe('differential: jq 1.8.2 in other time zones', () => {
  // localtime, strflocaltime, strftime's %s and strptime's %s read the system's zone (TZ, as the C library does):
  // each zone runs in a child process of its own, against the oracle under the same TZ. The
  // instants cross daylight saving changes (a gap, an overlap), years beyond 9999 and before any
  // zone's history (local mean time), and zones with half-hour offsets and negative DST. (Not
  // here: the zone glibc's strftime prints for a year past C's int, whatever its timegm left.)
  const epochs = [0, -1.5, 1.5, 1700000000, 1710054000, 1730610000, 1730613600, 1719835200, 1704067200, -2e9, -1e12, 1e12, 253402300800, -62167219200, 67767976233316800]
  const walls = [[2024, 2, 10, 2, 30, 0, 0, 0], [2024, 10, 3, 1, 30, 0, 0, 0], [2024, 6, 1, 12, 0, 0, 0, 0], [2024, 0, 1, 12], [2024, 9, 6, 2, 15], [2024, 3, 7, 2, 15], [2024, 13, 40, 25, 70, 70], [], [2024], [2147485547, 11, 31, 23, 59, 59], [12000, 6, 1], [-12000, 6, 1]]
  const format = '%c|%s|%z|%Z|%-z|%_10z|%#Z|%j|%u|%V|%G'
  const programs = [
    `${JSON.stringify(epochs)} | map(try localtime catch .)`,
    `${JSON.stringify(epochs)} | map(try strflocaltime("${format}") catch .)`,
    `${JSON.stringify(epochs)} | map(try (localtime | mktime) catch .)`,
    `${JSON.stringify(walls)} | map(try strflocaltime("${format}") catch .)`,
    `${JSON.stringify(walls)} | map(try strftime("${format}") catch .)`,
    `${JSON.stringify(walls)} | map(try mktime catch .)`,
    '[nan, infinite, "x", [1, "a"], {}] | map(try localtime catch ., try strflocaltime("%c") catch .)',
    // strptime's %s is the local time (glibc's localtime_r), weekday and day of the year too.
    '["1425599621", "0", "1710054000", "1730613600", "253402300800"] | map(strptime("%s"), (strptime("%s") | mktime))',
    '[["0 2015", "%s %Y"], ["1425599621 Mar", "%s %b"], ["2015 1425599621", "%Y %s"]] | map(.[0] as $s | .[1] as $f | $s | strptime($f))',
  ]
  for (const zone of ['America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Europe/Dublin', 'UTC']) {
    test(zone, async () => {
      const want = await jqOracle(programs.map((program) => ({ program, input: 'null' })), { TZ: zone })
      const child = await runChild(
        `import { createRequire } from 'node:module';
        const { jq } = createRequire(import.meta.url)(${JSON.stringify(join(here, '..', 'index.js'))});
        const got = [];
        for (const program of JSON.parse(process.env.PROGRAMS)) got.push((await jq(program, 'null')).split('\\n').slice(0, -1));
        console.log(JSON.stringify(got));`,
        { env: { TZ: zone, PROGRAMS: JSON.stringify(programs) } },
      )
      const got = childJson(child)
      programs.forEach((program, i) => assert.equal(outcome({ values: got[i] }), outcome(want[i]), program))
    })
  }
})

describe('canonicalizeJson (RFC 8785)', () => {
  test('RFC 8785 examples', async () => {
    const input = `{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert.equal(await canonicalizeJson(input), expected)
    assert.equal(canonicalizeJsonSync(input), expected)
    // Appendix B: IEEE 754 doubles to ECMAScript strings.
    const numbers = [
      [0x0000000000000000n, '0'],
      [0x8000000000000000n, '0'],
      [0x0000000000000001n, '5e-324'],
      [0x8000000000000001n, '-5e-324'],
      [0x7fefffffffffffffn, '1.7976931348623157e+308'],
      [0xffefffffffffffffn, '-1.7976931348623157e+308'],
      [0x4340000000000000n, '9007199254740992'],
      [0xc340000000000000n, '-9007199254740992'],
      [0x4430000000000000n, '295147905179352830000'],
      [0x44b52d02c7e14af5n, '9.999999999999997e+22'],
      [0x44b52d02c7e14af6n, '1e+23'],
      [0x44b52d02c7e14af7n, '1.0000000000000001e+23'],
      [0x444b1ae4d6e2ef4en, '999999999999999700000'],
      [0x444b1ae4d6e2ef4fn, '999999999999999900000'],
      [0x444b1ae4d6e2ef50n, '1e+21'],
      [0x3eb0c6f7a0b5ed8cn, '9.999999999999997e-7'],
      [0x3eb0c6f7a0b5ed8dn, '0.000001'],
      [0x41b3de4355555553n, '333333333.3333332'],
      [0x41b3de4355555554n, '333333333.33333325'],
      [0x41b3de4355555555n, '333333333.3333333'],
      [0x41b3de4355555556n, '333333333.3333334'],
      [0x41b3de4355555557n, '333333333.33333343'],
      [0xbecbf647612f3696n, '-0.0000033333333333333333'],
      [0x43143ff3c1cb0959n, '1424953923781206.2'],
    ]
    const view = new DataView(new ArrayBuffer(8))
    for (const [bits, text] of numbers) {
      view.setBigUint64(0, bits)
      const value = view.getFloat64(0)
      assert.equal(await canonicalizeJson(`[${JSON.stringify(value)}]`), `[${text}]`, text)
      assert.equal(await canonicalizeJson(`[${value.toPrecision(17)}]`), `[${text}]`, `${text} from 17 digits`)
    }
  })

  test("the reference implementation's test data", async () => {
    const dir = join(here, 'fixtures', 'jcs')
    const names = readdirSync(join(dir, 'input'))
    assert.ok(names.length >= 6)
    for (const name of names) {
      const input = readFileSync(join(dir, 'input', name))
      const expected = readFileSync(join(dir, 'output', name), 'utf8')
      assert.equal(await canonicalizeJson(input), expected, name)
      assert.equal(canonicalizeJsonSync(input.toString('utf8')), expected, name)
    }
  })

  test('agrees with the canonicalize package on random JSON', async () => {
    let seed = 12345
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648)
    const pick = (list) => list[Math.floor(random() * list.length)]
    const chars = ['a', 'B', 'z', '0', ' ', 'é', 'ö', '€', '\u0080', '\u001f', '\n', '"', '\\', '😀', '\ufb33', '\ue000', 'ß', '\u2028']
    const string = () => Array.from({ length: Math.floor(random() * 6) }, () => pick(chars)).join('')
    const number = () =>
      pick([
        () => Math.floor(random() * 1000) - 500,
        () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20),
        () => (random() - 0.5) * 10 ** Math.floor(random() * 600 - 300),
        () => Number.MAX_SAFE_INTEGER + Math.floor(random() * 1000),
        () => -0,
        () => random() / 3,
      ])()
    const value = (depth) => {
      const kind = depth > 4 ? Math.floor(random() * 4) : Math.floor(random() * 6)
      if (kind === 0) return pick([null, true, false])
      if (kind === 1) return number()
      if (kind === 2 || kind === 3) return string()
      if (kind === 4) return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [string(), value(depth + 1)]))
    }
    for (let i = 0; i < 500; i++) {
      const v = value(0)
      const text = JSON.stringify(v, null, i % 2 ? 2 : undefined)
      assert.equal(await canonicalizeJson(text), canonicalize(JSON.parse(text)), text)
    }
  })

  test('refuses what is not I-JSON', async () => {
    await expectCode(canonicalizeJson('{"a": 1, "a": 2}'), 'ERR_JSON_PARSE')
    await expectCode(canonicalizeJson('1e400'), 'ERR_JSON_PARSE')
    await expectCode(canonicalizeJson('[1] [2]'), 'ERR_JSON_PARSE')
    await expectCode(canonicalizeJson(''), 'ERR_JSON_PARSE')
    await assert.rejects(canonicalizeJson('{\n"a": tru}'), (e) => e.line === 2 && e.column > 1)
    assert.throws(() => canonicalizeJsonSync('{'), (e) => e.code === 'ERR_JSON_PARSE')
    assert.equal(await canonicalizeJson(' "x" '), '"x"')
  })
})
