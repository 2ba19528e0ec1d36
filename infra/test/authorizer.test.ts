import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  L42Authorizer,
  L42AuthorizerProps,
  L42HttpApiResponse,
  L42IdentitySource,
  L42Jwks,
  L42RestAuthorizerType,
  L42TokenUse,
  L42_REVOCATION_BOUND,
} from '../lib';
import { Construct } from 'constructs';
import { actions, fakeLambdaDir, functionStatements, idOf, newStack, only, policyDir, throwsValidation } from './support';

const lambdaDir = fakeLambdaDir();
const base: L42AuthorizerProps = {
  lambdaDir,
  userPoolIds: ['us-east-1_AbC123', 'eu-west-1_XyZ789'],
  clientIds: ['client1', 'client2'],
};
const JWKS = { keys: [{ kty: 'RSA', kid: 'k1', alg: 'RS256', use: 'sig', e: 'AQAB', n: 'x'.repeat(342) }] };

function authorizerEnv(t: Template): Record<string, any> {
  return t.toJSON().Resources[idOf(t, 'AWS::Lambda::Function', 'AuthFunction')].Properties.Environment.Variables;
}

/** A REST API with one method guarded by `attachToRestApi(type)`. */
function rest(props: Partial<L42AuthorizerProps>, type: L42RestAuthorizerType) {
  const stack = newStack();
  const auth = new L42Authorizer(stack, 'Auth', { ...base, ...props });
  const api = new apigateway.RestApi(stack, 'Rest');
  const authorizer = auth.attachToRestApi(api, { type });
  api.root.addResource('orders').addMethod('GET', new apigateway.MockIntegration(), { authorizer });
  return Template.fromStack(stack);
}

test('the function: provided.al2023, arm64, bootstrap, the verifier and Cedar configuration', () => {
  const t = rest({}, L42RestAuthorizerType.TOKEN);
  const fn = only(t, 'AWS::Lambda::Function').props;
  assert.equal(fn.Runtime, 'provided.al2023');
  assert.deepEqual(fn.Architectures, ['arm64']);
  assert.equal(fn.Handler, 'bootstrap');
  assert.equal(fn.Timeout, 10);
  const env = fn.Environment.Variables;
  assert.equal(env.COGNITO_USER_POOL_ID, 'us-east-1_AbC123,eu-west-1_XyZ789');
  assert.equal(env.COGNITO_CLIENT_ID, 'client1,client2');
  assert.equal(env.TOKEN_USE, 'access');
  assert.equal(env.IDENTITY_SOURCES, 'header');
  assert.equal(env.POLICY_CACHE_SAFE, 'true');
  assert.equal(env.HTTP_API_RESPONSE, 'simple');
  assert.equal(env.JWKS_JSON, undefined);
  assert.equal(env.CEDAR_POLICY_DIR, undefined);
  const x86 = rest({ architecture: lambda.Architecture.X86_64 }, L42RestAuthorizerType.TOKEN);
  assert.deepEqual(only(x86, 'AWS::Lambda::Function').props.Architectures, ['x86_64']);
  // Without a session nothing but logging: no table, no secret.
  assert.deepEqual(functionStatements(t, only(t, 'AWS::Lambda::Function').id), []);
});

test('REST TOKEN: the Authorization header, cached 300 s, invoked only by this API', () => {
  const t = rest({}, L42RestAuthorizerType.TOKEN);
  const a = only(t, 'AWS::ApiGateway::Authorizer').props;
  assert.equal(a.Type, 'TOKEN');
  assert.equal(a.IdentitySource, 'method.request.header.Authorization');
  assert.equal(a.AuthorizerResultTtlInSeconds, 300);
  assert.deepEqual(a.RestApiId, { Ref: idOf(t, 'AWS::ApiGateway::RestApi', 'Rest') });
  const m = only(t, 'AWS::ApiGateway::Method').props;
  assert.equal(m.AuthorizationType, 'CUSTOM');
  assert.deepEqual(m.AuthorizerId, { Ref: only(t, 'AWS::ApiGateway::Authorizer').id });
  const perm = only(t, 'AWS::Lambda::Permission').props;
  assert.equal(perm.Principal, 'apigateway.amazonaws.com');
  assert.equal(perm.Action, 'lambda:InvokeFunction');
  assert.ok(JSON.stringify(perm.SourceArn).includes('/authorizers/'), 'scoped to the authorizer');
});

