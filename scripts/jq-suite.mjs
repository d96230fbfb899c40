#!/usr/bin/env node
// Runs jq's own test suite (jqlang/jq `tests/*.test`) through offloop's `jq()` and counts what
// passes, per file and per kind of failure. The suite is not part of offloop: take it from a jq
// checkout, e.g.
//   git -C <jq repo> archive jq-1.8.2 tests | tar -x -C /tmp/jq-1.8.2
//   node scripts/jq-suite.mjs /tmp/jq-1.8.2/tests [--list] [--json failures.json] [--oracle]
// Arguments are `.test` files or directories of them. `--list` prints every failing case,
// `--json` writes them to a file, `--oracle` also runs the suite through jq 1.8.2 (the oracle of
// offloop's tests, __test__/jq-oracle.mjs): that checks this runner (the oracle should pass every
// case it can run) and tells which extra outputs of offloop are values where jq errors.
//
// The file format, as jq's own runner (src/jq_test.c) reads it: blank lines and lines starting
// with `#` separate cases. A case is a program line, an input line, then one line per expected
// output, compared in order with jq's equality (objects regardless of key order; numbers as
// doubles, or as decimals when written with more digits than a double holds). A case passes if
// every expected output came, and then the program ended, or failed (jq's runner stops at an
// error once the expected outputs are matched). `%%FAIL` before a program: it must not compile,
// and the lines after it are the start of jq's error message; `%%FAIL IGNORE MSG`: any message.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { createRequire } from 'node:module'

const { jq, compileJq } = createRequire(import.meta.url)('../index.js')

const CATEGORIES = {
  compile: 'does not compile (unsupported syntax or builtin)',
  design: 'not offered by design (modules, input, env, $ENV, input_filename)',
  value: 'wrong value',
  error: 'error where jq gives a value',
  noerror: 'value where jq errors (or compiles what jq refuses)',
  message: 'error message differs',
  input: "input offloop's reader refuses",
  hang: 'did not finish in 10 s',
}

/** Cases of a `.test` file: { file, line, program, fail, message, input, expected }. */
export function parseSuite(text, file) {
  const lines = text.split('\n')
  // jq_test.c reads with fgets: a last line without a newline is still a line.
  if (lines.at(-1) === '') lines.pop()
  const separator = (line) => /^[ \t]*(#|$)/.test(line)
  const cases = []
  let i = 0
  let fail = null
  while (i < lines.length) {
    const line = lines[i++]
    if (separator(line)) continue
    if (line === '%%FAIL' || line === '%%FAIL IGNORE MSG') {
      fail = line === '%%FAIL' ? 'message' : 'any'
      continue
    }
    const c = { file, line: i, program: line }
    if (fail) {
      c.fail = fail
      c.message = []
      while (i < lines.length && !separator(lines[i])) c.message.push(lines[i++])
      fail = null
    } else {
      // The input is the next line, whatever it holds.
      c.input = lines[i++] ?? ''
      c.expected = []
      while (i < lines.length && !separator(lines[i])) c.expected.push(lines[i++])
    }
    cases.push(c)
  }
  return cases
}

// JSON as jq's runner compares it: numbers keep their text, objects are maps. jq's parser also
// takes nan, NaN and Infinity (some inputs and outputs of the suite use them).
export function parseJson(text) {
  let i = 0
  const fail = () => {
    throw new SyntaxError(`invalid JSON at ${i}: ${text}`)
  }
  const ws = () => {
    while (i < text.length && ' \t\r\n\ufeff'.includes(text[i])) i++
  }
  const value = () => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const map = new Map()
      ws()
      if (text[i] === '}') return i++, map
      for (;;) {
        ws()
        const key = value()
        if (typeof key !== 'string') fail()
        ws()
        if (text[i++] !== ':') fail()
        map.set(key, value())
        ws()
        if (text[i] === ',') i++
        else if (text[i++] === '}') return map
        else fail()
      }
    }
    if (c === '[') {
      i++
      const items = []
      ws()
      if (text[i] === ']') return i++, items
      for (;;) {
        items.push(value())
        ws()
        if (text[i] === ',') i++
        else if (text[i++] === ']') return items
        else fail()
      }
    }
    if (c === '"') {
      const start = i++
      while (text[i] !== '"') {
        if (i >= text.length) fail()
        i += text[i] === '\\' ? 2 : 1
      }
      return JSON.parse(text.slice(start, ++i))
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['nan', { number: NaN, text: 'nan' }],
      ['NaN', { number: NaN, text: 'nan' }],
      ['-NaN', { number: NaN, text: 'nan' }],
      ['Infinity', { number: Infinity, text: 'Infinity' }],
      ['-Infinity', { number: -Infinity, text: '-Infinity' }],
    ]) {
      if (text.startsWith(word, i)) return (i += word.length), v
    }
    const m = /^-?\d+(\.\d*)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!m) fail()
    i += m[0].length
    return { number: Number(m[0]), text: m[0] }
  }
  const v = value()
  ws()
  if (i !== text.length) fail()
  return v
}

