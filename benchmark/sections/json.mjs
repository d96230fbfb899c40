// JSON: an NDJSON filter-and-project over 300k log records (about 70 MB) and one large JSON
// document, offloop's jq against a plain JS loop (JSON.parse + filter + JSON.stringify), jsonata and
// node-jq (the jq binary); and RFC 8785 canonical JSON against the canonicalize package. Every row of
// a group turns the same bytes into the same output.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const offloop = require('../../index.js');
const jsonata = require('jsonata');
const { Piscina } = require('piscina');

const here = dirname(fileURLToPath(import.meta.url));
const MB = 1e6;

// Deterministic synthetic log records (mulberry32), about 230 bytes each.
export function records(count, seed = 42) {
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (xs) => xs[Math.floor(random() * xs.length)];
  const statuses = [200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 500, 503];
  const out = [];
  for (let id = 0; id < count; id++) {
    const user = Math.floor(random() * 10000);
    out.push({
      id,
      ts: new Date(1715000000000 + id * 1000 + Math.floor(random() * 1000)).toISOString(),
      level: pick(['debug', 'info', 'info', 'warn', 'error']),
      user: { id: user, name: `user${user}` },
      method: pick(['GET', 'GET', 'POST', 'PUT', 'DELETE']),
      path: `/api/v1/${pick(['items', 'orders', 'users', 'carts'])}/${Math.floor(random() * 100000)}`,
      status: pick(statuses),
      latency_ms: Math.round(random() * 100000) / 100,
      bytes: Math.floor(random() * 50000),
      tags: random() < 0.5 ? ['alpha', 'beta'] : ['gamma'],
    });
  }
  return out;
}

// The same work in each language.
export const FILTER = 'select(.status >= 500 or .latency_ms > 900) | {id, path, user: .user.name, latency_ms}';
const DOCUMENT_FILTER = `.records[] | ${FILTER}`;
const JSONATA = '$[status >= 500 or latency_ms > 900].{"id": id, "path": path, "user": user.name, "latency_ms": latency_ms}';
const keep = (r) => r.status >= 500 || r.latency_ms > 900;
const project = (r) => JSON.stringify({ id: r.id, path: r.path, user: r.user.name, latency_ms: r.latency_ms });
const lines = (outputs) => (outputs.length ? outputs.join('\n') + '\n' : '');

/** `text` cut into about `n` pieces at line ends. */
function splitLines(text, n) {
  const pieces = [];
  let start = 0;
  for (let i = 1; i <= n && start < text.length; i++) {
    let end = i === n ? text.length : text.indexOf('\n', Math.floor((text.length * i) / n));
    end = end === -1 ? text.length : end + 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

// node-jq downloads a jq binary in its install script, so it is not a dependency of the package: it
// is installed here, into benchmark/node-jq, without that script, and runs the system's jq.
function loadNodeJq() {
  const jqPath = process.env.JQ_PATH ?? tryExec('sh', ['-c', 'command -v jq']);
  if (!jqPath) return { reason: 'no jq binary on PATH' };
  process.env.JQ_PATH = jqPath;
  const dir = join(here, '..', 'node-jq');
  if (!existsSync(join(dir, 'node_modules', 'node-jq'))) {
    const installed = tryExec('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', dir], {
      env: { ...process.env, NODE_JQ_SKIP_INSTALL_BINARY: 'true' },
      timeout: 120000,
    });
    if (installed === undefined) return { reason: 'npm install of node-jq into benchmark/node-jq failed' };
  }
  return { nodeJq: createRequire(join(dir, 'package.json'))('node-jq'), jqPath };
}

function tryExec(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...options }).trim();
  } catch {
    return undefined;
  }
}

