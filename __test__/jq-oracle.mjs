// The reference for offloop's jq: jq 1.8.2, through PyPI's `jq` module in a virtual environment
// (`jq-oracle.py`). Set it up once with
//   python3 -m venv .jq-oracle && .jq-oracle/bin/pip install jq==1.13.0
// (.ci/run does), or point JQ_ORACLE_PYTHON at a Python that has jq==1.13.0.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { root } from './helpers.mjs'

/** A JSON value to compare with another: object keys as a set, -0 as 0 (JSON values, not texts). */
export const normalize = (value) =>
  Array.isArray(value)
    ? value.map(normalize)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, normalize(value[k])]),
        )
      : Object.is(value, -0)
        ? 0
        : value

/** What the differential tests compare: the values as JSON values, or the kind of error. */
export const outcome = (r) => (r.error ? `error (${r.error})` : JSON.stringify(normalize(r.values.map((text) => JSON.parse(text)))))

export const oraclePython = process.env.JQ_ORACLE_PYTHON || join(root, '.jq-oracle', 'bin', 'python')

/**
 * Runs `cases` ({ program, input: JSON text, vars? }) through jq 1.8.2 in one Python process.
 * Resolves with, for each: { values: [JSON text] }, { error: 'compile', message },
 * { error: 'runtime', message, values } (the outputs before it) or { error: 'input', message }.
 * A runtime error's message is what `try … catch .` sees: the string, or the JSON of another value.
 * Throws if the oracle is not installed: the differential tests must not pass without it.
 * `env`: variables to set for jq (`TZ`).
 */
export function jqOracle(cases, env = {}) {
  if (!existsSync(oraclePython)) {
    throw new Error(
      `the jq 1.8.2 oracle is missing (${oraclePython}): run\n` +
        '  python3 -m venv .jq-oracle && .jq-oracle/bin/pip install jq==1.13.0\n' +
        'in the repository, or set JQ_ORACLE_PYTHON to a Python with jq==1.13.0',
    )
  }
  return new Promise((resolve, reject) => {
    const options = { maxBuffer: 1 << 30, env: { ...process.env, ...env } }
    const child = execFile(oraclePython, [join(root, '__test__', 'jq-oracle.py')], options, (error, stdout, stderr) => {
      if (error) return reject(new Error(`jq oracle failed: ${error.message}\n${stderr}`))
      resolve(
        JSON.parse(stdout).map((r) => {
          if ('compile' in r) return { error: 'compile', message: r.compile }
          if ('input' in r) return { error: 'input', message: r.input }
          if ('error' in r) {
            const value = JSON.parse(r.error)
            return { error: 'runtime', message: typeof value === 'string' ? value : r.error, values: r.values }
          }
          return { values: r.values }
        }),
      )
    })
    child.stdin.end(JSON.stringify(cases.map(({ program, input, vars }) => ({ program, input, vars }))))
  })
}
