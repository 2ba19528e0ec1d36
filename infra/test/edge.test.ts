import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { Template } from 'aws-cdk-lib/assertions';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { AUTH_ORIGIN_HEADERS, authRouterCode, L42Edge, L42EdgeProps } from '../lib';
import { idOf, newStack, only, repoRoot, throwsValidation } from './support';

// The managed CachingDisabled cache policy.
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const functionsDir = path.join(repoRoot, 'edge', 'functions');
const read = (name: string) => fs.readFileSync(path.join(functionsDir, name), 'utf8');

function synth(extra: Partial<L42EdgeProps> = {}) {
  const stack = newStack();
  const edge = new L42Edge(stack, 'Edge', {
    authApiDomainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    distributions: [
      { id: 'Shop', origin: new origins.HttpOrigin('shop.example.com'), gate: true },
      { id: 'Blog', origin: new origins.HttpOrigin('blog.example.com') },
    ],
    ...extra,
  });
  return { edge, t: Template.fromStack(stack) };
}

function functionCode(t: Template, prefix: string): any {
  return t.toJSON().Resources[idOf(t, 'AWS::CloudFront::Function', prefix)].Properties;
}

test('two distributions, each with the app origin as default and <prefix>/* to the auth API', () => {
  const { t } = synth();
  const dists = Object.values(t.findResources('AWS::CloudFront::Distribution')).map((d: any) => d.Properties.DistributionConfig);
  assert.equal(dists.length, 2);
  const policyId = idOf(t, 'AWS::CloudFront::OriginRequestPolicy', 'EdgeAuthOriginRequest');
  const routerId = idOf(t, 'AWS::CloudFront::Function', 'EdgeAuthRouter');
  const headersId = idOf(t, 'AWS::CloudFront::Function', 'EdgeSecurityHeaders');
  for (const [i, app] of ['shop.example.com', 'blog.example.com'].entries()) {
    const d = dists[i];
    const byId = Object.fromEntries(d.Origins.map((o: any) => [o.Id, o]));
    assert.equal(d.Origins.length, 2, 'multi-origin: the app and the auth API');
    assert.equal(byId[d.DefaultCacheBehavior.TargetOriginId].DomainName, app);
    assert.equal(d.DefaultCacheBehavior.ViewerProtocolPolicy, 'redirect-to-https');
    assert.equal(d.CacheBehaviors.length, 1);
    const auth = d.CacheBehaviors[0];
    assert.equal(auth.PathPattern, '/_auth/*');
    const api = byId[auth.TargetOriginId];
    assert.equal(api.DomainName, 'abc123.execute-api.us-east-1.amazonaws.com');
    assert.equal(api.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
    assert.deepEqual(api.CustomOriginConfig.OriginSSLProtocols, ['TLSv1.2']);
    assert.equal(auth.ViewerProtocolPolicy, 'https-only');
    assert.deepEqual(auth.AllowedMethods.sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    assert.equal(auth.CachePolicyId, CACHING_DISABLED);
    assert.deepEqual(auth.OriginRequestPolicyId, { Ref: policyId });
    assert.deepEqual(auth.FunctionAssociations, [
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [routerId, 'FunctionARN'] } },
      { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': [headersId, 'FunctionARN'] } },
    ]);
  }
  // The gate on the first distribution's default behaviour only.
  const gateId = idOf(t, 'AWS::CloudFront::Function', 'EdgeSessionGate');
  assert.deepEqual(dists[0].DefaultCacheBehavior.FunctionAssociations, [
    { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [gateId, 'FunctionARN'] } },
    { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': [headersId, 'FunctionARN'] } },
  ]);
  assert.deepEqual(dists[1].DefaultCacheBehavior.FunctionAssociations, [
    { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': [headersId, 'FunctionARN'] } },
  ]);
});

test('the auth origin gets x-forwarded-host and the token handler headers, never the viewer Host', () => {
  const { t } = synth();
  const p = only(t, 'AWS::CloudFront::OriginRequestPolicy').props.OriginRequestPolicyConfig;
  assert.equal(p.HeadersConfig.HeaderBehavior, 'whitelist');
  assert.deepEqual(p.HeadersConfig.Headers, AUTH_ORIGIN_HEADERS);
  assert.ok(p.HeadersConfig.Headers.includes('x-forwarded-host'));
  assert.ok(p.HeadersConfig.Headers.includes('x-l42-csrf'));
  assert.ok(!p.HeadersConfig.Headers.some((h: string) => h.toLowerCase() === 'host'));
  assert.equal(p.CookiesConfig.CookieBehavior, 'all');
  assert.equal(p.QueryStringsConfig.QueryStringBehavior, 'all');
  // No managed "all viewer" policy anywhere (it would forward Host).
  for (const d of Object.values(t.findResources('AWS::CloudFront::Distribution')) as any[]) {
    const c = d.Properties.DistributionConfig;
    for (const b of [c.DefaultCacheBehavior, ...c.CacheBehaviors]) {
      assert.notEqual(b.OriginRequestPolicyId, '216adef6-5c7f-47e4-b989-5492eafa07d3', 'AllViewer forwards Host');
    }
  }
});

test('the functions are edge/functions verbatim, cloudfront-js-2.0, the gate bound to the KeyValueStore', () => {
  const { t } = synth();
  const router = functionCode(t, 'EdgeAuthRouter');
  assert.equal(router.FunctionCode, read('auth-router.js'));
  assert.equal(router.FunctionConfig.Runtime, 'cloudfront-js-2.0');
  assert.equal(router.AutoPublish, true);
  const gate = functionCode(t, 'EdgeSessionGate');
  assert.equal(gate.FunctionCode, read('session-gate.js'));
  assert.equal(gate.FunctionConfig.Runtime, 'cloudfront-js-2.0');
  const storeId = idOf(t, 'AWS::CloudFront::KeyValueStore', 'EdgeStore');
  assert.deepEqual(gate.FunctionConfig.KeyValueStoreAssociations, [
    { KeyValueStoreARN: { 'Fn::GetAtt': [storeId, 'Arn'] } },
  ]);
  const headers = functionCode(t, 'EdgeSecurityHeaders');
  assert.equal(headers.FunctionCode, read('security-headers.js'));
  assert.equal(headers.FunctionConfig.KeyValueStoreAssociations, undefined);
  // The store is created with gate_config only: the secret is never in the template.
  const store = only(t, 'AWS::CloudFront::KeyValueStore').props;
  assert.equal(store.ImportSource.SourceType, 'S3');
  assert.ok(!JSON.stringify(t.toJSON()).includes('session_secret"'), 'no session_secret value anywhere');
});

test('the gate_config imported into the store', () => {
  const stack = newStack();
  const gateConfig = { protect: ['/app/'], public: ['/app/public/'] };
  new L42Edge(stack, 'Edge', {
    authApiDomainName: 'abc123.execute-api.us-east-1.amazonaws.com',
    distributions: [{ id: 'Shop', origin: new origins.HttpOrigin('shop.example.com'), gate: true }],
    gateConfig,
  });
  const t = Template.fromStack(stack);
  const key = only(t, 'AWS::CloudFront::KeyValueStore').props.ImportSource.SourceArn['Fn::Join'][1].at(-1).replace(/^\//, '');
  const assembly = stack.node.root as any;
  const outdir = assembly.outdir ?? assembly.assemblyBuilder?.outdir;
  const file = fs.readdirSync(outdir).find((f) => f.startsWith('asset.') && key.endsWith(f.slice('asset.'.length)));
  assert.ok(file, `the import file ${key} staged in ${outdir}`);
  const data = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf8'));
  assert.deepEqual(data, { data: [{ key: 'gate_config', value: JSON.stringify(gateConfig) }] });
});

test('without a gated distribution: no store, no gate; without security headers: no viewer-response function', () => {
  const { t } = synth({
    distributions: [{ id: 'Blog', origin: new origins.HttpOrigin('blog.example.com') }],
    securityHeaders: false,
  });
  t.resourceCountIs('AWS::CloudFront::KeyValueStore', 0);
  t.resourceCountIs('AWS::CloudFront::Function', 1);
  const d = only(t, 'AWS::CloudFront::Distribution').props.DistributionConfig;
  assert.equal(d.DefaultCacheBehavior.FunctionAssociations, undefined);
  assert.deepEqual(d.CacheBehaviors[0].FunctionAssociations.map((f: any) => f.EventType), ['viewer-request']);
});

test('another prefix: the behaviour path and the router constants follow it', () => {
  const { t } = synth({ authPathPrefix: '/auth' });
  for (const d of Object.values(t.findResources('AWS::CloudFront::Distribution')) as any[]) {
    assert.equal(d.Properties.DistributionConfig.CacheBehaviors[0].PathPattern, '/auth/*');
  }
  const code = functionCode(t, 'EdgeAuthRouter').FunctionCode;
  assert.match(code, /^const AUTH_PREFIX = '\/auth';$/m);
  assert.match(code, /^const ORIGIN_PREFIX = '\/auth';$/m);
  assert.equal(code, read('auth-router.js').replace("const AUTH_PREFIX = '/_auth';", "const AUTH_PREFIX = '/auth';").replace("const ORIGIN_PREFIX = '/_auth';", "const ORIGIN_PREFIX = '/auth';"));
  throwsValidation(() => authRouterCode('function handler(e) { return e.request; }', '/auth'), undefined, /no `const AUTH_PREFIX/);
  throwsValidation(() => synth({ authPathPrefix: '/auth/' }), 'Test/Edge', /authPathPrefix/);
  throwsValidation(() => synth({ distributions: [] }), 'Test/Edge', /at least one distribution/);
  throwsValidation(
    () => synth({ functionsDir: path.join(repoRoot, 'no-such-folder') }),
    'Test/Edge',
    /cannot read the CloudFront Function/,
  );
  // Functions lacking the router's constants: the error names the edge that reads them.
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'l42-infra-functions-'));
  for (const f of ['auth-router.js', 'session-gate.js', 'security-headers.js']) {
    fs.writeFileSync(path.join(bare, f), 'function handler(e) { return e.request; }\n');
  }
  throwsValidation(() => synth({ functionsDir: bare }), 'Test/Edge', /auth-router\.js has no `const AUTH_PREFIX/);
});