test('REST REQUEST: the configured source as identity source when cached', () => {
  const t = rest({ identitySources: [L42IdentitySource.QUERY] }, L42RestAuthorizerType.REQUEST);
  const a = only(t, 'AWS::ApiGateway::Authorizer').props;
  assert.equal(a.Type, 'REQUEST');
  assert.equal(a.IdentitySource, 'method.request.querystring.token');
  assert.equal(a.AuthorizerResultTtlInSeconds, 300);
  assert.equal(authorizerEnv(t).IDENTITY_SOURCES, 'query');
});

test('REST REQUEST with several sources or context-reading policies: TTL 0, no identity source', () => {
  for (const props of [
    { identitySources: [L42IdentitySource.HEADER, L42IdentitySource.QUERY] },
    { policiesReadRequestContext: true },
  ] as Partial<L42AuthorizerProps>[]) {
    const t = rest(props, L42RestAuthorizerType.REQUEST);
    const a = only(t, 'AWS::ApiGateway::Authorizer').props;
    assert.equal(a.Type, 'REQUEST');
    assert.equal(a.AuthorizerResultTtlInSeconds, 0);
    assert.equal(a.IdentitySource, undefined, JSON.stringify(a));
  }
  // TOKEN with context-reading policies: not cached either.
  const contextToken = rest({ policiesReadRequestContext: true }, L42RestAuthorizerType.TOKEN);
  assert.equal(only(contextToken, 'AWS::ApiGateway::Authorizer').props.AuthorizerResultTtlInSeconds, 0);
  // Asking to cache what cannot be cached is refused.
  const minute = Duration.minutes(1);
  throwsValidation(
    () => rest({ policiesReadRequestContext: true, resultsCacheTtl: minute }, L42RestAuthorizerType.TOKEN),
    'Test/Auth',
    /cannot be cached/,
  );
  throwsValidation(
    () =>
      rest(
        { identitySources: [L42IdentitySource.HEADER, L42IdentitySource.QUERY], resultsCacheTtl: minute },
        L42RestAuthorizerType.REQUEST,
      ),
    'Test/Auth',
    /exactly one identity source/,
  );
  throwsValidation(
    () => rest({ identitySources: [L42IdentitySource.QUERY] }, L42RestAuthorizerType.TOKEN),
    'Test/Auth',
    /TOKEN authorizer reads the Authorization header/,
  );
});

