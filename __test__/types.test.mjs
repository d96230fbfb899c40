// index.d.ts cannot drift from what the decoders accept (issue #18). Each options type is declared
// twice — a `#[napi(object)]` struct that feeds the generated types, and the hand-written decoder
// that reads the JS object — so this test checks one against the other, from both sides:
//
// - at run time, every export is called with every documented option through a Proxy that records
//   the keys the decoder reads; every sample value must be accepted, a value of the wrong type
//   must be refused with ERR_INVALID_ARG_TYPE, an unknown string with ERR_INVALID_ARG_VALUE;
// - at compile time, a TypeScript file generated from the same table is checked with
//   `tsc --strict`: the same calls must compile, `keyof` each options type must equal the keys
//   the decoder read, a field of string literals must equal the literals the decoder accepts,
//   and every misuse must fail to compile (`@ts-expect-error` fails when it does compile).
//
// Every export that takes an options argument must have a row, so a new one cannot skip this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offloop, require, root } from './helpers.mjs';

const signal = 'AbortSignal.timeout(600_000)';
const vectors = 'new Float32Array([1, 0, 0, 1])';
const sortable = 'new Float64Array([3, 1, 2])';

// Shared by the JS and the TS side: values the calls below refer to.
const prelude = `
  const PHC = hashPasswordSync('pw', { memoryCost: 64, timeCost: 1 });
  const INDEX = new VectorIndex(2);
  INDEX.add(${vectors});
  const PROGRAM = compileJq('.a');
  const GZIP = compressSync('gzip', 'abc');
  const BROTLI = compressSync('brotli', 'abc');
  const ZSTD = compressSync('zstd', 'abc');
`;

