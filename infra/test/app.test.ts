import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { L42Binary, L42_REVOCATION_BOUND } from '../lib';
import { l42Code } from '../lib/code';
import { L42Stack } from '../example/stack';
import { actions, fakeLambdaDir, functionStatements, idOf, newStack, only, policyDir, statements, throwsValidation } from './support';

const lambdaDir = fakeLambdaDir();
const dist = path.resolve(__dirname, '..');

/** The environment without any AWS credential or profile, and no instance metadata. */
function noCredentials(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_CONFIG_FILE = path.join(os.tmpdir(), 'l42-no-aws-config');
  env.AWS_SHARED_CREDENTIALS_FILE = path.join(os.tmpdir(), 'l42-no-aws-credentials');
  return env;
}

/** Runs the sample app as `cdk synth` would (context and output folder from the environment). */
function synthApp(context: Record<string, string>) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-out-'));
  const r = spawnSync(process.execPath, [path.join(dist, 'example', 'app.js')], {
    env: { ...noCredentials(), CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify(context) },
    encoding: 'utf8',
  });
  return { out, ...r };
}

const context = {
  'l42:userPoolId': 'us-east-1_AbC123',
  'l42:clientId': 'client1',
  'l42:cognitoDomain': 'auth.example.com',
  'l42:origins': 'shop.example.com,blog.example.com',
  'l42:gate': 'true',
  'l42:backendUrl': 'https://backend.example.com',
  'l42:lambdaDir': lambdaDir,
};

test('the sample app synthesizes without AWS credentials into an environment-agnostic template', () => {
  const r = synthApp({ ...context, 'l42:policyDir': policyDir() });
  assert.equal(r.status, 0, r.stderr);
  const template = JSON.parse(fs.readFileSync(path.join(r.out, 'L42.template.json'), 'utf8'));
  const types = Object.values(template.Resources).map((x: any) => x.Type);
  const count = (t: string) => types.filter((x) => x === t).length;
  assert.equal(count('AWS::DynamoDB::Table'), 1);
  assert.equal(count('AWS::Lambda::Function'), 3);
  assert.equal(count('AWS::CloudFront::Distribution'), 2);
  assert.equal(count('AWS::CloudFront::KeyValueStore'), 1);
  assert.equal(count('AWS::CloudFront::Function'), 3);
  assert.equal(count('AWS::ApiGatewayV2::Authorizer'), 1);
  assert.equal(count('AWS::Lambda::LayerVersion'), 1);
  const manifest = JSON.parse(fs.readFileSync(path.join(r.out, 'manifest.json'), 'utf8'));
  assert.equal(manifest.artifacts.L42.environment, 'aws://unknown-account/unknown-region');
  // The three binaries are three distinct assets (prebuilt, not built here).
  const assets = JSON.parse(fs.readFileSync(path.join(r.out, 'L42.assets.json'), 'utf8'));
  const dirs = Object.values(assets.files).map((f: any) => f.source.path);
  for (const bin of ['l42-authorizer', 'l42-token-handler', 'l42-refresh']) {
    const staged = dirs.filter((d: string) => fs.existsSync(path.join(r.out, d, 'bootstrap')) &&
      fs.readFileSync(path.join(r.out, d, 'bootstrap'), 'utf8').includes(bin));
    assert.equal(staged.length, 1, bin);
  }
});