test('the cookie source: GetItem on the session table and GetSecretValue on the secret, nothing else; TTL 0', () => {
  const stack = newStack();
  const table = new dynamodb.Table(stack, 'Sessions', { partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING } });
  const secret = new secretsmanager.Secret(stack, 'Secret');
  const auth = new L42Authorizer(stack, 'Auth', {
    ...base,
    identitySources: [L42IdentitySource.COOKIE, L42IdentitySource.HEADER],
    session: { table, secret, cookieDomain: 'example.com', appOrigins: ['https://app.example.com', 'https://www.example.com'] },
  });
  const api = new apigateway.RestApi(stack, 'Rest');
  api.root.addMethod('GET', new apigateway.MockIntegration(), { authorizer: auth.attachToRestApi(api, { type: L42RestAuthorizerType.REQUEST }) });
  const t = Template.fromStack(stack);
  const env = authorizerEnv(t);
  assert.equal(env.IDENTITY_SOURCES, 'cookie,header');
  assert.deepEqual(env.SESSION_SECRET_ARN, { Ref: idOf(t, 'AWS::SecretsManager::Secret', 'Secret') });
  assert.equal(env.SESSION_SECRET, undefined);
  assert.deepEqual(env.DYNAMODB_TABLE, { Ref: idOf(t, 'AWS::DynamoDB::Table', 'Sessions') });
  assert.equal(env.SESSION_HTTPS_ONLY, 'true');
  assert.equal(env.COOKIE_DOMAIN, 'example.com');
  assert.equal(env.FRONTEND_URL, 'https://app.example.com');
  assert.equal(env.CALLBACK_ALLOWED_ORIGINS, 'https://www.example.com');
  const st = functionStatements(t, idOf(t, 'AWS::Lambda::Function', 'AuthFunction'));
  assert.equal(st.length, 2);
  assert.deepEqual(actions(st[0]), ['dynamodb:GetItem']);
  assert.deepEqual(st[0].Resource, { 'Fn::GetAtt': [idOf(t, 'AWS::DynamoDB::Table', 'Sessions'), 'Arn'] });
  assert.deepEqual(actions(st[1]), ['secretsmanager:GetSecretValue']);
  assert.deepEqual(st[1].Resource, { Ref: idOf(t, 'AWS::SecretsManager::Secret', 'Secret') });
  assert.equal(only(t, 'AWS::ApiGateway::Authorizer').props.AuthorizerResultTtlInSeconds, 0);
  assert.equal(env.REVOCATION_CHECK, 'on');
  assert.equal(env.REVOCATION_RECHECK_SECONDS, '30');
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, identitySources: [L42IdentitySource.COOKIE] }),
    'Test/A',
    /needs session with the table and the session secret/,
  );
  const noSecret = newStack();
  const tableOnly = new dynamodb.Table(noSecret, 'T', { partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING } });
  throwsValidation(
    () => new L42Authorizer(noSecret, 'A', { ...base, identitySources: [L42IdentitySource.COOKIE], session: { table: tableOnly } }),
    'Test/A',
    /needs session with the table and the session secret/,
  );
  // Caching the cookie source would skip the CSRF check for a cached Allow: refused.
  const cached = newStack();
  const session = {
    table: new dynamodb.Table(cached, 'T', { partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING } }),
    secret: new secretsmanager.Secret(cached, 'S'),
  };
  throwsValidation(
    () =>
      new L42Authorizer(cached, 'A', {
        ...base,
        identitySources: [L42IdentitySource.COOKIE],
        session,
        resultsCacheTtl: Duration.minutes(5),
      }),
    'Test/A',
    /cookie identity source cannot be cached/,
  );
  // Without appOrigins no origin is trusted: the function gets neither variable.
  const plain = new L42Authorizer(cached, 'B', { ...base, identitySources: [L42IdentitySource.COOKIE], session });
  assert.equal(plain.resultsCacheTtl.toSeconds(), 0);
});

test('Bearer tokens only, with the session table: the revocation check reads the table, and the secret is neither named nor readable', () => {
  for (const withSecret of [false, true]) {
    const stack = newStack();
    const table = new dynamodb.Table(stack, 'Sessions', { partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING } });
    // The token handler's whole session access may be handed over; the authorizer takes the table alone.
    const extra = withSecret
      ? { secret: new secretsmanager.Secret(stack, 'Secret'), previousSecret: new secretsmanager.Secret(stack, 'Old'), cookieDomain: 'example.com', appOrigins: ['https://app.example.com'] }
      : {};
    new L42Authorizer(stack, 'Auth', { ...base, session: { table, ...extra } });
    const t = Template.fromStack(stack);
    const env = authorizerEnv(t);
    assert.equal(env.REVOCATION_CHECK, 'on', `withSecret=${withSecret}`);
    assert.deepEqual(env.DYNAMODB_TABLE, { Ref: idOf(t, 'AWS::DynamoDB::Table', 'Sessions') });
    for (const name of ['SESSION_SECRET_ARN', 'SESSION_SECRET_PREVIOUS_ARN', 'SESSION_HTTPS_ONLY', 'COOKIE_DOMAIN', 'FRONTEND_URL', 'CALLBACK_ALLOWED_ORIGINS']) {
      assert.equal(env[name], undefined, `${name} (withSecret=${withSecret})`);
    }
    const st = functionStatements(t, idOf(t, 'AWS::Lambda::Function', 'AuthFunction'));
    assert.equal(st.length, 1, JSON.stringify(st));
    assert.deepEqual(actions(st[0]), ['dynamodb:GetItem']);
    assert.deepEqual(st[0].Resource, { 'Fn::GetAtt': [idOf(t, 'AWS::DynamoDB::Table', 'Sessions'), 'Arn'] });
  }
});

