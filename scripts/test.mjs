// Runs every __test__/*.test.mjs under `node --test`, with the node that runs this script.
// Why not `node --test __test__/`: Node 22+ reads a directory argument as a module path ("Cannot
// find module"); and a shell glob is not expanded by Windows' cmd, which Node 20 then cannot read.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../__test__/', import.meta.url));
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.mjs'))
  .sort()
  .map((name) => join(dir, name));
const { status, signal } = spawnSync(process.execPath, ['--test', ...process.argv.slice(2), ...files], { stdio: 'inherit' });
process.exit(status ?? (signal ? 1 : 0));
