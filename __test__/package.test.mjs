// The package as users get it: packed with `npm pack`, installed offline into a fresh project, then
// loaded with require(), import and TypeScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './helpers.mjs';

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack + npm install --offline: require, import and tsc all work, and no source ships', { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'offloop-pack-'));
  try {
    // The platform package, as `napi artifacts` would fill it.
    const platform = join(work, 'linux-x64-gnu');
    mkdirSync(platform);
    cpSync(join(root, 'npm', 'linux-x64-gnu', 'package.json'), join(platform, 'package.json'));
    cpSync(join(root, 'offloop.linux-x64-gnu.node'), join(platform, 'offloop.linux-x64-gnu.node'));
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    run('npm', ['pack', '--silent', '--pack-destination', tarballs], platform);
    run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', tarballs], root);
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    assert.equal(files.length, 2);
    for (const file of files) {
      const listing = run('tar', ['tzf', file]);
      assert.doesNotMatch(listing, /\.rs$|Cargo\.toml|\/src\/|__test__|benchmark\//m, listing);
    }

    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...files], app);

    const cjs = `const { hashPassword, verifyPassword } = require('offloop');
      hashPassword('pw', { memoryCost: 64, timeCost: 1 }).then((h) => verifyPassword(h, 'pw')).then((ok) => console.log(ok));`;
    assert.equal(run(process.execPath, ['-e', cjs], app).trim(), 'true');
    writeFileSync(join(app, 'esm.mjs'), `import { hashPassword, poolStats } from 'offloop';
      import offloop from 'offloop';
      const h = await hashPassword('pw', { memoryCost: 64, timeCost: 1 });
      console.log(await offloop.verifyPassword(h, 'pw'), poolStats().threads > 0);`);
    assert.equal(run(process.execPath, ['esm.mjs'], app).trim(), 'true true');

    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const tsOptions = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
    writeFileSync(join(app, 'good.ts'), `import { hashPassword, verifyPassword, needsRehash, parsePasswordHash, poolStats, configure } from 'offloop';
      export async function signup(pw: string): Promise<string> {
        const hash: string = await hashPassword(pw, { memoryCost: 19456, timeCost: 2, signal: AbortSignal.timeout(1000) });
        const ok: boolean = await verifyPassword(hash, pw, { maxMemoryCost: 65536 });
        const info = parsePasswordHash(hash);
        if (info.algorithm === 'bcrypt') return String(info.cost);
        const rehash: boolean = needsRehash(hash, { memoryCost: info.memoryCost });
        configure({ threads: 2 });
        return hash + ok + rehash + poolStats().queued;
      }`);
    run(process.execPath, [tsc, ...tsOptions, 'good.ts'], app);
    // The types are real: misuse fails to compile.
    writeFileSync(join(app, 'bad.ts'), `import { hashPassword } from 'offloop';
      export const p: Promise<number> = hashPassword('pw', { memoryCost: '19456' });`);
    assert.throws(
      () => run(process.execPath, [tsc, ...tsOptions, 'bad.ts'], app),
      (e) => /bad\.ts.*error TS\d+/.test(e.stdout) && (e.stdout.match(/error TS/g) ?? []).length === 2,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
