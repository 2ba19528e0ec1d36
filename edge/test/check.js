// The shipping check for CloudFront Functions (cloudfront-js-2.0): size and language
// subset. Parses each file with acorn and refuses what the runtime documents as
// unsupported or restricted, plus what these functions must never do:
// - more than MAX_BYTES bytes (the runtime's limit is 10 KB; ours is 8 KB, room to spare);
// - dynamic code (`eval`, `Function`, `x.constructor(...)`), timers, `require`, `process`,
//   network, file system and other globals the runtime lacks (Map, Set, Proxy, ...);
// - imports other than `import name from 'crypto'` / `'cloudfront'`, any export, dynamic
//   import, top-level await;
// - `Promise.all` and the other combinators, and promise chains (`then`/`catch`/`finally`),
//   which the KeyValueStore documentation warns against (memory);
// - syntax the runtime does not list: classes, generators, for-of, spread, destructuring,
//   default parameters, optional chaining, `??`, logical assignment, tagged templates,
//   BigInt, `import.meta`, `debugger`;
// - async closures and `await` inside call arguments (the runtime supports neither);
// - console other than `console.log` with one argument;
// - a file without a top-level `function handler(event)`.
// Usage: node test/check.js [file...]   (default: every functions/*.js); exit 1 on a problem.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';

export const MAX_BYTES = 8 * 1024;

const MODULES = new Set(['crypto', 'cloudfront']);
const GLOBALS = new Set([
  'eval', 'Function', 'AsyncFunction', 'GeneratorFunction',
  'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate',
  'queueMicrotask', 'require', 'module', 'exports', '__dirname', '__filename', 'process',
  'fetch', 'XMLHttpRequest', 'WebSocket', 'WebAssembly', 'Worker',
  'Proxy', 'Reflect', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry',
  'BigInt', 'BigInt64Array', 'BigUint64Array', 'Intl', 'SharedArrayBuffer', 'Atomics',
]);
const COMBINATORS = new Set(['all', 'allSettled', 'any', 'race']);
const CHAINS = new Set(['then', 'catch', 'finally']);
const FUNCTIONS = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

function propName(member) {
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.property.type === 'Literal') return String(member.property.value);
  return null;
}

