// The shipping check (check.js): every function passes it, and it catches each construct
// it is meant to refuse.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { checkSource, checkFile, functionFiles, MAX_BYTES } from './check.js';

describe('the functions may ship', () => {
  const files = functionFiles();
  test('there are three', () => {
    assert.deepEqual(files.map((f) => path.basename(f)), ['auth-router.js', 'security-headers.js', 'session-gate.js']);
  });
  for (const file of files) {
    test(`${path.basename(file)}: at most ${MAX_BYTES} bytes, runtime subset only`, () => {
      const size = fs.statSync(file).size;
      assert.ok(size <= MAX_BYTES, `${size} bytes`);
      assert.deepEqual(checkFile(file), []);
    });
  }
});

const OK = 'function handler(event) {\n  return event.request;\n}\n';

// [what, source, rule the check must report]
const BAD = [
  ['eval', 'function handler(e) { return eval("e"); }', 'global'],
  ['new Function', 'function handler(e) { return new Function("a", "return a")(e); }', 'global'],
  ['Function()', 'const f = Function("return 1");\nfunction handler(e) { return e.request; }', 'global'],
  ['the constructor of a function', 'function handler(e) { return handler.constructor("return 1")(); }', 'global'],
  ['setTimeout', 'function handler(e) { setTimeout(function () {}, 1); return e.request; }', 'global'],
  ['setInterval', 'function handler(e) { setInterval(function () {}, 1); return e.request; }', 'global'],
  ['setImmediate', 'function handler(e) { setImmediate(function () {}); return e.request; }', 'global'],
  ['require', "const fs = require('fs');\n" + OK, 'global'],
  ["require('crypto') too: import it", "const c = require('crypto');\n" + OK, 'global'],
  ['process', 'function handler(e) { return process.env.X; }', 'global'],
  ['fetch', 'async function handler(e) { await fetch("https://example.com"); return e.request; }', 'global'],
  ['Map', 'function handler(e) { const m = new Map(); return e.request; }', 'global'],
  ['Proxy', 'function handler(e) { return new Proxy(e.request, {}); }', 'global'],
  ['import of another module', "import fs from 'fs';\n" + OK, 'import'],
  ['named import from crypto', "import { createHmac } from 'crypto';\n" + OK, 'import'],
  ['namespace import', "import * as cf from 'cloudfront';\n" + OK, 'import'],
  ['dynamic import', "async function handler(e) { const m = await import('fs'); return e.request; }", 'import'],
  ['export', OK + 'export default handler;\n', 'export'],
  ['export of the handler', 'export ' + OK, 'export'],
  ['Promise.all over the store', "async function handler(e) { const v = await Promise.all([1, 2]); return e.request; }", 'promise-combinator'],
  ['Promise.any', 'async function handler(e) { await Promise.any([1]); return e.request; }', 'promise-combinator'],
  ["Promise['race']", "async function handler(e) { await Promise['race']([1]); return e.request; }", 'promise-combinator'],
  ['Promise.allSettled', 'async function handler(e) { await Promise.allSettled([1]); return e.request; }', 'promise-combinator'],
  ['then chain', 'function handler(e) { return Promise.resolve(e.request).then(function (r) { return r; }); }', 'promise-chain'],
  ['class', 'class A {}\n' + OK, 'syntax-subset'],
  ['generator', 'function* g() { yield 1; }\n' + OK, 'syntax-subset'],
  ['for-of', 'function handler(e) { for (const k of [1]) {} return e.request; }', 'syntax-subset'],
  ['spread in a call', 'function handler(e) { return Math.max(...[1, 2]); }', 'syntax-subset'],
  ['spread in an object', 'function handler(e) { return { ...e.request }; }', 'syntax-subset'],
  ['destructuring', 'function handler(e) { const { request } = e; return request; }', 'syntax-subset'],
  ['destructuring parameter', 'function handler({ request }) { return request; }', 'syntax-subset'],
  ['default parameter', 'function f(a = 1) { return a; }\n' + OK, 'syntax-subset'],
  ['optional chaining', 'function handler(e) { return e?.request; }', 'syntax-subset'],
  ['nullish coalescing', 'function handler(e) { return e.request ?? null; }', 'syntax-subset'],
  ['logical assignment', 'function handler(e) { let a = null; a ??= 1; return e.request; }', 'syntax-subset'],
  ['tagged template', 'function t(s) { return s; }\nfunction handler(e) { t`x`; return e.request; }', 'syntax-subset'],
  ['BigInt literal', 'const n = 1n;\n' + OK, 'syntax-subset'],
  ['import.meta', 'const u = import.meta.url;\n' + OK, 'syntax-subset'],
  ['debugger', 'function handler(e) { debugger; return e.request; }', 'syntax-subset'],
  ['async closure', 'async function handler(e) { const f = async function () { return 1; }; await f(); return e.request; }', 'async-closure'],
  ['async arrow', 'function handler(e) { [1].map(async (x) => x); return e.request; }', 'async-closure'],
  ['await in call arguments', 'async function g(x) { return x; }\nasync function handler(e) { return g(await g(e.request)); }', 'await'],
  ['await in new arguments', 'async function g(x) { return x; }\nasync function handler(e) { return new Object(await g(1)); }', 'await'],
  ['top-level await', "const v = await Promise.resolve(1);\n" + OK, 'await'],
  ['console.log with two arguments', "function handler(e) { console.log('a', e.request.uri); return e.request; }", 'console'],
  ['console.error', 'function handler(e) { console.error(e.request.uri); return e.request; }', 'console'],
  ['no handler', 'function main(event) { return event.request; }', 'handler'],
  ['not JavaScript', 'function handler(e) { return e.request }}', 'syntax'],
  ['too large', OK + '// ' + 'x'.repeat(MAX_BYTES) + '\n', 'size'],
];

describe('the check refuses', () => {
  for (const [what, source, rule] of BAD) {
    test(what, () => {
      const rules = checkSource(source).map((p) => p.rule);
      assert.ok(rules.includes(rule), `expected ${rule}, got ${JSON.stringify(rules)}`);
    });
  }
});

describe('the check allows', () => {
  const GOOD = [
    ['a plain handler', OK],
    ['the two imports', "import crypto from 'crypto';\nimport cf from 'cloudfront';\n" + OK],
    ['an async handler awaiting into variables', 'async function g(x) { return x; }\nasync function handler(e) { const r = await g(e.request); return r; }'],
    ['console.log with one argument', "function handler(e) { console.log('uri ' + e.request.uri); return e.request; }"],
    ['names of globals as property names', 'function handler(e) { const o = { eval: 1, process: 2 }; return e.request.process || o.eval; }'],
    ['rest parameters', 'function f(...args) { return args.length; }\n' + OK],
    ['const, let, arrow functions, template literals', 'const f = (x) => `${x}`;\nfunction handler(e) { let u = f(e.request.uri); return e.request; }'],
    ['exactly the size limit', OK + '//' + 'x'.repeat(MAX_BYTES - OK.length - 3) + '\n'],
  ];
  for (const [what, source] of GOOD) {
    test(what, () => {
      assert.deepEqual(checkSource(source), []);
    });
  }
});
