#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only <section>]`: offloop against its peers, side by side in one
// run, with the event loop's delay for every row. Writes benchmark/results/latest.{json,md,svg}.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Bench } from './lib/harness.mjs';
import { markdown, svg } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const SECTIONS = ['password', 'hashing', 'json', 'kernels', 'compression', 'runtime', 'server'];

function parseArgs(argv) {
  const args = { quick: false, only: null, out: join(here, 'results') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--only') args.only = argv[++i];
    else if (a.startsWith('--only=')) args.only = a.slice(7);
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench -- [--quick] [--only ${SECTIONS.join('|')}] [--out dir]`);
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}; see --help`);
      process.exit(2);
    }
  }
  if (args.only && !SECTIONS.includes(args.only)) {
    console.error(`--only takes one of ${SECTIONS.join(', ')}`);
    process.exit(2);
  }
  return args;
}

function versionOf(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return undefined;
  }
}

const args = parseArgs(process.argv.slice(2));
const bench = new Bench({ quick: args.quick });
const sections = SECTIONS.filter((s) => (args.only ? s === args.only : true)).filter((s) =>
  existsSync(join(here, 'sections', `${s}.mjs`)),
);
const started = Date.now();
// The machine may be shared: its load average at the start and end goes into the report.
const loadAtStart = os.loadavg()[0];
for (const section of sections) {
  bench.section = section;
  console.log(`[${section}]`);
  const { default: run } = await import(join(here, 'sections', `${section}.mjs`));
  await run(bench);
}

const peers = [
  'argon2', '@node-rs/argon2', 'hash-wasm', 'bcryptjs', '@noble/hashes', 'jsonata', 'canonicalize',
  'hnswlib-node', 'usearch', 'piscina', 'fastify', 'express', 'autocannon', 'compression', '@fastify/compress',
];
const result = {
  date: new Date().toISOString(),
  quick: args.quick,
  durationSec: Math.round((Date.now() - started) / 1000),
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    loadAverage: { start: loadAtStart, end: os.loadavg()[0] },
  },
  versions: Object.fromEntries(
    [['offloop', JSON.parse(await readFile(join(here, '..', 'package.json'), 'utf8')).version], ...peers.map((p) => [p, versionOf(p)])].filter(
      ([, v]) => v,
    ),
  ),
  notes: bench.notes,
  rows: bench.rows,
};
await mkdir(args.out, { recursive: true });
const base = args.only ? `latest-${args.only}` : 'latest';
await writeFile(join(args.out, `${base}.json`), JSON.stringify(result, null, 2) + '\n');
await writeFile(join(args.out, `${base}.md`), markdown(result));
await writeFile(join(args.out, `${base}.svg`), svg(result));
console.log(`wrote ${join(args.out, base)}.{json,md,svg} in ${result.durationSec} s`);