/** A number's exact decimal value: [sign, digits without leading or trailing zeros, exponent]. */
function decimal(text) {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (!m) return null
  let digits = m[2] + (m[3] ?? '')
  let exponent = Number(m[4] ?? 0) - (m[3] ?? '').length
  digits = digits.replace(/^0+/, '')
  const trimmed = digits.replace(/0+$/, '')
  exponent += digits.length - trimmed.length
  return trimmed ? `${m[1]}${trimmed}e${exponent}` : '0'
}

const significantDigits = (text) => (decimal(text) ?? '').replace(/^-/, '').split('e')[0].length

/** jq's jv_equal between an expected value and an actual one (both from `parseJson`). */
export function jqEqual(want, got) {
  if (want === null || typeof want !== 'object' || want instanceof Map !== got instanceof Map) return want === got
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, k) => jqEqual(w, got[k]))
  if (want instanceof Map) {
    return want.size === got.size && [...want].every(([k, w]) => got.has(k) && jqEqual(w, got.get(k)))
  }
  if (!got || typeof got !== 'object' || !('number' in got)) return false
  // Written with more digits than a double holds: jq compares the decimal literals.
  if (significantDigits(want.text) > 17) return decimal(want.text) === decimal(got.text)
  return want.number === got.number
}

/** Whether two values are equal once every string is taken as equal (they differ in messages). */
function sameButStrings(want, got) {
  if (typeof want === 'string') return typeof got === 'string'
  if (Array.isArray(want)) return Array.isArray(got) && want.length === got.length && want.every((w, k) => sameButStrings(w, got[k]))
  if (want instanceof Map) {
    return got instanceof Map && want.size === got.size && [...want].every(([k, w]) => got.has(k) && sameButStrings(w, got.get(k)))
  }
  return jqEqual(want, got)
}

const BY_DESIGN = /modules cannot be imported|undefined filter (input|inputs|env|input_filename|get_search_list|modulemeta|input_line_number|get_prog_origin|get_jq_origin)\/|undefined variable \$(ENV|__prog_args)\b/

async function outputs(program, input) {
  const text = await jq(program, input, { signal: AbortSignal.timeout(10_000), maxOutputBytes: 64 << 20 })
  return text.split('\n').slice(0, -1)
}

/** Runs one case through offloop: { pass } or { category, detail }. */
export async function runCase(c) {
  if (c.fail) {
    try {
      compileJq(c.program)
      return { category: 'noerror', detail: 'compiles; jq refuses it' }
    } catch (e) {
      if (e.code !== 'ERR_JQ_COMPILE') throw e
      if (c.fail === 'message' && !e.message.startsWith(c.message.join('\n'))) {
        return { category: 'message', wording: true, detail: `offloop: ${e.message}\njq:      ${c.message.join('\n')}` }
      }
      return { pass: true }
    }
  }
  let actual
  let error = null
  try {
    actual = await outputs(c.program, c.input)
  } catch (e) {
    if (e.name === 'AbortError') return { category: 'hang', detail: 'timed out' }
    if (e.code === 'ERR_JQ_COMPILE') return { category: BY_DESIGN.test(e.message) ? 'design' : 'compile', detail: e.message }
    if (e.code === 'ERR_JSON_PARSE') return { category: 'input', detail: e.message }
    if (e.code !== 'ERR_JQ_RUNTIME') return { category: 'error', detail: `${e.code}: ${e.message}` }
    error = e.message
    // offloop returns nothing of a run that fails: the outputs before the error, as jq's runner
    // sees them, come from the program inside `try`.
    try {
      actual = (await outputs(`try ((${c.program}\n) | [.]) catch "\\u0000"`, c.input)).filter((t) => t !== '"\\u0000"')
      actual = actual.map((t) => JSON.stringify(JSON.parse(t)[0]))
    } catch {
      actual = []
    }
  }
  // Outputs nested too deep for this recursive parser (jq's tests of its depth limits) are only
  // compared with a string jq expects: JSON.parse does.
  const got = actual.map((t) => {
    try {
      return parseJson(t)
    } catch (e) {
      if (e instanceof RangeError) return JSON.parse(t)
      throw e
    }
  })
  const want = c.expected.map(parseJson)
  for (const [k, w] of want.entries()) {
    if (k >= got.length) {
      const detail = `expected ${c.expected.slice(k).join(' ')}; got ${error ? `error: ${error}` : 'no more outputs'}`
      return { category: error ? 'error' : 'value', detail }
    }
    if (!jqEqual(w, got[k])) return { ...(await caught(c, w, got[k])), detail: `expected ${c.expected[k]}, got ${actual[k]}` }
  }
  if (got.length > want.length) {
    return { category: 'value', detail: `extra output ${actual[want.length]}`, extra: true }
  }
  return { pass: true }
}