test('HTTP API, simple responses: payload 2.0, $context.routeKey in the cache key, HTTP_API_RESPONSE=simple', () => {
  const stack = newStack();
  const auth = new L42Authorizer(stack, 'Auth', { ...base, httpApiResponse: L42HttpApiResponse.SIMPLE });
  const api = new apigwv2.HttpApi(stack, 'Http');
  api.addRoutes({
    path: '/orders/{id}',
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpUrlIntegration('Backend', 'https://backend.example.com/orders/{id}'),
    authorizer: auth.attachToHttpApi(),
  });
  const t = Template.fromStack(stack);
  const a = only(t, 'AWS::ApiGatewayV2::Authorizer').props;
  assert.equal(a.AuthorizerType, 'REQUEST');
  assert.equal(a.AuthorizerPayloadFormatVersion, '2.0');
  assert.equal(a.EnableSimpleResponses, true);
  assert.deepEqual(a.IdentitySource, ['$request.header.Authorization', '$context.routeKey']);
  assert.equal(a.AuthorizerResultTtlInSeconds, 300);
  assert.ok(JSON.stringify(a.AuthorizerUri).includes(idOf(t, 'AWS::Lambda::Function', 'AuthFunction')));
  assert.equal(authorizerEnv(t).HTTP_API_RESPONSE, 'simple');
  const route = only(t, 'AWS::ApiGatewayV2::Route').props;
  assert.equal(route.AuthorizationType, 'CUSTOM');
  assert.deepEqual(route.AuthorizerId, { Ref: only(t, 'AWS::ApiGatewayV2::Authorizer').id });
  t.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'apigateway.amazonaws.com' });
});

test('HTTP API, IAM responses: policies (payload 1.0), the token alone as cache key, HTTP_API_RESPONSE=iam', () => {
  const stack = newStack();
  const auth = new L42Authorizer(stack, 'Auth', { ...base, httpApiResponse: L42HttpApiResponse.IAM });
  const api = new apigwv2.HttpApi(stack, 'Http', { defaultAuthorizer: auth.attachToHttpApi() });
  api.addRoutes({
    path: '/orders',
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpUrlIntegration('Backend', 'https://backend.example.com/orders'),
  });
  const t = Template.fromStack(stack);
  const a = only(t, 'AWS::ApiGatewayV2::Authorizer').props;
  assert.equal(a.AuthorizerType, 'REQUEST');
  assert.equal(a.AuthorizerPayloadFormatVersion, '1.0');
  assert.equal(a.EnableSimpleResponses, undefined);
  assert.deepEqual(a.IdentitySource, ['$request.header.Authorization']);
  assert.equal(authorizerEnv(t).HTTP_API_RESPONSE, 'iam');
  assert.equal(only(t, 'AWS::ApiGatewayV2::Route').props.AuthorizationType, 'CUSTOM');
});

test('HTTP API, uncached (cookie or context policies): TTL 0', () => {
  const stack = newStack();
  const auth = new L42Authorizer(stack, 'Auth', { ...base, policiesReadRequestContext: true });
  new apigwv2.HttpApi(stack, 'Http', { defaultAuthorizer: auth.attachToHttpApi() }).addRoutes({
    path: '/a',
    integration: new HttpUrlIntegration('B', 'https://backend.example.com/a'),
  });
  const a = only(Template.fromStack(stack), 'AWS::ApiGatewayV2::Authorizer').props;
  assert.equal(a.AuthorizerResultTtlInSeconds, 0);
  assert.deepEqual(a.IdentitySource, ['$request.header.Authorization']);
});

