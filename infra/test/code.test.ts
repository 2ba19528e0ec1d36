import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { L42Binary } from '../lib';
import { ALLOW_STAND_IN_CONTEXT, bundledCode } from '../lib/code';
import { throwsValidation } from './support';

/** A folder laid out as scripts/package lays out the package's `lambda/`. */
function bundle(kind: string, edit?: (m: any, dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-bundle-'));
  const binaries: any = {};
  for (const arch of ['arm64', 'x86_64']) {
    binaries[arch] = {};
    for (const bin of Object.values(L42Binary)) {
      const file = `${arch}/${bin}/bootstrap.zip`;
      fs.mkdirSync(path.join(dir, arch, bin), { recursive: true });
      const body = Buffer.from(`PK stand-in ${arch} ${bin}`);
      fs.writeFileSync(path.join(dir, file), body);
      binaries[arch][bin] = { file, sha256: crypto.createHash('sha256').update(body).digest('hex'), bytes: body.length };
    }
  }
  const manifest = { format: 1, kind, commit: 'abc1234', binaries };
  edit?.(manifest, dir);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

function stackWith(context: Record<string, string> = {}): Stack {
  return new Stack(new App({ context }), 'Test');
}

test('the bundled code: the zip of the architecture asked for, checked against its SHA-256', () => {
  const dir = bundle('release');
  const arm = bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, dir) as lambda.AssetCode;
  assert.equal(arm.path, path.join(dir, 'arm64', 'l42-authorizer', 'bootstrap.zip'));
  const x86 = bundledCode(stackWith(), L42Binary.REFRESH, lambda.Architecture.X86_64, dir) as lambda.AssetCode;
  assert.equal(x86.path, path.join(dir, 'x86_64', 'l42-refresh', 'bootstrap.zip'));
});

test('the bundled code: missing, damaged or escaping the package is refused with what to do', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-bundle-'));
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, empty),
    'Test',
    /carries no Lambda code .*pass lambdaDir \(your cargo-lambda build\) or code/,
  );
  const damaged = bundle('release');
  fs.appendFileSync(path.join(damaged, 'arm64', 'l42-authorizer', 'bootstrap.zip'), 'x');
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, damaged),
    'Test',
    /does not match its SHA-256 .*damaged/,
  );
  const escaping = bundle('release', (m) => {
    m.binaries.arm64['l42-authorizer'].file = '../../etc/passwd';
  });
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, escaping),
    'Test',
    /is missing from/,
  );
  const unlisted = bundle('release', (m) => {
    delete m.binaries.x86_64;
  });
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.X86_64, unlisted),
    'Test',
    /lists no l42-authorizer for x86_64/,
  );
  const future = bundle('release', (m) => {
    m.format = 2;
  });
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, future),
    'Test',
    /lists no l42-authorizer/,
  );
  const garbled = bundle('release');
  fs.writeFileSync(path.join(garbled, 'manifest.json'), '{');
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.AUTHORIZER, lambda.Architecture.ARM_64, garbled),
    'Test',
    /manifest.json does not parse/,
  );
});

test('stand-in code never synthesizes silently: refused, or allowed by context with a warning', () => {
  const dir = bundle('stand-in');
  throwsValidation(
    () => bundledCode(stackWith(), L42Binary.TOKEN_HANDLER, lambda.Architecture.ARM_64, dir),
    'Test',
    new RegExp(`stand-in Lambda code .*cannot run.*${ALLOW_STAND_IN_CONTEXT}=true`),
  );
  // Any other value than true is a refusal too.
  throwsValidation(
    () => bundledCode(stackWith({ [ALLOW_STAND_IN_CONTEXT]: 'yes' }), L42Binary.TOKEN_HANDLER, lambda.Architecture.ARM_64, dir),
    'Test',
    /stand-in Lambda code/,
  );
  const stack = stackWith({ [ALLOW_STAND_IN_CONTEXT]: 'true' });
  const code = bundledCode(stack, L42Binary.TOKEN_HANDLER, lambda.Architecture.ARM_64, dir) as lambda.AssetCode;
  assert.equal(code.path, path.join(dir, 'arm64', 'l42-token-handler', 'bootstrap.zip'));
  const warnings = Annotations.fromStack(stack).findWarning('/Test', Match.stringLikeRegexp('stand-in Lambda code .*do not deploy this template'));
  assert.equal(warnings.length, 1);
});