/**
 * A program that catches errors gave a different value. A string where jq has another value is
 * taken for a caught error (and the reverse). Else: with its handlers rethrowing instead
 * (`try f catch error(.) | g`: the rest of the handler no longer runs), does it fail? If only in
 * offloop, offloop erred where jq did not; if in both, the messages differ (decided in `main`,
 * with the oracle if it runs; without it, jq is taken to fail as offloop does).
 */
async function caught(c, want, got) {
  if (!/\bcatch\b/.test(c.program)) return { category: 'value' }
  // A message where jq has a value, or the reverse.
  if (typeof want !== 'string' && typeof got === 'string') return { category: 'error' }
  if (typeof want === 'string' && typeof got !== 'string') return { category: 'noerror' }
  const rethrowing = c.program.replace(/\bcatch\b/g, 'catch error(.) |')
  try {
    await outputs(rethrowing, c.input)
    return { category: 'value', rethrowing, offloopFails: false }
  } catch (e) {
    return { category: e.code === 'ERR_JQ_RUNTIME' ? 'message' : 'value', rethrowing, offloopFails: e.code === 'ERR_JQ_RUNTIME' }
  }
}

function suiteFiles(paths) {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.test'))
          .sort()
          .map((f) => join(p, f))
      : [p],
  )
}

async function main() {
  const args = process.argv.slice(2)
  const flag = (name) => {
    const k = args.indexOf(name)
    return k >= 0 && args.splice(k, 1).length > 0
  }
  const option = (name) => {
    const k = args.indexOf(name)
    return k >= 0 ? args.splice(k, 2)[1] : undefined
  }
  const list = flag('--list')
  const useOracle = flag('--oracle')
  const jsonOut = option('--json')
  if (args.length === 0) {
    console.error('usage: node scripts/jq-suite.mjs <tests dir or .test files> [--list] [--json file] [--oracle]')
    process.exit(2)
  }
  const cases = suiteFiles(args).flatMap((f) => parseSuite(readFileSync(f, 'utf8'), basename(f)))
  const results = []
  for (const c of cases) results.push({ ...c, ...(await runCase(c)) })

  if (useOracle) {
    const { jqOracle } = await import('../__test__/jq-oracle.mjs')
    const runnable = results.filter((r) => !r.fail)
    const rethrown = results.filter((r) => r.rethrowing)
    const oracle = await jqOracle([
      ...runnable.map((r) => ({ program: r.program, input: r.input })),
      ...rethrown.map((r) => ({ program: r.rethrowing, input: r.input })),
    ])
    let agree = 0
    const disagree = []
    for (const [k, r] of runnable.entries()) {
      const o = oracle[k]
      const got = o.values?.map(parseJson) ?? []
      const want = r.expected.map(parseJson)
      // Outputs as expected, then the end or an error (jq's runner stops there).
      const ok = o.values && got.length === want.length && want.every((w, j) => jqEqual(w, got[j]))
      if (ok) agree++
      else disagree.push(`${r.file}:${r.line}: ${r.program}\n  oracle: ${JSON.stringify(o)}`)
      // An extra output of offloop where jq fails after the expected outputs: a value where jq errors.
      if (r.extra && o.error === 'runtime') r.category = 'noerror'
    }
    console.log(`oracle (jq 1.8.2 via jq.py): ${agree} of ${runnable.length} runnable cases as the suite expects`)
    for (const d of disagree) console.log(`  ${d}`)
    for (const [k, r] of rethrown.entries()) {
      const fails = oracle[runnable.length + k].error === 'runtime'
      r.category = r.offloopFails ? (fails ? 'message' : 'error') : fails ? 'noerror' : 'value'
    }
  }

  const files = [...new Set(results.map((r) => r.file))]
  const count = (rs, pred) => rs.filter(pred).length
  const header = ['file', 'cases', 'pass', ...Object.keys(CATEGORIES)]
  const rows = [header]
  for (const f of [...files, 'total']) {
    const rs = f === 'total' ? results : results.filter((r) => r.file === f)
    rows.push([f, rs.length, count(rs, (r) => r.pass), ...Object.keys(CATEGORIES).map((k) => count(rs, (r) => r.category === k))])
  }
  const widths = header.map((_, k) => Math.max(...rows.map((row) => String(row[k]).length)))
  for (const row of rows) console.log(row.map((v, k) => String(v).padStart(widths[k])).join('  '))
  const passed = count(results, (r) => r.pass)
  const percent = (n) => `${((100 * n) / results.length).toFixed(1)}%`
  const wording = count(results, (r) => r.wording)
  console.log(`\n${passed} of ${results.length} cases pass (${percent(passed)})`)
  console.log(`${passed + wording} (${percent(passed + wording)}) if the wording of compile errors (%%FAIL) is not compared`)
  for (const [k, text] of Object.entries(CATEGORIES)) console.log(`  ${k}: ${text}`)
  const failures = results.filter((r) => !r.pass)
  if (list) {
    for (const r of failures) console.log(`\n[${r.category}] ${r.file}:${r.line}: ${r.program}\n  ${r.detail.replaceAll('\n', '\n  ')}`)
  }
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(failures, null, 1))
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) await main()
