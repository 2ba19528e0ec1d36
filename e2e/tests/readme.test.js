// The README's quick start stays honest: exactly two commands, the first of which is what
// the browser tests run (the l42-dev binary with no arguments), the second the whole suite.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';

import { ROOT, required } from '../lib/stack.js';

// The commands of the first ```sh block under the "Quick start" heading.
function quickStart() {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = /^## Quick start\n([\s\S]*?)(?=^## )/m.exec(readme);
  assert.ok(section, 'README.md has a "## Quick start" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section[1]);
  assert.ok(block, 'the quick start has a ```sh block');
  return block[1]
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('the quick start is exactly: run the stack, run every test', () => {
  assert.deepEqual(quickStart(), ['cargo run -p l42-dev', 'scripts/test-all']);
  assert.ok(existsSync(join(ROOT, 'scripts', 'test-all')), 'scripts/test-all exists');
});

test('the browser tests start what the first command runs', () => {
  const [first] = quickStart();
  // `cargo run -p l42-dev` runs the package's only binary, l42-dev, with no arguments.
  const m = /^cargo run -p ([a-z0-9-]+)$/.exec(first);
  assert.ok(m, `no extra arguments: ${first}`);
  const cargo = readFileSync(join(ROOT, 'dev', 'Cargo.toml'), 'utf8');
  assert.match(cargo, new RegExp(`^name = "${m[1]}"$`, 'm'));
  assert.doesNotMatch(cargo, /^\[\[bin\]\]/m, 'one binary, named after the package');
  const bin = required('L42_DEV_BIN', 'the path of the built l42-dev binary');
  assert.equal(basename(bin), m[1]);
  assert.ok(existsSync(bin), `${bin} is built`);
});

test('a clean clone has every file the quick start needs', () => {
  // What a clone lacks: files here that git does not track (a new page, policy or script
  // that works locally but was never committed).
  let untracked;
  try {
    untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '--', 'dev', 'e2e', 'scripts', 'Cargo.toml', 'Cargo.lock', 'README.md'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  } catch (e) {
    throw new Error(`cannot ask git which files a clone would have (run the tests in a git checkout): ${e.message}`);
  }
  assert.equal(untracked.trim(), '', 'files a clean clone would not have');
  for (const f of ['scripts/test-all', 'scripts/test-browser', 'e2e/package-lock.json', 'dev/site/index.html']) {
    const tracked = execFileSync('git', ['ls-files', '--', f], { cwd: ROOT, encoding: 'utf8' }).trim();
    assert.equal(tracked, f, `${f} is committed`);
  }
});
