// The reader builds only the parts of an input a program can read, and the fast evaluator runs
// the programs it can: neither may change a result or an error. Every program of the differential
// corpus, and programs from a generator, run both ways in the test-hooks build (`testJqRun`):
// pruned and fast, then on fully built values through jaq alone. The generated programs also run
// through jq 1.8.2.
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { cases, differences, toFix, inputText } from './jq-cases.mjs'
import { jqOracle, outcome } from './jq-oracle.mjs'
import { runChild, childJson, loadHooks } from './helpers.mjs'

// A small deterministic generator (mulberry32).
function generator(seed) {
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n) => Math.floor(random() * n)
  const pick = (list) => list[int(list.length)]
  return { random, int, pick }
}

const KEYS = ['a', 'b', 'c', 'deleted']

/** Random JSON values whose objects use a few keys, so that generated paths find something. */
function randomValue(g, depth = 0) {
  const kind = g.int(depth > 2 ? 5 : 8)
  if (kind === 0) return null
  if (kind === 1) return g.random() < 0.5
  if (kind === 2) return g.pick([0, 1, -1, 2.5, 7, 100, -0.5])
  if (kind === 3) return g.pick(['', 'a', 'b', 'A b', 'x,y'])
  if (kind === 4) return g.pick([0, 'a', null, false, true])
  if (kind === 5) return Array.from({ length: g.int(4) }, () => randomValue(g, depth + 1))
  return Object.fromEntries(KEYS.filter(() => g.random() < 0.6).map((k) => [k, randomValue(g, depth + 1)]))
}

/**
 * Random jq programs. `plain` ones stay within what the reader's analysis follows and the fast
 * evaluator runs (paths, select, not, comparisons, //, if, construction, interpolation), where
 * pruning shows; `rich` ones also use iteration, number indices, builtins, updates and
 * reductions. `comparable` ones are plain programs whose operators and object entries take
 * operands of one value each (a path or a literal): jq runs the right operand of `+` in the outer
 * loop and jaq the left, which shows as a different order, or as an error only one of them meets
 * when the other operand is empty (#17 phase 2, O-order).
 */
function randomProgram(g, profile, depth = 0) {
  const rich = profile === 'rich'
  const path = () => {
    let p = ''
    for (let n = 1 + g.int(3); n > 0; n--) {
      p += rich ? g.pick(['.a', '.b', '.c', '.deleted', '.x', '[0]', '[-1]', '[]', '[1:]', '["a"]']) : g.pick(['.a', '.b', '.c', '.deleted', '.x', '["a"]', '."b"'])
      if (g.random() < 0.15) p += '?'
    }
    return p.startsWith('.') ? p : `.${p}`
  }
  const literal = () => g.pick(['1', '0', '"a"', 'null', 'true', 'false', '2.5', '[]', '{}'])
  const sub = () => randomProgram(g, profile, depth + 1)
  // An operand: one value (or an error) in `comparable` programs.
  const operand = () => (profile === 'comparable' ? g.pick([path, literal, () => '.'])().replaceAll('?', '') : sub())
  const cond = () =>
    g.pick([
      () => `(${operand()} ${g.pick(['==', '!=', '<', '<=', '>', '>='])} ${literal()})`,
      () => `${sub()} | not`,
      () => `(${sub()}) ${g.pick(['and', 'or'])} (${sub()})`,
      () => path(),
      () => `${path()} | ${g.pick(['not', 'true', 'false', 'null', '1', '"s"'])}`,
    ])()
  if (depth > 2 || (depth > 0 && g.random() < 0.3)) {
    return g.pick([path, path, path, literal, () => '.', () => `${path()} | ${g.pick(['not', 'true', '1', 'empty', 'null'])}`])()
  }
  const forms = [
    path,
    () => `${path()} | ${g.pick(['not', 'true', 'false', '1', 'empty', '"s"', 'null'])}`,
    () => `${sub()} | ${sub()}`,
    () => `select(${cond()})`,
    () => `select(${cond()}) | ${sub()}`,
    cond,
    () => `${sub()} // ${sub()}`,
    () => `if ${cond()} then ${sub()} else ${sub()} end`,
    () => `if ${cond()} then ${sub()} end`,
    () => `{a: (${operand()}), b: ${path().replaceAll('?', '')}}`,
    () => `{${g.pick(KEYS)}, ${g.pick(KEYS)}}`,
    () => `{"k": (${sub()})}`,
    () => `[${sub()}, ${sub()}]`,
    () => `${sub()}, ${sub()}`,
    () => `"v=\\(${sub()})"`,
    () => `(${operand()} ${g.pick(['+', '-', '*', '/', '%'])} ${g.pick([literal, operand])()})`,
    () => `-${path()}`,
    () => `(${path()} as $v | ${sub()} | [., $v])`,
  ]
  const richForms = [
    () => `try ${sub()}`,
    () => `try ${sub()} catch "E"`,
    () => `(${sub()})?`,
    () => `${sub()} | ${g.pick(['length', 'keys', 'type', 'tostring', 'add', 'tojson', 'sort', 'values', 'numbers', 'strings', 'objects', 'arrays', 'scalars', 'to_entries', 'any', 'all', 'first', 'reverse', 'floor', 'ascii_downcase', 'error'])}`,
    () => `{(${path()} | tostring): (${sub()})}`,
    () => `map(${sub()})`,
    () => `[.. | ${sub()}]`,
    () => `first(${sub()})`,
    () => `[limit(2; ${sub()})]`,
    () => `del(${path()})`,
    () => `getpath(["${g.pick(KEYS)}", "${g.pick(KEYS)}"])`,
    () => `reduce ${path()} as $x (0; . + 1)`,
    () => `${path()} |= ${g.pick(['1', 'not', '. + 1'])}`,
    () => `${sub()} | has("${g.pick(KEYS)}")`,
    () => `with_entries(select(${cond()}))`,
  ]
  return g.pick(rich ? [...forms, ...richForms] : forms)()
}

