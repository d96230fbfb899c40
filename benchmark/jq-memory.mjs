// The measurement behind maxMemoryBytes's default (benchmark/jq-limits.md): the smallest budget
// each of the benchmark's large calls passes with, found by bisection (a call past its budget
// rejects with ERR_JQ_MEMORY_LIMIT), with the process's RSS around it.
//   node benchmark/jq-memory.mjs [records, default 300000] [name filter]
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { records, FILTER } from './sections/json.mjs';

const offloop = createRequire(import.meta.url)('../index.js');
const MiB = 2 ** 20;
const count = Number(process.argv[2] ?? 300000);
const only = process.argv[3];

const recs = records(count);
const ndText = recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const nd = Buffer.from(ndText);
// The document section's size: 215,000 of 300,000 records.
const doc = Buffer.from(JSON.stringify({ records: recs.slice(0, Math.round(count * 0.72)) }));
const dir = mkdtempSync(join(tmpdir(), 'offloop-memory-'));
const ndPath = join(dir, 'input.ndjson');
writeFileSync(ndPath, nd);
console.log(`NDJSON ${(nd.length / 1e6).toFixed(0)} MB, document ${(doc.length / 1e6).toFixed(0)} MB`);

const calls = {
  'NDJSON filter (Buffer)': (m) => offloop.jq(FILTER, nd, { ndjson: true, maxMemoryBytes: m }),
  'NDJSON filter (string)': (m) => offloop.jq(FILTER, ndText, { ndjson: true, maxMemoryBytes: m }),
  'NDJSON identity': (m) => offloop.jq('.', nd, { ndjson: true, maxMemoryBytes: m }),
  'document filter': (m) => offloop.jq(`.records[] | ${FILTER}`, doc, { maxMemoryBytes: m }),
  'document identity': (m) => offloop.jq('.', doc, { maxMemoryBytes: m }),
  'document group_by': (m) => offloop.jq('.records | group_by(.status) | map(length)', doc, { maxMemoryBytes: m }),
  'document sort_by': (m) => offloop.jq('.records | sort_by(.latency_ms) | map(.id)', doc, { maxMemoryBytes: m }),
  'jqValues document': (m) => offloop.jqValues(`[.records[] | ${FILTER}] | length`, doc, { maxMemoryBytes: m }),
  'jqFile NDJSON to outputPath': (m) =>
    offloop.jqFile(FILTER, ndPath, { ndjson: true, outputPath: join(dir, 'out.ndjson'), maxMemoryBytes: m }),
  'jqFile NDJSON identity': (m) => offloop.jqFile('.', ndPath, { ndjson: true, maxMemoryBytes: m }),
  'canonicalizeJson document': (m) => offloop.canonicalizeJson(doc, { maxMemoryBytes: m }),
};

for (const [name, call] of Object.entries(calls)) {
  if (only && !name.includes(only)) continue;
  const before = process.memoryUsage().rss;
  let low = MiB;
  let high = 16 * 2 ** 30;
  await call(high);
  while (high - low > MiB) {
    const mid = Math.floor((low + high) / 2);
    try {
      await call(mid);
      high = mid;
    } catch (e) {
      if (e.code !== 'ERR_JQ_MEMORY_LIMIT') throw e;
      low = mid;
    }
  }
  const rss = (bytes) => (bytes / MiB).toFixed(0);
  console.log(`${name.padEnd(30)} needs ${rss(high).padStart(5)} MiB  (RSS ${rss(before)} -> ${rss(process.memoryUsage().rss)} MiB)`);
}
rmSync(dir, { recursive: true });