export default async function jsonSection(bench) {
  const count = bench.quick ? 21000 : 300000;
  const text = records(count)
    .map((r) => JSON.stringify(r))
    .join('\n');
  const buffer = Buffer.from(text);
  const size = `${(buffer.length / MB).toFixed(0)} MB`;
  const program = offloop.compileJq(FILTER);
  const expected = await offloop.jq(FILTER, buffer, { ndjson: true });
  const { nodeJq, jqPath, reason } = loadNodeJq();
  bench.note(
    `Input: ${count.toLocaleString('en-US')} synthetic log records, ${size} of NDJSON; the filter keeps about 20% of them and projects four fields: \`${FILTER}\`. ` +
      'offloop reads each line with its own JSON reader, building only the fields the filter reads (the rest is validated and skipped), runs this filter on its small evaluator over borrowed values (jaq runs what it cannot), and spreads the lines over its pool in chunks; a Buffer is copied in 1 MiB slices between turns of the loop (into huge pages where Linux grants them) so the caller may reuse it once the promise settles, a string is copied (UTF-8) on the JS thread first. ' +
      'The JS loop, jsonata and canonicalize run on the JS thread. ' +
      (nodeJq ? `node-jq spawns the jq binary (${jqPath}) per call and pipes the text through it.` : `node-jq skipped: ${reason}.`),
  );

  const check = (impl, output) => {
    if (output !== expected) throw new Error(`${impl}: output differs from offloop's`);
  };
  const ndjsonGroup = `NDJSON filter-and-project, ${size}`;
  const ndjsonRows = [
    ['offloop jq() (Buffer)', () => offloop.jq(FILTER, buffer, { ndjson: true })],
    ['offloop JqProgram.run() (Buffer)', () => program.run(buffer, { ndjson: true })],
    ['offloop jq() (string, copied on the JS thread)', () => offloop.jq(FILTER, text, { ndjson: true })],
    [
      'JS loop: split + JSON.parse + filter + JSON.stringify (JS thread)',
      () => {
        const out = [];
        for (const line of text.split('\n')) {
          if (!line) continue;
          const r = JSON.parse(line);
          if (keep(r)) out.push(project(r));
        }
        return lines(out);
      },
    ],
    [
      'jsonata (JS thread, JSON.parse per line)',
      async () => {
        const parsed = text.split('\n').map((line) => JSON.parse(line));
        const result = await jsonata(JSONATA).evaluate(parsed);
        return lines((Array.isArray(result) ? result : result ? [result] : []).map((r) => JSON.stringify(r)));
      },
      { minOps: 1 },
    ],
  ];
  // The worker-pool answer: the same JS loop on piscina's threads, one slice of lines per thread
  // (the text is copied to each worker and the outputs copied back).
  const pool = new Piscina({ filename: join(here, '..', 'workers', 'ndjson-filter.mjs'), maxThreads: availableParallelism() });
  const slices = splitLines(text, availableParallelism());
  ndjsonRows.push([
    'piscina: the JS loop on worker threads',
    async () => (await Promise.all(slices.map((slice) => pool.run({ text: slice })))).join(''),
  ]);
  if (nodeJq) {
    ndjsonRows.push([
      'node-jq (spawns jq 1.6)',
      () => nodeJq.run(FILTER, text, { input: 'string', output: 'compact' }).then((out) => (out ? out + '\n' : '')),
      { minOps: 1 },
    ]);
  }
  for (const [impl, op, extra = {}] of ndjsonRows) {
    check(impl, await op());
    await bench.run({ group: ndjsonGroup, task: 'jq ndjson', impl, params: `${size}, ${count} records`, bytesPerOp: buffer.length, op, ...extra });
  }
  await pool.destroy();

  // One large document: the same records in one array (about 50 MB).
  const docCount = bench.quick ? 15000 : 215000;
  const docText = JSON.stringify({ records: records(docCount, 7) });
  const docBuffer = Buffer.from(docText);
  const docSize = `${(docBuffer.length / MB).toFixed(0)} MB`;
  const docExpected = await offloop.jq(DOCUMENT_FILTER, docBuffer);
  const docRows = [
    ['offloop jq() (Buffer)', () => offloop.jq(DOCUMENT_FILTER, docBuffer)],
    [
      'JS: JSON.parse + filter + JSON.stringify (JS thread)',
      () => lines(JSON.parse(docText).records.filter(keep).map(project)),
    ],
    [
      'jsonata (JS thread, after JSON.parse)',
      async () => {
        const result = await jsonata(JSONATA).evaluate(JSON.parse(docText).records);
        return lines((Array.isArray(result) ? result : result ? [result] : []).map((r) => JSON.stringify(r)));
      },
      { minOps: 1 },
    ],
  ];
  if (nodeJq) {
    docRows.push([
      'node-jq (spawns jq 1.6)',
      () => nodeJq.run(DOCUMENT_FILTER, docText, { input: 'string', output: 'compact' }).then((out) => (out ? out + '\n' : '')),
      { minOps: 1 },
    ]);
  }
  const docGroup = `one ${docSize} JSON document, filter-and-project`;
  for (const [impl, op, extra = {}] of docRows) {
    if ((await op()) !== docExpected) throw new Error(`${impl}: output differs from offloop's`);
    await bench.run({ group: docGroup, task: 'jq document', impl, params: `${docSize}, ${docCount} records`, bytesPerOp: docBuffer.length, op, ...extra });
  }

  // RFC 8785 canonical JSON of a 1 MB document (a signed payload, an ETag source).
  const canonicalText = JSON.stringify(records(bench.quick ? 1000 : 4500, 3));
  const canonicalSize = `${(canonicalText.length / MB).toFixed(1)} MB`;
  const canonicalize = (await import('canonicalize')).default;
  const canonicalExpected = canonicalize(JSON.parse(canonicalText));
  const canonicalGroup = `RFC 8785 canonical JSON, ${canonicalSize}`;
  for (const [impl, op] of [
    ['offloop canonicalizeJson()', () => offloop.canonicalizeJson(canonicalText)],
    ['offloop canonicalizeJsonSync() (JS thread)', () => offloop.canonicalizeJsonSync(canonicalText)],
    ['canonicalize(JSON.parse(text)) (JS thread)', () => canonicalize(JSON.parse(canonicalText))],
  ]) {
    if ((await op()) !== canonicalExpected) throw new Error(`${impl}: output differs from canonicalize's`);
    await bench.run({ group: canonicalGroup, task: 'canonical json', impl, params: canonicalSize, bytesPerOp: canonicalText.length, op });
  }
}