function generated(count, seed, profile) {
  const g = generator(seed)
  return Array.from({ length: count }, () => {
    const records = Array.from({ length: 3 }, () => randomValue(g))
    // Mostly objects: the records NDJSON carries, and what pruning works on.
    records[0] = Object.fromEntries(KEYS.map((k) => [k, randomValue(g, 1)]))
    return { program: randomProgram(g, profile), records, profile }
  })
}

/** Runs each job pruned and fast, then whole through jaq alone, in the test-hooks build. */
async function bothWays(jobs) {
  const dir = mkdtempSync(join(tmpdir(), 'offloop-pruning-'))
  try {
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs))
    const r = await runChild(
      `import { readFileSync, writeFileSync } from 'node:fs';
      ${loadHooks}
      const jobs = JSON.parse(readFileSync(process.env.JOBS, 'utf8'));
      const run = (j, optimized) => {
        try {
          return { out: h.testJqRun(j.program, j.input, j.vars ? JSON.stringify(j.vars) : null, j.ndjson, optimized, optimized) };
        } catch (e) {
          return { code: e.code, message: e.message };
        }
      };
      writeFileSync(process.env.RESULTS, JSON.stringify(jobs.map((j) => [run(j, true), run(j, false)])));
      console.log('{}');`,
      { env: { JOBS: join(dir, 'jobs.json'), RESULTS: join(dir, 'results.json') }, timeoutMs: 600_000 },
    )
    childJson(r)
    return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const show = (job, [optimized, whole]) =>
  `${job.program} on ${job.input}${job.ndjson ? ' (NDJSON)' : ''}\n  pruned, fast: ${JSON.stringify(optimized)}\n  whole, jaq:   ${JSON.stringify(whole)}`

describe('pruning and the fast evaluator change nothing', () => {
  test('every program of the differential corpus', async () => {
    const jobs = [...cases, ...toFix, ...differences].map(([program, name, extra]) => ({
      program,
      input: inputText(name),
      vars: typeof extra === 'object' ? extra : undefined,
      ndjson: false,
    }))
    const results = await bothWays(jobs)
    const differ = jobs.map((job, i) => (JSON.stringify(results[i][0]) === JSON.stringify(results[i][1]) ? null : show(job, results[i])))
    assert.deepEqual(differ.filter(Boolean), [])
  })

  const programs = [...generated(600, 1, 'plain'), ...generated(400, 2, 'rich'), ...generated(1000, 3, 'comparable')]
  const documents = programs.map(({ program, records, profile }) => ({ program, input: JSON.stringify(records[0]), ndjson: false, profile }))
  // NDJSON lines, one with a repeated key (jq keeps the last value).
  const lines = programs.map(({ program, records, profile }) => ({
    program,
    profile,
    input: [...records.map((r) => JSON.stringify(r)), '{"a":{"b":1},"b":[],"a":5,"deleted":0,"deleted":false}'].join('\n'),
    ndjson: true,
  }))
  let results
  let oracle
  before(async () => {
    ;[results, oracle] = await Promise.all([bothWays([...documents, ...lines]), jqOracle([...documents, ...lines])])
  })

  test('generated programs, on documents and on NDJSON', () => {
    const jobs = [...documents, ...lines]
    const differ = jobs.map((job, i) => (JSON.stringify(results[i][0]) === JSON.stringify(results[i][1]) ? null : show(job, results[i])))
    assert.deepEqual(differ.filter(Boolean), [])
  })

  test('generated programs agree with jq 1.8.2', () => {
    // The comparable ones: rich programs meet known differences (#17 phase 2: number indices of
    // objects, slices of null, updates through null), plain ones the order of operands.
    const jobs = [...documents, ...lines].map((job, i) => [job, i]).filter(([job]) => job.profile === 'comparable')
    const kinds = { ERR_JQ_COMPILE: 'compile', ERR_JQ_RUNTIME: 'runtime', ERR_JSON_PARSE: 'input' }
    const offloop = (r) => (r.code ? { error: kinds[r.code] } : { values: r.out.split('\n').slice(0, -1) })
    const differ = jobs
      .map(([job, i]) => [job, outcome(oracle[i]), outcome(offloop(results[i][0]))])
      .filter(([, jq, offloop]) => jq !== offloop)
      .map(([job, jq, offloop]) => `${job.program} on ${job.input}\n  jq:      ${jq}\n  offloop: ${offloop}`)
    assert.deepEqual(differ, [])
  })
})