// `$` stands for the options object. `options` maps each documented field to source text of values
// that must be accepted; `unread` lists fields a call documents as ignored.
const rows = [
  { name: 'configure', call: 'configure($)', type: 'Parameters<typeof configure>[0]', required: true,
    options: { threads: ['2'], maxQueue: ['100000', '0'], priority: ["'background'", "'normal'"] } },
  { name: 'hashPassword', call: "hashPassword('pw', $)", type: 'Parameters<typeof hashPassword>[1]',
    options: { algorithm: ["'argon2id'", "'argon2i'", "'argon2d'"], memoryCost: ['64'], timeCost: ['1'], parallelism: ['1'],
      outputLength: ['32'], salt: ['new Uint8Array(16)'], secret: ["'pepper'"], associatedData: ["'ad'"], signal: [signal] } },
  { name: 'hashPasswordSync', call: "hashPasswordSync('pw', $)", type: 'Parameters<typeof hashPasswordSync>[1]', unread: ['signal'],
    options: { algorithm: ["'argon2id'", "'argon2i'", "'argon2d'"], memoryCost: ['64'], timeCost: ['1'], parallelism: ['1'],
      outputLength: ['32'], salt: ['new Uint8Array(16)'], secret: ["'pepper'"], associatedData: ["'ad'"], signal: [signal] } },
  { name: 'verifyPassword', call: "verifyPassword(PHC, 'pw', $)", type: 'Parameters<typeof verifyPassword>[2]',
    options: { secret: ["new Uint8Array(0)"], maxMemoryCost: ['65536'], maxTimeCost: ['10'], maxBcryptCost: ['12'], signal: [signal] } },
  { name: 'verifyPasswordSync', call: "verifyPasswordSync(PHC, 'pw', $)", type: 'Parameters<typeof verifyPasswordSync>[2]', unread: ['signal'],
    options: { secret: ["new Uint8Array(0)"], maxMemoryCost: ['65536'], maxTimeCost: ['10'], maxBcryptCost: ['12'], signal: [signal] } },
  { name: 'needsRehash', call: 'needsRehash(PHC, $)', type: 'Parameters<typeof needsRehash>[1]',
    options: { algorithm: ["'argon2id'", "'argon2i'", "'argon2d'"], memoryCost: ['64'], timeCost: ['1'], parallelism: ['1'], outputLength: ['32'] } },
  { name: 'hash', call: "hash('sha256', 'abc', 'hex', $)", type: 'Parameters<typeof hash>[3]', options: { signal: [signal] } },
  { name: 'hmac', call: "hmac('sha256', 'key', 'abc', 'hex', $)", type: 'Parameters<typeof hmac>[4]', options: { signal: [signal] } },
  { name: 'hashMany', call: "hashMany('sha256', ['a', 'b'], 'hex', $)", type: 'Parameters<typeof hashMany>[3]', options: { signal: [signal] } },
  { name: 'hashFile', call: "hashFile('sha256', 'package.json', 'hex', $)", type: 'Parameters<typeof hashFile>[3]', options: { signal: [signal] } },
  { name: 'hashFiles', call: "hashFiles('sha256', ['package.json'], 'hex', $)", type: 'Parameters<typeof hashFiles>[3]', options: { signal: [signal] } },
  { name: 'jq', call: "jq('.a', '{\"a\":1}', $)", type: 'Parameters<typeof jq>[2]', options: jqOptions() },
  { name: 'jqValues', call: "jqValues('.a', '{\"a\":1}', $)", type: 'Parameters<typeof jqValues>[2]', options: jqOptions() },
  { name: 'JqProgram.run', call: "PROGRAM.run('{\"a\":1}', $)", type: "Parameters<JqProgram['run']>[1]", options: jqOptions() },
  { name: 'JqProgram.runValues', call: "PROGRAM.runValues('{\"a\":1}', $)", type: "Parameters<JqProgram['runValues']>[1]", options: jqOptions() },
  { name: 'jqFile', call: "jqFile('.name', 'package.json', $)", type: 'Parameters<typeof jqFile>[2]',
    options: { ...jqOptions(), outputPath: ['require("node:os").tmpdir() + "/offloop-types-" + process.pid + ".json"'] } },
  { name: 'canonicalizeJson', call: "canonicalizeJson('{\"b\":1,\"a\":2}', $)", type: 'Parameters<typeof canonicalizeJson>[1]',
    options: { maxDepth: ['254'], maxMemoryBytes: ['1 << 30'], signal: [signal] } },
  { name: 'canonicalizeJsonSync', call: "canonicalizeJsonSync('{\"b\":1,\"a\":2}', $)", type: 'Parameters<typeof canonicalizeJsonSync>[1]',
    unread: ['signal'], options: { maxDepth: ['254'], maxMemoryBytes: ['1 << 30'], signal: [signal] } },
  { name: 'VectorIndex', call: 'new VectorIndex(2, $)', type: 'ConstructorParameters<typeof VectorIndex>[1]',
    options: { metric: ["'cosine'", "'dot'", "'l2'"] } },
  { name: 'VectorIndex.search', call: 'INDEX.search(new Float32Array([1, 0]), 1, $)', type: "Parameters<VectorIndex['search']>[2]",
    options: { signal: [signal] } },
  { name: 'VectorIndex.searchBatch', call: 'INDEX.searchBatch(new Float32Array([1, 0]), 1, $)', type: "Parameters<VectorIndex['searchBatch']>[2]",
    options: { signal: [signal] } },
  { name: 'topK', call: `topK(${vectors}, 2, new Float32Array([1, 0]), 1, $)`, type: 'Parameters<typeof topK>[4]',
    options: { metric: ["'cosine'", "'dot'", "'l2'"], signal: [signal] } },
  { name: 'describe', call: `describe(${sortable}, $)`, type: 'Parameters<typeof describe>[1]',
    options: { percentiles: ['[50, 99]'], skipNaN: ['true'], signal: [signal] } },
  { name: 'histogram', call: `histogram(${sortable}, $)`, type: 'Parameters<typeof histogram>[1]',
    options: { bins: ['4'], min: ['0'], max: ['10'], skipNaN: ['true'], signal: [signal] } },
  { name: 'sort', call: `sort(${sortable}, $)`, type: 'Parameters<typeof sort>[1]',
    options: { descending: ['true'], into: ['new Float64Array(3)'], signal: [signal] } },
  { name: 'argsort', call: `argsort(${sortable}, $)`, type: 'Parameters<typeof argsort>[1]',
    options: { descending: ['true'], into: ['new Uint32Array(3)'], signal: [signal] } },
  // Each format reads its own options and ignores the others' (as node:zlib does): a row per family.
  { name: 'compress', call: "compress('gzip', 'abc', $)", type: 'Parameters<typeof compress>[2]', unread: ['params'], options: deflateOptions() },
  { name: 'compress', call: "compress('brotli', 'abc', $)", type: 'Parameters<typeof compress>[2]', unread: ['windowBits', 'memLevel', 'strategy'],
    options: { ...deflateOptions(), level: ['4'], params: ['{ 1: 4, 0: 1 }'] } },
  { name: 'compressSync', call: "compressSync('zstd', 'abc', $)", type: 'Parameters<typeof compressSync>[2]', unread: ['windowBits', 'memLevel', 'strategy'],
    options: { ...deflateOptions(), level: ['3', '-5', '19'], params: ['{ 100: 5, 201: 1 }'] } },
  { name: 'decompress', call: 'decompress(\'gzip\', GZIP, $)', type: 'Parameters<typeof decompress>[2]', unread: ['params'],
    options: { maxOutputLength: ['1e6'], windowBits: ['15', '0'], params: ['{}'], chunkSize: ['65536'], signal: [signal] } },
  { name: 'decompress', call: 'decompress(\'brotli\', BROTLI, $)', type: 'Parameters<typeof decompress>[2]', unread: ['windowBits'],
    options: { maxOutputLength: ['1e6'], windowBits: ['15'], params: ['{ 0: 1 }'], chunkSize: ['65536'], signal: [signal] } },
  { name: 'decompressSync', call: 'decompressSync(\'zstd\', ZSTD, $)', type: 'Parameters<typeof decompressSync>[2]', unread: ['windowBits'],
    options: { maxOutputLength: ['1e6'], windowBits: ['15'], params: ['{ 100: 27 }'], chunkSize: ['65536'], signal: [signal] } },
  // The codec's options are compress()'s or decompress()'s by direction; the type is their union.
  { name: 'StreamCodec', call: "new StreamCodec('compress', 'deflate', $)", type: 'Parameters<typeof compress>[2]', unread: ['params'],
    options: deflateOptions() },
];

