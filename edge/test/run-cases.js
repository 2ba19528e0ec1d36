// Runs every case of cases.js against the functions, under whichever engine runs it:
//   cd edge && njs -t module test/run-cases.js
//   cd edge && node test/run-cases.js
// Prints one JSON line per case ({name, fn, ok, out, error, reads, maxInFlight, want when
// not ok}), then `N passed, N failed`; fails (exit status 1) when a case failed.
// engines.test.js runs it under both engines and compares the lines.
import fs from 'fs';
import crypto from 'crypto';
import h from './harness.js';
import build from './cases.js';

const vectors = JSON.parse(fs.readFileSync('test-vectors/session-cookie.json', 'utf8'));
const cases = build(vectors, h);
const compiled = {};

function factory(c) {
  const key = c.fn + (c.patch ? JSON.stringify(c.patch) : '');
  if (!compiled[key]) {
    let source = fs.readFileSync('functions/' + c.fn + '.js', 'utf8');
    const patch = c.patch || [];
    for (let i = 0; i < patch.length; i++) {
      if (source.indexOf(patch[i][0]) < 0) throw new Error(c.fn + ': patch text not found: ' + patch[i][0]);
      source = source.split(patch[i][0]).join(patch[i][1]);
    }
    compiled[key] = h.compile(source, c.fn + '.js');
  }
  return compiled[key];
}

async function runOne(c) {
  const kvs = c.kvs || { entries: {} };
  const store = h.cloudfront(kvs.entries || {}, kvs);
  const realNow = Date.now;
  if (c.now !== undefined) {
    Date.now = function () {
      return c.now * 1000;
    };
  }
  let out;
  let error = null;
  try {
    const handler = factory(c)({ crypto: crypto, cloudfront: store.module });
    out = await handler(h.clone(c.event));
  } catch (e) {
    error = String((e && e.stack) || e);
  }
  Date.now = realNow;
  const got = h.canonical(out);
  let ok = error === null && got === h.canonical(c.want);
  if (c.reads !== undefined && h.canonical(c.reads) !== h.canonical(store.stats.reads)) ok = false;
  if (store.stats.maxInFlight > 1) ok = false;
  const line = {
    name: c.name,
    fn: c.fn,
    ok: ok,
    out: out === undefined ? null : out,
    error: error,
    reads: store.stats.reads,
    maxInFlight: store.stats.maxInFlight,
  };
  if (!ok) {
    line.want = c.want;
    if (c.reads !== undefined) line.wantReads = c.reads;
  }
  return line;
}

async function main() {
  let passed = 0;
  let failed = 0;
  for (let i = 0; i < cases.length; i++) {
    const line = await runOne(cases[i]);
    if (line.ok) passed++;
    else failed++;
    console.log(JSON.stringify(line));
  }
  console.log(passed + ' passed, ' + failed + ' failed');
  if (failed) throw new Error(failed + ' case(s) failed');
}

main();
