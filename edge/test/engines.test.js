// Runs the case table (run-cases.js) under Debian's njs and under Node, each in its own
// process, and checks every case in both and that both engines returned the same thing.
// Objects are compared with their keys sorted: njs 0.7.9 enumerates an object of more
// than a few keys in hash order, not insertion order (header order means nothing here).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import h from './harness.js';

const EDGE = fileURLToPath(new URL('..', import.meta.url));

function run(command, args) {
  const r = spawnSync(command, args, { cwd: EDGE, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) {
    throw new Error(`cannot run ${command}: ${r.error.message} (njs: apt-get install njs)`);
  }
  const cases = new Map();
  let summary = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('{')) {
      const c = JSON.parse(line);
      cases.set(c.name, c);
    } else if (/^\d+ passed, \d+ failed$/.test(line)) {
      summary = line;
    }
  }
  return { status: r.status, stderr: r.stderr, cases, summary };
}

const engines = {
  njs: run('njs', ['-t', 'module', 'test/run-cases.js']),
  node: run(process.execPath, ['test/run-cases.js']),
};
const names = [...new Set([...engines.njs.cases.keys(), ...engines.node.cases.keys()])];

function show(c) {
  if (!c) return 'no result';
  const parts = [];
  if (c.error) parts.push(`error: ${c.error}`);
  parts.push(`got:  ${h.canonical(c.out)}`);
  if (c.want !== undefined) parts.push(`want: ${h.canonical(c.want)}`);
  parts.push(`reads: ${JSON.stringify(c.reads)}${c.wantReads ? ` want ${JSON.stringify(c.wantReads)}` : ''}`);
  parts.push(`store reads in flight at once: ${c.maxInFlight}`);
  return parts.join('\n');
}

for (const [engine, result] of Object.entries(engines)) {
  describe(engine, () => {
    test('ran every case to the end', () => {
      assert.ok(result.summary, `no closing line from ${engine}; stderr:\n${result.stderr}`);
      assert.equal(result.cases.size, names.length, `${engine} reported ${result.cases.size} of ${names.length} cases`);
      const failed = [...result.cases.values()].filter((c) => !c.ok).length;
      assert.equal(result.status, failed ? 1 : 0, `exit status ${result.status}; stderr:\n${result.stderr}`);
    });
    for (const name of names) {
      test(name, () => {
        const c = result.cases.get(name);
        assert.ok(c && c.ok, show(c));
      });
    }
  });
}

describe('njs and node agree', () => {
  for (const name of names) {
    test(name, () => {
      const a = engines.njs.cases.get(name);
      const b = engines.node.cases.get(name);
      assert.ok(a && b, 'missing in one engine');
      assert.equal(h.canonical(a.out), h.canonical(b.out));
      assert.deepEqual(a.reads, b.reads);
      assert.equal(a.error === null, b.error === null);
    });
  }
});
