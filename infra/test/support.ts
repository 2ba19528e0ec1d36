// Shared test support: fake prebuilt Lambda assets (tiny `bootstrap` files, so no Rust is
// built), a policy folder, and small template helpers.
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { L42Errors } from '../lib';
import { L42ValidationError } from '../lib/errors';

/** A temporary folder laid out as `cargo lambda build` writes it, one distinct bootstrap per binary. */
export function fakeLambdaDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-lambda-'));
  for (const bin of ['l42-authorizer', 'l42-token-handler', 'l42-refresh']) {
    fs.mkdirSync(path.join(dir, bin));
    fs.writeFileSync(path.join(dir, bin, 'bootstrap'), `#!/bin/sh\n# test stand-in for ${bin}\nexit 1\n`, {
      mode: 0o755,
    });
  }
  return dir;
}

/** The workspace's example schema and policies, flattened into one folder as the authorizer reads them. */
export function policyDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-policies-'));
  const root = path.resolve(__dirname, '..', '..', '..');
  fs.copyFileSync(path.join(root, 'cedar', 'schema', 'app.cedarschema'), path.join(dir, 'app.cedarschema'));
  for (const f of fs.readdirSync(path.join(root, 'cedar', 'policies'))) {
    fs.copyFileSync(path.join(root, 'cedar', 'policies', f), path.join(dir, f));
  }
  return dir;
}

/** The repository root (tests run from infra/dist/test). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** A fresh environment-agnostic stack in a fresh app. */
export function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

/** The one resource of `type` in `t`, failing when there is not exactly one. */
export function only(t: Template, type: string): { id: string; props: any; resource: any } {
  const all = t.findResources(type);
  const ids = Object.keys(all);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return { id: ids[0], props: all[ids[0]].Properties, resource: all[ids[0]] };
}

/** The logical id of the resource of `type` whose id starts with `prefix`. */
export function idOf(t: Template, type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((k) => k.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/** Every IAM statement of every AWS::IAM::Policy and inline role policy in `t`. */
export function statements(t: Template): any[] {
  const out: any[] = [];
  for (const p of Object.values(t.findResources('AWS::IAM::Policy')) as any[]) {
    out.push(...p.Properties.PolicyDocument.Statement);
  }
  for (const r of Object.values(t.findResources('AWS::IAM::Role')) as any[]) {
    for (const p of r.Properties.Policies ?? []) out.push(...p.PolicyDocument.Statement);
  }
  return out;
}

/** The statements of the default policy attached to the role of the function `fnId`. */
export function functionStatements(t: Template, fnId: string): any[] {
  const fn = t.toJSON().Resources[fnId];
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const out: any[] = [];
  for (const p of Object.values(t.findResources('AWS::IAM::Policy')) as any[]) {
    if (p.Properties.Roles.some((r: any) => r.Ref === roleId)) out.push(...p.Properties.PolicyDocument.Statement);
  }
  return out;
}

/** Actions of a statement as a sorted array. */
export function actions(s: any): string[] {
  return ([] as string[]).concat(s.Action).sort();
}

/**
 * Asserts that `fn` throws l42's validation error bound to the construct at `path` (its
 * message opening with `[path] l42: `), or bound to none when `path` is undefined, with a
 * message matching `message`.
 */
export function throwsValidation(fn: () => unknown, path: string | undefined, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof L42ValidationError, `not an L42ValidationError: ${String(e)}`);
    assert.ok(L42Errors.isValidationError(e));
    assert.equal(e.name, 'L42ValidationError');
    assert.equal(e.constructPath, path);
    assert.ok(e.message.startsWith(path === undefined ? 'l42: ' : `[${path}] l42: `), e.message);
    assert.match(e.message, message);
    return true;
  });
}
