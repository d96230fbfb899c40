// The README is what users read (issue #18): short enough to read in minutes, documenting every
// export of index.d.ts with its options, and with a table of contents whose links all land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './helpers.mjs';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const dts = readFileSync(join(root, 'index.d.ts'), 'utf8');

/** Names index.d.ts exports, and for classes and interfaces their members. */
function declarations() {
  const names = [];
  const members = [];
  let owner = null;
  for (const line of dts.split('\n')) {
    const top = line.match(/^export (?:declare )?(?:function|class|interface|type|const) (\w+)/);
    if (top) {
      names.push(top[1]);
      owner = /^export (?:declare )?(class|interface) /.test(line) ? top[1] : null;
      continue;
    }
    if (/^}/.test(line)) owner = null;
    const member = owner && line.match(/^ {2}(?:get )?(\w+)\??[(:<]/);
    if (member && member[1] !== 'constructor') members.push([owner, member[1]]);
  }
  return { names, members };
}

/** GitHub's anchor for a heading. */
const slug = (heading) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

test('the README stays under 400 lines', () => {
  const lines = readme.split('\n').length;
  assert.ok(lines < 400, `README.md has ${lines} lines`);
});

test('every export of index.d.ts, and every member and option, appears in the README', () => {
  const { names, members } = declarations();
  assert.ok(names.length > 40, `parsed ${names.length} exports`);
  const generated = new Set(['__napiBindingTarget']); // napi-rs' loader detail, not an API
  const mentioned = (name) => new RegExp(`\\b${name}\\b`).test(readme);
  const missing = names.filter((name) => !generated.has(name) && !mentioned(name));
  const missingMembers = members.filter(([, member]) => !mentioned(member)).map((m) => m.join('.'));
  assert.deepEqual(missing, [], 'exports the README does not mention');
  assert.deepEqual(missingMembers, [], 'members and options the README does not mention');
});

test('every link of the table of contents lands on a heading', () => {
  const anchors = new Set(readme.split('\n').filter((l) => /^#{1,4} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
  const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('\n## ', readme.indexOf('## Contents') + 1));
  const links = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length > 10, `found ${links.length} links`);
  assert.deepEqual(links.filter((l) => !anchors.has(l)), [], 'links to no heading');
  const linked = new Set(links);
  const beforeContents = new Set(['install', 'example', 'benchmark', 'contents']);
  const sections = readme.split('\n').filter((l) => l.startsWith('## ')).map((l) => slug(l.slice(3)));
  assert.deepEqual(sections.filter((a) => !beforeContents.has(a) && !linked.has(a)), [], 'sections the table of contents leaves out');
});
