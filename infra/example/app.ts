#!/usr/bin/env node
// The sample app: the whole l42 deployment in one stack, configured by context values
// (`cdk synth -c l42:userPoolId=… -c …`, or CDK_CONTEXT_JSON when run by node directly).
// Nothing here looks anything up in AWS, so it synthesizes without credentials.
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { workspaceRoot } from '../lib/code';
import { L42ValidationError } from '../lib/errors';
import { L42Jwks } from '../lib/jwks';
import { L42Stack } from './stack';

const app = new App();

function context(name: string): string | undefined {
  const v = app.node.tryGetContext(`l42:${name}`);
  if (v === undefined || v === null || v === '') return undefined;
  return String(v);
}

const missing = ['userPoolId', 'clientId', 'cognitoDomain', 'origins'].filter((k) => context(k) === undefined);
if (missing.length > 0) {
  throw new L42ValidationError(
    `l42: missing context ${missing.map((k) => `l42:${k}`).join(', ')} ` +
      '(e.g. cdk synth -c l42:userPoolId=us-east-1_AbC123 -c l42:clientId=… ' +
      '-c l42:cognitoDomain=auth.example.com -c l42:origins=app.example.com,www.example.com)',
    app,
  );
}

const arch = context('architecture') ?? 'arm64';
if (arch !== 'arm64' && arch !== 'x86_64') {
  throw new L42ValidationError(`l42: l42:architecture is arm64 or x86_64, not ${arch}`, app);
}
const jwksFile = context('jwksFile');
const account = context('account');
const region = context('region');

new L42Stack(app, context('stackName') ?? 'L42', {
  // Environment-agnostic unless both are given.
  env: account && region ? { account, region } : undefined,
  userPoolId: context('userPoolId')!,
  clientId: context('clientId')!,
  cognitoDomain: context('cognitoDomain')!,
  originDomains: context('origins')!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
  gate: context('gate') === 'true',
  backendUrl: context('backendUrl'),
  policyDir: context('policyDir'),
  jwks: jwksFile ? L42Jwks.fromFile(jwksFile) : undefined,
  // Your cargo-lambda build in this workspace (README, "Deploy"), unless named.
  lambdaDir: context('lambdaDir') ?? path.join(workspaceRoot(app), 'target', 'lambda'),
  architecture: arch === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
  authPathPrefix: context('authPathPrefix'),
});