// Problems in one source text: [{rule, line, message}], empty when it may ship.
export function checkSource(source) {
  const problems = [];
  const add = (rule, node, message) =>
    problems.push({ rule, line: node && node.loc ? node.loc.start.line : 0, message });

  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_BYTES) add('size', null, `${bytes} bytes, more than ${MAX_BYTES}`);

  let ast;
  try {
    ast = acorn.parse(source, { ecmaVersion: 2022, sourceType: 'module', locations: true });
  } catch (e) {
    add('syntax', { loc: { start: { line: e.loc ? e.loc.line : 0 } } }, e.message);
    return problems;
  }

  const hasHandler = ast.body.some(
    (n) => n.type === 'FunctionDeclaration' && n.id && n.id.name === 'handler' && n.params.length <= 1
  );
  if (!hasHandler) add('handler', null, 'no top-level `function handler(event)`');

  // ancestors: the nodes above `node`, nearest last.
  function visit(node, ancestors, parent, key) {
    if (!node || typeof node.type !== 'string') return;
    rules(node, ancestors, parent, key);
    const next = ancestors.concat([node]);
    for (const k of Object.keys(node)) {
      if (k === 'loc' || k === 'start' || k === 'end') continue;
      const v = node[k];
      if (Array.isArray(v)) v.forEach((c) => visit(c, next, node, k));
      else if (v && typeof v.type === 'string') visit(v, next, node, k);
    }
  }

  function enclosingFunction(ancestors) {
    for (let i = ancestors.length - 1; i >= 0; i--) if (FUNCTIONS.has(ancestors[i].type)) return ancestors[i];
    return null;
  }

  function rules(node, ancestors, parent, key) {
    switch (node.type) {
      case 'ImportDeclaration': {
        const spec = node.specifiers;
        const ok =
          MODULES.has(node.source.value) && spec.length === 1 && spec[0].type === 'ImportDefaultSpecifier';
        if (!ok) add('import', node, `only \`import name from 'crypto'|'cloudfront'\`, not from '${node.source.value}'`);
        break;
      }
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        add('export', node, 'a function exports nothing: CloudFront calls the top-level `handler`');
        break;
      case 'ImportExpression':
        add('import', node, 'dynamic import');
        break;
      case 'MetaProperty':
        add('syntax-subset', node, `${node.meta.name}.${node.property.name}`);
        break;
      case 'Identifier': {
        if (!GLOBALS.has(node.name)) break;
        const isKey =
          (parent.type === 'MemberExpression' && key === 'property' && !parent.computed) ||
          (parent.type === 'Property' && key === 'key' && !parent.computed);
        if (!isKey) add('global', node, `\`${node.name}\` is not available or not allowed`);
        break;
      }
      case 'MemberExpression': {
        const name = propName(node);
        if (node.object.type === 'Identifier' && node.object.name === 'Promise' && COMBINATORS.has(name)) {
          add('promise-combinator', node, `Promise.${name}: read the store with one await at a time`);
        }
        if (name === 'constructor') add('global', node, '`.constructor` (a way to the Function constructor)');
        if (node.object.type === 'Identifier' && node.object.name === 'console') {
          const call = parent.type === 'CallExpression' && key === 'callee' ? parent : null;
          if (name !== 'log' || !call || call.arguments.length !== 1) {
            add('console', node, 'only console.log with one argument');
          }
        }
        break;
      }
      case 'CallExpression': {
        if (node.callee.type === 'MemberExpression' && CHAINS.has(propName(node.callee))) {
          add('promise-chain', node, `.${propName(node.callee)}(): use await`);
        }
        break;
      }
      case 'AwaitExpression': {
        const fn = enclosingFunction(ancestors);
        if (!fn) {
          add('await', node, 'top-level await');
          break;
        }
        // inside the arguments of a call or `new`, within the same function
        for (let i = ancestors.length - 1; i >= 0 && ancestors[i] !== fn; i--) {
          const a = ancestors[i];
          const child = i + 1 < ancestors.length ? ancestors[i + 1] : node;
          if ((a.type === 'CallExpression' || a.type === 'NewExpression') && a.arguments.includes(child)) {
            add('await', node, 'await inside call arguments: await into a variable first');
            break;
          }
        }
        break;
      }
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (node.generator) add('syntax-subset', node, 'generator function');
        if (node.async) {
          const topLevel = node.type === 'FunctionDeclaration' && parent.type === 'Program';
          if (!topLevel) add('async-closure', node, 'async functions only as top-level declarations');
        }
        for (const p of node.params) {
          if (p.type === 'AssignmentPattern') add('syntax-subset', p, 'default parameter');
          if (p.type === 'ObjectPattern' || p.type === 'ArrayPattern') add('syntax-subset', p, 'destructuring');
          if (p.type === 'RestElement' && p.argument.type !== 'Identifier') add('syntax-subset', p, 'destructuring');
        }
        break;
      }
      case 'ObjectPattern':
      case 'ArrayPattern':
        if (!FUNCTIONS.has(parent.type)) add('syntax-subset', node, 'destructuring');
        break;
      case 'AssignmentPattern':
        if (!FUNCTIONS.has(parent.type)) add('syntax-subset', node, 'default value');
        break;
      case 'RestElement':
        if (!FUNCTIONS.has(parent.type)) add('syntax-subset', node, 'rest element outside parameters');
        break;
      case 'ClassDeclaration':
      case 'ClassExpression':
        add('syntax-subset', node, 'class');
        break;
      case 'YieldExpression':
        add('syntax-subset', node, 'yield');
        break;
      case 'ForOfStatement':
        add('syntax-subset', node, 'for-of');
        break;
      case 'SpreadElement':
        add('syntax-subset', node, 'spread');
        break;
      case 'ChainExpression':
        add('syntax-subset', node, 'optional chaining');
        break;
      case 'LogicalExpression':
        if (node.operator === '??') add('syntax-subset', node, '??');
        break;
      case 'AssignmentExpression':
        if (['??=', '||=', '&&='].includes(node.operator)) add('syntax-subset', node, node.operator);
        break;
      case 'TaggedTemplateExpression':
        add('syntax-subset', node, 'tagged template');
        break;
      case 'Literal':
        if (typeof node.bigint === 'string') add('syntax-subset', node, 'BigInt literal');
        break;
      case 'DebuggerStatement':
        add('syntax-subset', node, 'debugger');
        break;
      case 'WithStatement':
        add('syntax-subset', node, 'with');
        break;
      default:
        break;
    }
  }

  visit(ast, [], null, null);
  return problems;
}

export function checkFile(file) {
  return checkSource(fs.readFileSync(file, 'utf8'));
}

export const FUNCTIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'functions');

export function functionFiles() {
  return fs
    .readdirSync(FUNCTIONS_DIR)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => path.join(FUNCTIONS_DIR, f));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.length > 2 ? process.argv.slice(2) : functionFiles();
  let bad = 0;
  for (const file of files) {
    const problems = checkFile(file);
    const size = fs.statSync(file).size;
    console.log(`${path.basename(file)}: ${size} bytes${problems.length ? '' : ', ok'}`);
    for (const p of problems) console.log(`  ${file}:${p.line}: ${p.rule}: ${p.message}`);
    bad += problems.length;
  }
  process.exitCode = bad ? 1 : 0;
}