test('the sample app names the missing context values', () => {
  const r = synthApp({ 'l42:userPoolId': 'us-east-1_AbC123' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /missing context l42:clientId, l42:cognitoDomain, l42:origins/);
});

test('the ready stack: FRONTEND_URL and the allow-list are the distributions, no wildcard resources', () => {
  const app = new App();
  const stack = new L42Stack(app, 'L42', {
    userPoolId: 'us-east-1_AbC123',
    clientId: 'client1',
    cognitoDomain: 'auth.example.com',
    originDomains: ['shop.example.com', 'blog.example.com', 'docs.example.com'],
    backendUrl: 'https://backend.example.com',
    lambdaDir,
  });
  const t = Template.fromStack(stack);
  const dists = ['EdgeDistribution1', 'EdgeDistribution2', 'EdgeDistribution3'].map((p) => idOf(t, 'AWS::CloudFront::Distribution', p));
  const url = (id: string) => ({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [id, 'DomainName'] }]] });
  const withSessions = (Object.values(t.findResources('AWS::Lambda::Function')) as any[]).filter(
    (f) => f.Properties.Environment.Variables.SESSION_BACKEND === 'dynamodb',
  );
  assert.equal(withSessions.length, 2, 'the token handler and refresh');
  for (const fn of withSessions) {
    const env = fn.Properties.Environment.Variables;
    assert.deepEqual(env.FRONTEND_URL, url(dists[0]));
    assert.deepEqual(env.CALLBACK_ALLOWED_ORIGINS, {
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [dists[1], 'DomainName'] }, ',https://', { 'Fn::GetAtt': [dists[2], 'DomainName'] }]],
    });
    assert.equal(env.CALLBACK_USE_ORIGIN, 'true');
  }
  // The authorizer checks revocation against the token handler's table, within the bound,
  // and reads nothing else of it: no secret (Bearer tokens only), no index.
  const authFn = idOf(t, 'AWS::Lambda::Function', 'AuthorizerFunction');
  const authEnv = t.toJSON().Resources[authFn].Properties.Environment.Variables;
  const tableId = idOf(t, 'AWS::DynamoDB::Table', 'TokenHandlerSessions');
  assert.equal(authEnv.REVOCATION_CHECK, 'on');
  assert.deepEqual(authEnv.DYNAMODB_TABLE, { Ref: tableId });
  assert.equal(authEnv.SESSION_SECRET_ARN, undefined);
  const authSt = functionStatements(t, authFn);
  assert.deepEqual(authSt.map(actions), [['dynamodb:GetItem']]);
  assert.deepEqual(authSt[0].Resource, { 'Fn::GetAtt': [tableId, 'Arn'] });
  const ttl = only(t, 'AWS::ApiGatewayV2::Authorizer').props.AuthorizerResultTtlInSeconds;
  assert.equal(ttl + Number(authEnv.REVOCATION_RECHECK_SECONDS), L42_REVOCATION_BOUND.toSeconds());
  assert.ok(ttl > 0, 'the result cache stays on');
  // Every statement names a specific resource: no "*" where an ARN exists, no action wildcard.
  const st = statements(t);
  assert.ok(st.length > 0);
  for (const s of st) {
    for (const r of ([] as any[]).concat(s.Resource)) assert.notEqual(r, '*', JSON.stringify(s));
    for (const a of ([] as string[]).concat(s.Action)) assert.ok(!a.includes('*'), JSON.stringify(s));
  }
  // The CloudFront auth origin is the token handler's API.
  const apiId = idOf(t, 'AWS::ApiGatewayV2::Api', 'TokenHandlerApi');
  const d = t.toJSON().Resources[dists[0]].Properties.DistributionConfig;
  const auth = d.Origins.find((o: any) => o.Id === d.CacheBehaviors[0].TargetOriginId);
  assert.deepEqual(auth.DomainName, {
    'Fn::Join': ['', [{ Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]],
  });
});

test('code: a missing build fails with the command to run; bootstrap.zip is taken as is; code wins', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-nobuild-'));
  const scope = newStack();
  throwsValidation(
    () => l42Code(scope, L42Binary.REFRESH, { lambdaDir: empty }),
    'Test',
    /no l42-refresh build in .*cargo lambda build --release --arm64/,
  );
  fs.mkdirSync(path.join(empty, 'l42-refresh'));
  fs.writeFileSync(path.join(empty, 'l42-refresh', 'bootstrap.zip'), 'PK');
  const zip = l42Code(scope, L42Binary.REFRESH, { lambdaDir: empty }) as lambda.AssetCode;
  assert.equal(zip.path, path.join(empty, 'l42-refresh', 'bootstrap.zip'));
  const given = lambda.Code.fromInline('x');
  assert.equal(l42Code(scope, L42Binary.REFRESH, { lambdaDir: empty, code: given }), given);
  assert.deepEqual(Object.values(L42Binary), ['l42-authorizer', 'l42-token-handler', 'l42-refresh']);
});

test('the ready stack: an empty originDomains fails, naming the stack', () => {
  const props = { userPoolId: 'us-east-1_AbC123', clientId: 'client1', cognitoDomain: 'auth.example.com', lambdaDir };
  throwsValidation(() => new L42Stack(new App(), 'L42', { ...props, originDomains: [] }), 'L42', /originDomains is empty/);
});