test('WebSocket $connect: a REQUEST authorizer on the query token, the route guarded', () => {
  const stack = newStack();
  const auth = new L42Authorizer(stack, 'Auth', { ...base, identitySources: [L42IdentitySource.QUERY, L42IdentitySource.PROTOCOL] });
  const handler = new lambda.Function(stack, 'Ws', {
    runtime: lambda.Runtime.PROVIDED_AL2023,
    handler: 'bootstrap',
    code: lambda.Code.fromAsset(path.join(lambdaDir, 'l42-token-handler')),
  });
  const api = new apigwv2.WebSocketApi(stack, 'Socket');
  new apigwv2.WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'live', autoDeploy: true });
  auth.attachToWebSocketApi(api, new WebSocketLambdaIntegration('Connect', handler));
  const t = Template.fromStack(stack);
  const a = only(t, 'AWS::ApiGatewayV2::Authorizer').props;
  assert.equal(a.AuthorizerType, 'REQUEST');
  assert.deepEqual(a.IdentitySource, ['route.request.querystring.token']);
  assert.equal(a.AuthorizerResultTtlInSeconds, undefined);
  const route = only(t, 'AWS::ApiGatewayV2::Route').props;
  assert.equal(route.RouteKey, '$connect');
  assert.equal(route.AuthorizationType, 'CUSTOM');
  assert.deepEqual(route.AuthorizerId, { Ref: only(t, 'AWS::ApiGatewayV2::Authorizer').id });
  assert.equal(authorizerEnv(t).IDENTITY_SOURCES, 'query,protocol');
  // The token in Sec-WebSocket-Protocol instead:
  const s2 = newStack();
  const a2 = new L42Authorizer(s2, 'Auth', { ...base, identitySources: [L42IdentitySource.PROTOCOL] });
  // Given when the API is created, as its connect route's authorizer.
  new apigwv2.WebSocketApi(s2, 'Socket', {
    connectRouteOptions: { integration: new WebSocketLambdaIntegration('C', a2.function), authorizer: a2.webSocketAuthorizer() },
  });
  assert.deepEqual(only(Template.fromStack(s2), 'AWS::ApiGatewayV2::Authorizer').props.IdentitySource, [
    'route.request.header.Sec-WebSocket-Protocol',
  ]);
});

test('the policy folder ships as a layer named by CEDAR_POLICY_DIR; a bad folder fails synth', () => {
  const stack = newStack();
  new L42Authorizer(stack, 'Auth', { ...base, policyDir: policyDir(), application: 'App' });
  const t = Template.fromStack(stack);
  const layer = only(t, 'AWS::Lambda::LayerVersion');
  const fn = only(t, 'AWS::Lambda::Function').props;
  assert.deepEqual(fn.Layers, [{ Ref: layer.id }]);
  assert.equal(fn.Environment.Variables.CEDAR_POLICY_DIR, '/opt');
  assert.equal(fn.Environment.Variables.CEDAR_APPLICATION, 'App');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-empty-'));
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, policyDir: empty }), 'Test/A', /one \*\.cedarschema/);
});