function deflateOptions() {
  return { level: ['6', '-1', '0', '9'], windowBits: ['15', '9'], memLevel: ['8'], strategy: ['0'], params: ['{}'], chunkSize: ['65536'],
    maxOutputLength: ['1e6'], signal: [signal] };
}

function jqOptions() {
  return { ndjson: ['false'], raw: ['false'], vars: ['{ limit: 3 }'], maxOutputBytes: ['1e6'], maxDepth: ['64'], maxMemoryBytes: ['1 << 30'], signal: [signal] };
}

// Positional arguments that are unions of string literals: the d.ts union must equal the values
// the call accepts.
const literalArguments = [
  ...['hash', 'hashSync', 'hmac', 'hmacSync', 'hashMany', 'hashFile', 'hashFiles', 'hashStream', 'createHasher'].map((name) => ({
    name: `${name} algorithm`,
    call: {
      hash: "hash($, 'abc')", hashSync: "hashSync($, 'abc')", hmac: "hmac($, 'k'.repeat(32), 'abc')", hmacSync: "hmacSync($, 'k'.repeat(32), 'abc')",
      hashMany: "hashMany($, ['abc'])", hashFile: "hashFile($, 'package.json')", hashFiles: "hashFiles($, ['package.json'])",
      hashStream: "hashStream($, ['abc'])", createHasher: 'createHasher($)',
    }[name],
    type: `Parameters<typeof ${name}>[0]`,
    values: ["'sha256'", "'sha384'", "'sha512'", "'sha512-256'", "'blake3'"],
  })),
  ...[['hash', "hash('sha256', 'abc', $)", 2], ['hashSync', "hashSync('sha256', 'abc', $)", 2], ['hmac', "hmac('sha256', 'k', 'abc', $)", 3],
    ['hmacSync', "hmacSync('sha256', 'k', 'abc', $)", 3], ['hashFile', "hashFile('sha256', 'package.json', $)", 2],
    ['hashStream', "hashStream('sha256', ['abc'], $)", 2]].map(([name, call, index]) => ({
    name: `${name} encoding`,
    call,
    type: `NonNullable<Parameters<typeof ${name}>[${index}]>`,
    values: ["'hex'", "'base64'", "'base64url'", "'buffer'"],
  })),
  ...[['compress', "compress($, 'abc')"], ['compressSync', "compressSync($, 'abc')"]].map(([name, call]) => ({
    name: `${name} format`, call, type: `Parameters<typeof ${name}>[0]`, values: ["'gzip'", "'deflate'", "'deflate-raw'", "'brotli'", "'zstd'"],
  })),
  { name: 'StreamCodec direction', call: "new StreamCodec($, 'gzip')", type: 'ConstructorParameters<typeof StreamCodec>[0]', values: ["'compress'", "'decompress'"] },
  { name: 'StreamCodec format', call: "new StreamCodec('decompress', $)", type: 'ConstructorParameters<typeof StreamCodec>[1]',
    values: ["'gzip'", "'deflate'", "'deflate-raw'", "'brotli'", "'zstd'"] },
  { name: 'Hasher.digest encoding', call: "createHasher('sha256').update('abc').digest($)", type: "NonNullable<Parameters<Hasher['digest']>[0]>",
    values: ["'hex'", "'base64'", "'base64url'", "'buffer'"] },
];