/** A stand-in `l42` command: records its arguments, prints `stdout`, exits with `code`. */
function fakeL42(stdout: string, code = 0, stderr = ''): { command: string; args: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-cli-'));
  const command = path.join(dir, 'l42');
  const argsFile = path.join(dir, 'args');
  fs.writeFileSync(path.join(dir, 'stdout'), stdout);
  fs.writeFileSync(path.join(dir, 'stderr'), stderr);
  fs.writeFileSync(
    command,
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\ncat '${dir}/stdout'\ncat '${dir}/stderr' >&2\nexit ${code}\n`,
    { mode: 0o755 },
  );
  return { command, args: () => fs.readFileSync(argsFile, 'utf8').trim().split('\n') };
}

test('l42 policy check runs on the policy folder at synth time when the command is there', () => {
  const dir = policyDir();
  const ok = fakeL42(JSON.stringify({ routes: [{ action: 'get /orders', cache_safe: true, permits: ['a'] }] }));
  new L42Authorizer(newStack(), 'Auth', { ...base, policyDir: dir, application: 'App', l42Command: ok.command });
  assert.deepEqual(ok.args(), ['policy', 'check', dir, '--format', 'json', '--set', 'CEDAR_APPLICATION=App']);

  const broken = fakeL42(JSON.stringify({ load_errors: ['a.cedar:3: policy p: unknown action'] }), 1);
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, policyDir: dir, l42Command: broken.command }),
    'Test/A',
    /does not load: a\.cedar:3: policy p: unknown action/,
  );
  const crashed = fakeL42('', 2, 'l42: settings: bad');
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, policyDir: dir, l42Command: crashed.command }),
    'Test/A',
    /policy check failed \(exit 2\): l42: settings: bad/,
  );
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, policyDir: dir, l42Command: path.join(dir, 'no-such-l42') }),
    'Test/A',
    /cannot run/,
  );
  // A policy that reads the source IP needs policiesReadRequestContext (TTL 0); one that
  // reads the path does not.
  const byIp = fakeL42(
    JSON.stringify({
      routes: [
        { action: 'get /t/{id}', not_cache_safe_because: ['policy t reads context.pathParameters'] },
        { action: 'get /a', not_cache_safe_because: ['policy ip reads context.sourceIp'] },
      ],
    }),
  );
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, policyDir: dir, l42Command: byIp.command }),
    'Test/A',
    /route "get \/a": policy ip reads context\.sourceIp.*set policiesReadRequestContext: true/,
  );
  new L42Authorizer(newStack(), 'A', {
    ...base,
    policyDir: dir,
    l42Command: byIp.command,
    policiesReadRequestContext: true,
  });
  const byPath = fakeL42(
    JSON.stringify({ routes: [{ action: 'get /t/{id}', not_cache_safe_because: ['policy t reads context.pathParameters'] }] }),
  );
  new L42Authorizer(newStack(), 'A', { ...base, policyDir: dir, l42Command: byPath.command });
});

test('a policy folder may hold a JSON schema, or schema/ and policies/ subfolders', () => {
  // The layout is what is tested here: the check itself is a stand-in.
  const l42Command = fakeL42(JSON.stringify({ routes: [] })).command;
  const json = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-json-'));
  fs.writeFileSync(path.join(json, 'schema.cedarschema.json'), '{}');
  fs.writeFileSync(path.join(json, 'p.cedar'), 'permit(principal, action, resource);');
  new L42Authorizer(newStack(), 'A', { ...base, policyDir: json, l42Command });
  const split = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-split-'));
  fs.mkdirSync(path.join(split, 'schema'));
  fs.mkdirSync(path.join(split, 'policies'));
  fs.writeFileSync(path.join(split, 'schema', 'app.cedarschema'), 'namespace A {}');
  fs.writeFileSync(path.join(split, 'policies', 'p.cedar'), 'permit(principal, action, resource);');
  new L42Authorizer(newStack(), 'A', { ...base, policyDir: split, l42Command });
  fs.writeFileSync(path.join(split, 'other.cedarschema'), 'namespace B {}');
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, policyDir: split, l42Command }), 'Test/A', /found 2 and 1/);
});

test('an embedded JWKS goes into JWKS_JSON; fromFile; malformed and oversized ones fail synth', () => {
  const stack = newStack();
  new L42Authorizer(stack, 'Auth', { ...base, jwks: L42Jwks.fromJson(JWKS) });
  assert.equal(authorizerEnv(Template.fromStack(stack)).JWKS_JSON, JSON.stringify(JWKS));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-jwks-')), 'jwks.json');
  fs.writeFileSync(file, JSON.stringify({ 'us-east-1_AbC123': JWKS }, null, 2));
  assert.equal(L42Jwks.fromFile(file).json, JSON.stringify({ 'us-east-1_AbC123': JWKS }));
  throwsValidation(() => L42Jwks.fromJson({ keys: [] }), undefined, /at least one key/);
  throwsValidation(() => L42Jwks.fromJson('{"keys":'), undefined, /not JSON/);
  throwsValidation(() => L42Jwks.fromFile(file + '.missing'), undefined, /cannot read the JWKS file/);
  const big = { keys: Array.from({ length: 12 }, (_, i) => ({ ...JWKS.keys[0], kid: `k${i}` })) };
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, jwks: L42Jwks.fromJson(big) }), 'Test/A', /over Lambda's 4096/);
});

test('a JWKS fetched at synth time, from a loopback server only (no other network in tests)', async () => {
  throwsValidation(() => L42Jwks.fromUrl('http://example.com/jwks.json'), undefined, /must be https/);
  throwsValidation(() => L42Jwks.fromUrl('not a url'), undefined, /not a URL/);
  // The fetch blocks this process, so the server runs in a child process.
  const server = spawn(
    process.execPath,
    [
      '-e',
      `const body = process.argv[1];
       require('http').createServer((q, r) => {
         if (q.url === '/jwks.json') { r.writeHead(200, {'content-type': 'application/json'}); r.end(body); }
         else { r.writeHead(404); r.end(); }
       }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
      JSON.stringify(JWKS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await new Promise<string>((resolve, reject) => {
      server.stdout!.once('data', (d) => resolve(String(d).trim()));
      server.once('exit', (code) => reject(new Error(`the JWKS server exited (${code})`)));
    });
    assert.equal(L42Jwks.fromUrl(`http://127.0.0.1:${port}/jwks.json`).json, JSON.stringify(JWKS));
    assert.throws(() => L42Jwks.fromUrl(`http://127.0.0.1:${port}/missing`), /HTTP 404/);
  } finally {
    server.kill();
  }
});

test('bad pool ids and empty lists fail synth', () => {
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, userPoolIds: ['not-a-pool'] }), 'Test/A', /not a user pool id/);
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, userPoolIds: [] }), 'Test/A', /userPoolIds is empty/);
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, clientIds: [] }), 'Test/A', /clientIds is empty/);
  const twice = [L42IdentitySource.HEADER, L42IdentitySource.HEADER];
  throwsValidation(() => new L42Authorizer(newStack(), 'A', { ...base, identitySources: twice }), 'Test/A', /twice/);
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, environment: { SESSION_SECRET: 's'.repeat(40) } }),
    'Test/A',
    /must not be an environment value/,
  );
});

test('the enums carry the exact strings the function reads', () => {
  assert.deepEqual(Object.values(L42IdentitySource), ['header', 'query', 'protocol', 'cookie']);
  assert.deepEqual(Object.values(L42HttpApiResponse), ['simple', 'iam']);
  assert.deepEqual(Object.values(L42TokenUse), ['access', 'id', 'any']);
  assert.deepEqual(Object.values(L42RestAuthorizerType), ['TOKEN', 'REQUEST']);
  for (const [tokenUse, value] of [
    [L42TokenUse.ACCESS, 'access'],
    [L42TokenUse.ID, 'id'],
    [L42TokenUse.ANY, 'any'],
  ] as const) {
    const stack = newStack();
    new L42Authorizer(stack, 'Auth', { ...base, tokenUse });
    assert.equal(authorizerEnv(Template.fromStack(stack)).TOKEN_USE, value);
  }
});

test('a choice outside its enum (plain JavaScript, other languages) fails with the construct path', () => {
  // What a caller without TypeScript's checks can pass.
  const bogus = <T>(v: string) => v as unknown as T;
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, identitySources: [bogus<L42IdentitySource>('Header')] }),
    'Test/A',
    /an identity source must be one of 'header', 'query', 'protocol', 'cookie', not "Header"/,
  );
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, tokenUse: bogus<L42TokenUse>('both') }),
    'Test/A',
    /tokenUse must be one of 'access', 'id', 'any', not "both"/,
  );
  throwsValidation(
    () => new L42Authorizer(newStack(), 'A', { ...base, httpApiResponse: bogus<L42HttpApiResponse>('IAM') }),
    'Test/A',
    /httpApiResponse must be one of 'simple', 'iam', not "IAM"/,
  );
  throwsValidation(
    () => rest({}, bogus<L42RestAuthorizerType>('token')),
    'Test/Auth',
    /the REST authorizer type must be one of 'TOKEN', 'REQUEST', not "token"/,
  );
});