const isStringLiteral = (source) => /^'[^']*'$/.test(source);
/** A field whose samples are two or more string literals is an enumeration. */
const isEnumeration = (samples) => samples.length > 1 && samples.every(isStringLiteral);
const exportNames = Object.keys(offloop).filter((name) => name !== '__napiBindingTarget' && name !== 'default');
const bogus = "'no-such-value'";

/** The keys `options` is asked for, through every trap a decoder can reach. */
function recording(options) {
  const read = new Set();
  const proxy = new Proxy(options, {
    get(target, key, receiver) {
      if (typeof key === 'string') read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === 'string') read.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
  return { proxy, read };
}

const AsyncFunction = (async () => {}).constructor;

/** Runs `call` with `$` bound to the object that `options` (source text) evaluates to. */
async function invoke(call, options) {
  const body = `${prelude}\nreturn await (${call.replace('$', '__wrap(' + options + ')')});`;
  let recorded;
  const wrap = (object) => {
    if (object === null || typeof object !== 'object') return object;
    recorded = recording(object);
    return recorded.proxy;
  };
  const run = new AsyncFunction('require', '__wrap', ...exportNames, body);
  try {
    const value = await run(require, wrap, ...exportNames.map((n) => offloop[n]));
    return { value, read: recorded?.read ?? new Set() };
  } catch (error) {
    return { error, read: recorded?.read ?? new Set() };
  }
}

const objectSource = (fields) => `{ ${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join(', ')} }`;
const firstSamples = (row) => Object.fromEntries(Object.entries(row.options).map(([k, v]) => [k, v[0]]));

test('every export with an options argument has a row', () => {
  const dts = readFileSync(join(root, 'index.d.ts'), 'utf8');
  const withOptions = new Set();
  let inClass = null;
  for (const line of dts.split('\n')) {
    const cls = line.match(/^export declare class (\w+)/);
    if (cls) inClass = cls[1];
    else if (/^}/.test(line)) inClass = null;
    const fn = line.match(/^export declare function (\w+)[<(]/);
    const method = inClass && line.match(/^ {2}(constructor|\w+)\(/);
    const name = fn ? fn[1] : method ? (method[1] === 'constructor' ? inClass : `${inClass}.${method[1]}`) : null;
    if (name && /\boptions\??:/.test(line)) withOptions.add(name);
  }
  assert.ok(withOptions.size > 20, `parsed ${withOptions.size} exports with options from index.d.ts`);
  assert.deepEqual([...withOptions].filter((n) => !rows.some((r) => r.name === n)), [], 'exports with options but no row here');
});

test('the decoders read exactly the documented options, accept their values and refuse wrong types', async () => {
  const problems = [];
  const check = (ok, message) => ok || problems.push(message);
  for (const row of rows) {
    const fields = Object.keys(row.options);
    const good = await invoke(row.call, objectSource(firstSamples(row)));
    check(good.error === undefined, `${row.name} with every option: ${good.error?.code} ${good.error?.message}`);
    const read = [...good.read].filter((k) => k !== 'then').sort();
    const undocumented = read.filter((k) => !fields.includes(k));
    const unread = fields.filter((f) => !good.read.has(f) && !(row.unread ?? []).includes(f));
    check(undocumented.length === 0, `${row.name}: the decoder reads [${undocumented}], which index.d.ts does not document`);
    check(unread.length === 0, `${row.name}: index.d.ts documents [${unread}], which the decoder never reads`);

    for (const [field, samples] of Object.entries(row.options)) {
      for (const sample of samples.slice(1)) {
        const { error } = await invoke(row.call, objectSource({ ...firstSamples(row), [field]: sample }));
        check(error === undefined, `${row.name} { ${field}: ${sample} }: ${error?.code} ${error?.message}`);
      }
      if ((row.unread ?? []).includes(field)) continue;
      const wrongType = await invoke(row.call, objectSource({ ...firstSamples(row), [field]: "Symbol('wrong')" }));
      check(wrongType.error?.code === 'ERR_INVALID_ARG_TYPE', `${row.name} { ${field}: Symbol() }: ${wrongType.error?.code} ${wrongType.error?.message}`);
      if (isEnumeration(samples)) {
        const unknown = await invoke(row.call, objectSource({ ...firstSamples(row), [field]: bogus }));
        check(unknown.error?.code === 'ERR_INVALID_ARG_VALUE', `${row.name} { ${field}: ${bogus} }: ${unknown.error?.code}`);
      }
    }
    const notAnObject = await invoke(row.call, '42');
    check(notAnObject.error?.code === 'ERR_INVALID_ARG_TYPE', `${row.name} with options 42: ${notAnObject.error?.code}`);
  }
  for (const argument of literalArguments) {
    for (const value of argument.values) {
      const { error } = await invoke(argument.call, value);
      check(error === undefined, `${argument.name} ${value}: ${error?.code} ${error?.message}`);
    }
    const { error } = await invoke(argument.call, bogus);
    check(error?.code === 'ERR_INVALID_ARG_VALUE', `${argument.name} ${bogus}: ${error?.code}`);
  }
  assert.deepEqual(problems, []);
});

test('tsc --strict: the documented calls compile, the types equal what the decoders read, misuse does not compile', { timeout: 120_000 }, () => {
  const lines = [
    `import { ${exportNames.join(', ')} } from ${JSON.stringify(join(root, 'index.js'))};`,
    'declare const require: (id: string) => any;',
    'declare const process: { pid: number };',
    'const __wrap = <T,>(options: T): T => options;',
    'type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;',
    'export async function checks(): Promise<void> {',
    prelude,
  ];
  const union = (values) => values.join(' | ');
  let n = 0;
  for (const row of rows) {
    const fields = Object.keys(row.options);
    const optionsType = `NonNullable<${row.type}>`;
    lines.push(`  // ${row.name}`);
    lines.push(`  await ${row.call.replace('$', '__wrap(' + objectSource(firstSamples(row)) + ')')};`);
    lines.push(`  const keys${n}: Equal<keyof ${optionsType}, ${union(fields.map((f) => `'${f}'`))}> = true;`);
    for (const [field, samples] of Object.entries(row.options)) {
      for (const sample of samples.slice(1)) lines.push(`  await ${row.call.replace('$', objectSource({ [field]: sample }))};`);
      if (isEnumeration(samples)) {
        lines.push(`  const field${n}_${field}: Equal<NonNullable<${optionsType}['${field}']>, ${union(samples)}> = true;`);
        lines.push(`  void field${n}_${field};`);
        lines.push('  // @ts-expect-error an unknown value');
        lines.push(`  await ${row.call.replace('$', objectSource({ [field]: bogus }))};`);
      }
      lines.push('  // @ts-expect-error a value of the wrong type');
      lines.push(`  await ${row.call.replace('$', objectSource({ [field]: "Symbol('wrong')" }))};`);
    }
    lines.push('  // @ts-expect-error an option that does not exist');
    lines.push(`  await ${row.call.replace('$', objectSource({ noSuchOption: '1' }))};`);
    lines.push(`  void keys${n};`);
    n += 1;
  }
  for (const argument of literalArguments) {
    lines.push(`  // ${argument.name}`);
    for (const value of argument.values) lines.push(`  await ${argument.call.replace('$', value)};`);
    lines.push(`  const literals${n}: Equal<${argument.type}, ${union(argument.values)}> = true;`);
    lines.push('  // @ts-expect-error an unknown value');
    lines.push(`  await ${argument.call.replace('$', bogus)};`);
    lines.push(`  void literals${n};`);
    n += 1;
  }
  lines.push('}');
  const dir = mkdtempSync(join(tmpdir(), 'offloop-types-'));
  try {
    const file = join(dir, 'checks.ts');
    writeFileSync(file, lines.join('\n'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const options = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--lib', 'es2022,dom', '--types', 'node',
      '--typeRoots', join(root, 'node_modules', '@types'), file];
    try {
      execFileSync(process.execPath, [tsc, ...options], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const quoted = [...`${error.stdout}`.matchAll(/checks\.ts\((\d+),\d+\): (.*)/g)]
        .map(([, line, message]) => `${message}\n    ${lines[line - 1].trim()}  (after: ${lines[line - 2].trim()})`);
      assert.fail(`tsc --strict found drift between index.d.ts and the decoders:\n${quoted.join('\n')}\n${error.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