test('validation errors name the construct where it is nested, and keep the cause', () => {
  const stack = newStack();
  const team = new Construct(stack, 'Team');
  throwsValidation(() => new L42Authorizer(team, 'Auth', { ...base, clientIds: [] }), 'Test/Team/Auth', /clientIds is empty/);
  const missing = path.join(os.tmpdir(), 'l42-infra-no-such-policy-folder');
  assert.throws(
    () => new L42Authorizer(new Construct(newStack(), 'Team'), 'Auth', { ...base, policyDir: missing }),
    (e: any) => {
      assert.equal(e.constructPath, 'Test/Team/Auth');
      assert.match(e.message, /^\[Test\/Team\/Auth\] l42: cannot read the policy folder /);
      assert.equal(e.cause?.code, 'ENOENT');
      return true;
    },
  );
});

test('with session, revocation recheck plus the result TTL stay within the documented bound', () => {
  const withSession = (extra: Partial<L42AuthorizerProps>) => {
    const stack = newStack();
    const session = {
      table: new dynamodb.Table(stack, 'T', { partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING } }),
      secret: new secretsmanager.Secret(stack, 'S'),
    };
    const auth = new L42Authorizer(stack, 'Auth', { ...base, session, ...extra });
    return { auth, env: authorizerEnv(Template.fromStack(stack)) };
  };
  // Header only, with the table: the check is on and the cache keeps to the bound.
  const { auth, env } = withSession({});
  assert.equal(L42_REVOCATION_BOUND.toSeconds(), 60);
  assert.equal(L42Authorizer.REVOCATION_BOUND.toSeconds(), 60);
  assert.equal(env.REVOCATION_CHECK, 'on');
  assert.equal(env.REVOCATION_RECHECK_SECONDS, '30');
  assert.equal(auth.resultsCacheTtl.toSeconds(), 30);
  const tighter = withSession({ revocationRecheck: Duration.seconds(10) });
  assert.equal(tighter.env.REVOCATION_RECHECK_SECONDS, '10');
  assert.equal(tighter.auth.resultsCacheTtl.toSeconds(), 50);
  assert.equal(withSession({ resultsCacheTtl: Duration.seconds(0) }).auth.resultsCacheTtl.toSeconds(), 0);
  throwsValidation(() => withSession({ resultsCacheTtl: Duration.minutes(5) }), 'Test/Auth', /at most 60 s/);
  throwsValidation(
    () => withSession({ revocationRecheck: Duration.seconds(20), resultsCacheTtl: Duration.seconds(45) }),
    'Test/Auth',
    /at most 60 s/,
  );
  throwsValidation(() => withSession({ revocationRecheck: Duration.seconds(61) }), 'Test/Auth', /revocationRecheck must be 0 to 60/);
  // Without a table, nothing records revocations: no check, the usual 5 minutes.
  const stack = newStack();
  const plain = new L42Authorizer(stack, 'Auth', { ...base });
  assert.equal(authorizerEnv(Template.fromStack(stack)).REVOCATION_CHECK, undefined);
  assert.equal(plain.resultsCacheTtl.toSeconds(), 300);
});
