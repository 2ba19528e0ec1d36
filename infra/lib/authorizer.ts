import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { checkEnvironmentSize, L42Binary, l42Architecture, l42Code, L42CodeOptions } from './code';
import { checkChoice, L42ValidationError } from './errors';
import { L42Jwks } from './jwks';

/**
 * Where the authorizer looks for a token; the configured ones are tried in order
 * (`IDENTITY_SOURCES`, the values joined by commas).
 */
/**
 * The longest an ended session's Bearer token is still accepted behind an authorizer
 * with `session`: the revocation recheck window plus API Gateway's result cache TTL.
 * The same value as `L42Authorizer.REVOCATION_BOUND`, which is how Python (and every
 * other jsii language, which sees no module constants) reads it.
 */
export const L42_REVOCATION_BOUND = Duration.seconds(60);

export enum L42IdentitySource {
  /** `Authorization: Bearer <token>`. */
  HEADER = 'header',
  /** The query string parameter `token` (`?token=`). */
  QUERY = 'query',
  /** `Sec-WebSocket-Protocol` (the token as a subprotocol, echoed in the answer). */
  PROTOCOL = 'protocol',
  /** The token handler's session cookie (the session looked up in DynamoDB). */
  COOKIE = 'cookie',
}

/** The HTTP API response shape (`HTTP_API_RESPONSE`); one per function. */
export enum L42HttpApiResponse {
  /** Payload 2.0 with simple responses (`isAuthorized`). */
  SIMPLE = 'simple',
  /** IAM policies (payload 1.0). */
  IAM = 'iam',
}

/** Which Cognito token the authorizer accepts (`TOKEN_USE`, checked against `token_use`). */
export enum L42TokenUse {
  /** Access tokens (`client_id` checked against the client ids). */
  ACCESS = 'access',
  /** Id tokens (`aud` checked against the client ids). */
  ID = 'id',
  /** Either. */
  ANY = 'any',
}

/** The REST API authorizer type {@link L42Authorizer.attachToRestApi} creates. */
export enum L42RestAuthorizerType {
  /** The `Authorization` header only (needs the `header` identity source). */
  TOKEN = 'TOKEN',
  /** Every configured identity source (query, cookie, …) reaches the function. */
  REQUEST = 'REQUEST',
}

/**
 * The token handler's session table (and, for the `cookie` identity source, its secret):
 * where the revocation check reads ended sign-ins, and the `cookie` source its sessions.
 */
export interface L42SessionAccess {
  /**
   * The session table; the authorizer gets `dynamodb:GetItem` on it and nothing else (the
   * revocation check's reads, and the `cookie` source's session reads).
   */
  readonly table: dynamodb.ITableV2 | dynamodb.ITable;
  /**
   * The session secret (its value is read at start-up through `SESSION_SECRET_ARN`).
   * Needed with the `cookie` identity source, and used only with it: without the cookie
   * source the authorizer is given neither the secret's ARN nor the right to read it.
   * @default none (the `cookie` source is then refused)
   */
  readonly secret?: secretsmanager.ISecret;
  /** The previous session secret, still accepted during a rotation (the `cookie` source). */
  readonly previousSecret?: secretsmanager.ISecret;
  /** The cookie's `Domain` (the cookie is then `__Secure-l42_session`; the `cookie` source). */
  readonly cookieDomain?: string;
  /**
   * The app's origins (`https://app.example.com`): a state-changing request authenticated by
   * the cookie whose `Origin` is one of them needs no `X-L42-CSRF: 1` header
   * (`FRONTEND_URL` and `CALLBACK_ALLOWED_ORIGINS`, as the token handler's; the `cookie`
   * source).
   * @default none: such requests must carry the header
   */
  readonly appOrigins?: string[];
}

/** Properties of {@link L42Authorizer}. */
export interface L42AuthorizerProps extends L42CodeOptions {
  /** Cognito user pool ids (`us-east-1_AbC123`); several pools are accepted. */
  readonly userPoolIds: string[];
  /** App client ids accepted in `client_id` (access tokens) or `aud` (id tokens). */
  readonly clientIds: string[];
  /** @default L42TokenUse.ACCESS */
  readonly tokenUse?: L42TokenUse;
  /** @default [L42IdentitySource.HEADER] */
  readonly identitySources?: L42IdentitySource[];
  /**
   * The response shape for HTTP APIs; `attachToHttpApi` configures API Gateway to match.
   * @default L42HttpApiResponse.SIMPLE
   */
  readonly httpApiResponse?: L42HttpApiResponse;
  /**
   * A folder with one schema (`*.cedarschema` or `*.cedarschema.json`) and the `*.cedar`
   * policies, in it or in its `schema/` and `policies/` subfolders. It is shipped as a
   * Lambda layer (mounted at `/opt`) and named by `CEDAR_POLICY_DIR`.
   * @default the example policies embedded in the binary
   */
  readonly policyDir?: string;
  /**
   * The `l42` command that checks `policyDir` at synth time (`l42 policy check`): synth
   * fails when the folder does not load as the authorizer would load it, or when a policy
   * reads the source IP or query parameters and `policiesReadRequestContext` is not set.
   * @default the `L42_COMMAND` environment variable, else `l42` when it is on the `PATH`;
   * without either the folder's layout alone is checked
   */
  readonly l42Command?: string;
  /** The Cedar `Application` entity id (`CEDAR_APPLICATION`). @default the schema's namespace */
  readonly application?: string;
  /** A JWKS embedded at synth time (`JWKS_JSON`). @default fetched at the first request */
  readonly jwks?: L42Jwks;
  /**
   * Whether any policy reads request-specific context (path or query parameters, source
   * IP). Such decisions cannot be cached per token: every result cache TTL is then 0.
   * @default false
   */
  readonly policiesReadRequestContext?: boolean;
  /**
   * API Gateway's authorizer result cache TTL for REST and HTTP APIs (WebSocket APIs do not
   * cache). See the class documentation for why caching is correct. With `session` (the
   * revocation check on), `revocationRecheck` plus this TTL may be at most
   * {@link L42_REVOCATION_BOUND}: the longest an ended session's Bearer token still works.
   * @default 5 minutes; with `session`, the bound less `revocationRecheck` (30 s); 0 with
   * the `cookie` source or context-reading policies
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * With `session`: how long the authorizer keeps a sign-in's revocation answer
   * (`REVOCATION_RECHECK_SECONDS`): one `GetItem` per sign-in per window.
   * @default 30 seconds
   */
  readonly revocationRecheck?: Duration;
  /**
   * The token handler's session table (and secret, for the `cookie` identity source, which
   * needs it). With it the revocation check is on (`REVOCATION_CHECK=on`): tokens of a
   * session the token handler ended are refused.
   * @default none: no revocation check, and the `cookie` source is refused
   */
  readonly session?: L42SessionAccess;
  /** @default ARM_64 (build with `cargo lambda build --release --arm64`) */
  readonly architecture?: lambda.Architecture;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 seconds (the HTTP API authorizer limit) */
  readonly timeout?: Duration;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Extra environment variables (e.g. `JWT_LEEWAY_SECONDS`, `RUST_LOG`). */
  readonly environment?: Record<string, string>;
}

/** Options of {@link L42Authorizer.attachToRestApi}. */
export interface L42RestAttachOptions {
  /**
   * `TOKEN`: the `Authorization` header only (needs the `header` source). `REQUEST`: every
   * configured source (query, cookie, …) reaches the function.
   * @default L42RestAuthorizerType.TOKEN
   */
  readonly type?: L42RestAuthorizerType;
  /** @default an id derived from the API */
  readonly id?: string;
}

const POOL_ID = /^[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]+$/;

/**
 * The l42 Lambda authorizer (provided.al2023, arm64 by default) and helpers that attach it to
 * REST, HTTP and WebSocket APIs you already have.
 *
 * Result cache correctness:
 * - REST (TOKEN or REQUEST) and HTTP APIs with IAM responses: the function runs with
 *   `POLICY_CACHE_SAFE=true`, so an Allow lists exactly the routes Cedar allows the
 *   principal (never `*`). API Gateway applies a cached policy to every method of the API;
 *   since the policy names exactly those routes, a cache keyed on the token alone neither
 *   over- nor under-grants. The identity source is therefore the token's location only.
 * - HTTP APIs with simple responses: `isAuthorized` carries no route list, so
 *   `$context.routeKey` is added to the identity sources whenever the TTL is above 0.
 * - The `cookie` source: the TTL is 0 (a TTL above 0 is refused). A cached result would
 *   outlive a logout, and the CSRF proof a cookie-authenticated write needs (the
 *   `X-L42-CSRF` header or an allowed `Origin`) is not part of the cache key, so a cached
 *   Allow would be reused for a request without it.
 * - Policies that read request context (`policiesReadRequestContext`): the decision
 *   depends on more than the token and the route, so every TTL is 0 (a TTL above 0 is
 *   refused).
 * - Several identity sources: API Gateway answers 401 without calling the function when
 *   any cached identity source is missing, so caching needs exactly one token source;
 *   with several, the TTL must be 0 and no identity source is declared (every request
 *   reaches the function, which tries the sources in order).
 */
export class L42Authorizer extends Construct {
  /**
   * The longest an ended session's Bearer token is still accepted behind an authorizer
   * with `session` (60 seconds): the revocation recheck window plus API Gateway's result
   * cache TTL, whose sum is refused above it.
   */
  public static readonly REVOCATION_BOUND: Duration = L42_REVOCATION_BOUND;

  /** The authorizer function. */
  public readonly function: lambda.Function;
  /** The configured identity sources, in order. */
  public readonly identitySources: L42IdentitySource[];
  /** The HTTP API response shape of this function. */
  public readonly httpApiResponse: L42HttpApiResponse;
  /** The result cache TTL used for REST and HTTP APIs. */
  public readonly resultsCacheTtl: Duration;

  constructor(scope: Construct, id: string, props: L42AuthorizerProps) {
    super(scope, id);
    if (props.userPoolIds.length === 0) throw new L42ValidationError('l42: userPoolIds is empty', this);
    if (props.clientIds.length === 0) throw new L42ValidationError('l42: clientIds is empty', this);
    for (const pool of props.userPoolIds) {
      if (!Token.isUnresolved(pool) && !POOL_ID.test(pool)) {
        throw new L42ValidationError(`l42: \`${pool}\` is not a user pool id (us-east-1_AbC123)`, this);
      }
    }
    const sources = props.identitySources ?? [L42IdentitySource.HEADER];
    if (sources.length === 0) throw new L42ValidationError('l42: identitySources is empty', this);
    for (const s of sources) checkChoice(this, 'an identity source', L42IdentitySource, s);
    if (new Set(sources).size !== sources.length) {
      throw new L42ValidationError('l42: an identity source is listed twice', this);
    }
    this.identitySources = [...sources];
    this.httpApiResponse = checkChoice(
      this,
      'httpApiResponse',
      L42HttpApiResponse,
      props.httpApiResponse ?? L42HttpApiResponse.SIMPLE,
    );
    const tokenUse = checkChoice(this, 'tokenUse', L42TokenUse, props.tokenUse ?? L42TokenUse.ACCESS);

    const cookie = sources.includes(L42IdentitySource.COOKIE);
    if (cookie && !props.session?.secret) {
      throw new L42ValidationError(
        'l42: the cookie identity source needs session with the table and the session secret',
        this,
      );
    }
    // Only the cookie source reads the secret and the cookie's settings; without it they
    // are left out (a header-only authorizer may be given the token handler's whole
    // session access and gets the table alone).
    const cookieSession = cookie ? props.session : undefined;
    const mustNotCache = cookie || props.policiesReadRequestContext === true || sources.length > 1;
    if (props.resultsCacheTtl && props.resultsCacheTtl.toSeconds() > 0) {
      if (cookie) {
        throw new L42ValidationError(
          'l42: the cookie identity source cannot be cached (a cached result skips the CSRF check and outlives a logout): resultsCacheTtl must be 0',
          this,
        );
      }
      if (props.policiesReadRequestContext) {
        throw new L42ValidationError(
          'l42: policies that read request context cannot be cached: resultsCacheTtl must be 0',
          this,
        );
      }
      if (sources.length > 1) {
        throw new L42ValidationError(
          'l42: caching needs exactly one identity source: resultsCacheTtl must be 0',
          this,
        );
      }
    }
    const recheck = props.revocationRecheck ?? Duration.seconds(30);
    const bound = L42_REVOCATION_BOUND.toSeconds();
    if (props.session && !(recheck.toSeconds() >= 0 && recheck.toSeconds() <= bound)) {
      throw new L42ValidationError(
        `l42: revocationRecheck must be 0 to ${bound} seconds (the revocation bound)`,
        this,
      );
    }
    const revocationTtl = Duration.seconds(bound - recheck.toSeconds());
    this.resultsCacheTtl =
      props.resultsCacheTtl ??
      (mustNotCache ? Duration.seconds(0) : props.session ? revocationTtl : Duration.minutes(5));
    if (props.session && this.resultsCacheTtl.toSeconds() + recheck.toSeconds() > bound) {
      throw new L42ValidationError(
        `l42: with session, revocationRecheck (${recheck.toSeconds()} s) plus resultsCacheTtl (${this.resultsCacheTtl.toSeconds()} s) must be at most ${bound} s: an ended session's tokens would work longer than the README promises`,
        this,
      );
    }

    const environment: Record<string, string> = {
      COGNITO_USER_POOL_ID: props.userPoolIds.join(','),
      COGNITO_CLIENT_ID: props.clientIds.join(','),
      TOKEN_USE: tokenUse,
      IDENTITY_SOURCES: sources.join(','),
      HTTP_API_RESPONSE: this.httpApiResponse,
      POLICY_CACHE_SAFE: 'true',
    };
    if (props.application) environment.CEDAR_APPLICATION = props.application;
    if (props.jwks) environment.JWKS_JSON = props.jwks.json;

    const layers: lambda.ILayerVersion[] = [];
    if (props.policyDir) {
      checkPolicyDir(this, props.policyDir);
      runPolicyCheck(this, props);
      layers.push(
        new lambda.LayerVersion(this, 'Policies', {
          code: lambda.Code.fromAsset(props.policyDir),
          description: 'l42 Cedar schema and policies (CEDAR_POLICY_DIR=/opt)',
        }),
      );
      environment.CEDAR_POLICY_DIR = '/opt';
    }
    if (cookieSession?.secret) {
      environment.SESSION_SECRET_ARN = cookieSession.secret.secretArn;
      if (cookieSession.previousSecret) {
        environment.SESSION_SECRET_PREVIOUS_ARN = cookieSession.previousSecret.secretArn;
      }
      environment.SESSION_HTTPS_ONLY = 'true';
      if (cookieSession.cookieDomain) environment.COOKIE_DOMAIN = cookieSession.cookieDomain;
      const origins = cookieSession.appOrigins ?? [];
      if (origins.length > 0) {
        environment.FRONTEND_URL = origins[0];
        if (origins.length > 1) environment.CALLBACK_ALLOWED_ORIGINS = origins.slice(1).join(',');
      }
    }
    if (props.session) {
      environment.DYNAMODB_TABLE = props.session.table.tableName;
      environment.REVOCATION_CHECK = 'on';
      environment.REVOCATION_RECHECK_SECONDS = String(recheck.toSeconds());
    }
    Object.assign(environment, props.environment ?? {});
    forbidSecretValues(this, environment);
    checkEnvironmentSize(this, 'the authorizer', environment);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: l42Architecture(props.architecture),
      handler: 'bootstrap',
      code: l42Code(this, L42Binary.AUTHORIZER, props, props.architecture),
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      environment,
      layers,
      logGroup,
      description: 'l42 authorizer: Cognito JWT verification and Cedar decisions',
    });
    if (props.session) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [props.session.table.tableArn] }),
      );
    }
    if (cookieSession) {
      const secrets = [cookieSession.secret, cookieSession.previousSecret].filter(
        (s): s is secretsmanager.ISecret => s !== undefined,
      );
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: secrets.map((s) => s.secretArn),
        }),
      );
      for (const s of secrets) s.encryptionKey?.grantDecrypt(this.function);
    }
  }

  /**
   * A REST API authorizer for `api`, to pass as `authorizer` to `addMethod` (or
   * `defaultMethodOptions`). TOKEN reads `method.request.header.Authorization`; REQUEST
   * declares the configured sources (none when the TTL is 0).
   */
  attachToRestApi(api: apigateway.IRestApi, options: L42RestAttachOptions = {}): apigateway.IAuthorizer {
    const type = checkChoice(
      this,
      'the REST authorizer type',
      L42RestAuthorizerType,
      options.type ?? L42RestAuthorizerType.TOKEN,
    );
    const token = type === L42RestAuthorizerType.TOKEN;
    const id = options.id ?? `L42Authorizer${token ? 'Token' : 'Request'}`;
    if (token) {
      if (!this.identitySources.includes(L42IdentitySource.HEADER)) {
        throw new L42ValidationError(
          'l42: a TOKEN authorizer reads the Authorization header: add the header identity source',
          this,
        );
      }
      return new apigateway.TokenAuthorizer(api, id, {
        handler: this.function,
        identitySource: apigateway.IdentitySource.header('Authorization'),
        resultsCacheTtl: this.resultsCacheTtl,
      });
    }
    const cached = this.resultsCacheTtl.toSeconds() > 0;
    const authorizer = new apigateway.RequestAuthorizer(api, id, {
      handler: this.function,
      identitySources: cached ? this.identitySources.map(restSource) : [],
      resultsCacheTtl: this.resultsCacheTtl,
    });
    if (!cached) {
      // Uncached: no identity source at all (CDK would write an empty string), so every
      // request reaches the function, which tries the sources in order.
      (authorizer.node.defaultChild as apigateway.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
    }
    return authorizer;
  }

  /**
   * An HTTP API authorizer with the function's response shape (`simple`: payload 2.0 and
   * simple responses; `iam`: IAM policies), to pass as `authorizer` to `addRoutes` or as
   * `defaultAuthorizer`. One instance serves one API.
   */
  attachToHttpApi(id = 'L42HttpAuthorizer'): authorizers.HttpLambdaAuthorizer {
    const cached = this.resultsCacheTtl.toSeconds() > 0;
    let identitySource: string[] = [];
    if (cached) {
      identitySource = this.identitySources.map(httpSource);
      if (this.httpApiResponse === L42HttpApiResponse.SIMPLE) identitySource.push('$context.routeKey');
    } else if (this.identitySources.length === 1) {
      identitySource = [httpSource(this.identitySources[0])];
    }
    return new authorizers.HttpLambdaAuthorizer(id, this.function, {
      responseTypes: [
        this.httpApiResponse === L42HttpApiResponse.SIMPLE
          ? authorizers.HttpLambdaResponseType.SIMPLE
          : authorizers.HttpLambdaResponseType.IAM,
      ],
      identitySource,
      resultsCacheTtl: this.resultsCacheTtl,
    });
  }

  /**
   * A WebSocket `$connect` authorizer (WebSocket APIs do not cache results). The identity
   * source is where the first configured source puts the token, unless given.
   */
  webSocketAuthorizer(id = 'L42WebSocketAuthorizer', identitySource?: string[]): authorizers.WebSocketLambdaAuthorizer {
    return new authorizers.WebSocketLambdaAuthorizer(id, this.function, {
      identitySource: identitySource ?? [webSocketSource(this.identitySources[0])],
    });
  }

  /** Adds the `$connect` route of `api` with `integration`, guarded by this authorizer. */
  attachToWebSocketApi(
    api: apigwv2.WebSocketApi,
    integration: apigwv2.WebSocketRouteIntegration,
    identitySource?: string[],
  ): apigwv2.WebSocketRoute {
    return api.addRoute('$connect', {
      integration,
      authorizer: this.webSocketAuthorizer('L42WebSocketAuthorizer', identitySource),
    });
  }
}

function restSource(s: L42IdentitySource): string {
  switch (s) {
    case L42IdentitySource.HEADER:
      return apigateway.IdentitySource.header('Authorization');
    case L42IdentitySource.QUERY:
      return apigateway.IdentitySource.queryString('token');
    case L42IdentitySource.PROTOCOL:
      return apigateway.IdentitySource.header('Sec-WebSocket-Protocol');
    case L42IdentitySource.COOKIE:
      return apigateway.IdentitySource.header('Cookie');
  }
}

function httpSource(s: L42IdentitySource): string {
  switch (s) {
    case L42IdentitySource.HEADER:
      return '$request.header.Authorization';
    case L42IdentitySource.QUERY:
      return '$request.querystring.token';
    case L42IdentitySource.PROTOCOL:
      return '$request.header.Sec-WebSocket-Protocol';
    case L42IdentitySource.COOKIE:
      return '$request.header.Cookie';
  }
}

function webSocketSource(s: L42IdentitySource): string {
  switch (s) {
    case L42IdentitySource.HEADER:
      return 'route.request.header.Authorization';
    case L42IdentitySource.QUERY:
      return 'route.request.querystring.token';
    case L42IdentitySource.PROTOCOL:
      return 'route.request.header.Sec-WebSocket-Protocol';
    case L42IdentitySource.COOKIE:
      return 'route.request.header.Cookie';
  }
}

function checkPolicyDir(scope: IConstruct, dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new L42ValidationError(`l42: cannot read the policy folder ${dir}: ${(e as Error).message}`, scope, {
      cause: e,
    });
  }
  // As the authorizer reads it: the folder, and its schema/ and policies/ subfolders.
  for (const sub of ['schema', 'policies']) {
    const folder = path.join(dir, sub);
    if (fs.existsSync(folder) && fs.statSync(folder).isDirectory()) {
      names = names.concat(fs.readdirSync(folder));
    }
  }
  const schemas = names.filter((n) => n.endsWith('.cedarschema') || n.endsWith('.cedarschema.json'));
  const policies = names.filter((n) => n.endsWith('.cedar'));
  if (schemas.length !== 1 || policies.length === 0) {
    throw new L42ValidationError(
      `l42: the policy folder ${path.resolve(dir)} must hold one *.cedarschema (or *.cedarschema.json) ` +
        `and at least one *.cedar (found ${schemas.length} and ${policies.length})`,
      scope,
    );
  }
}

/** The request facts a cached Allow cannot stand for (see the README's result-cache section). */
const UNCACHEABLE_FACTS = ['context.sourceIp', 'context.queryStringParameters', 'the whole context'];

/**
 * `l42 policy check` on the policy folder, when the command is there: synth fails on a
 * folder that does not load, and on policies that read what a cached decision cannot
 * stand for while caching is on.
 */
function runPolicyCheck(scope: IConstruct, props: L42AuthorizerProps): void {
  const explicit = props.l42Command ?? process.env.L42_COMMAND;
  const command = explicit ?? 'l42';
  const args = ['policy', 'check', props.policyDir as string, '--format', 'json'];
  if (props.application) args.push('--set', `CEDAR_APPLICATION=${props.application}`);
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  if (run.error) {
    if (explicit === undefined && (run.error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new L42ValidationError(`l42: cannot run ${command}: ${run.error.message}`, scope, { cause: run.error });
  }
  let report: { load_errors?: string[]; routes?: { action: string; not_cache_safe_because?: string[] }[] };
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new L42ValidationError(
      `l42: ${command} policy check failed (exit ${run.status}): ${(run.stderr || run.stdout).trim()}`,
      scope,
    );
  }
  if (report.load_errors && report.load_errors.length > 0) {
    throw new L42ValidationError(
      `l42: the policy folder ${path.resolve(props.policyDir as string)} does not load: ${report.load_errors.join('; ')}`,
      scope,
    );
  }
  if (props.policiesReadRequestContext) return;
  for (const route of report.routes ?? []) {
    const reason = (route.not_cache_safe_because ?? []).find((r) => UNCACHEABLE_FACTS.some((f) => r.includes(f)));
    if (reason) {
      throw new L42ValidationError(
        `l42: route "${route.action}": ${reason}, which a cached decision cannot stand for; ` +
          'set policiesReadRequestContext: true (result TTL 0)',
        scope,
      );
    }
  }
}

/**
 * The session secret is read from Secrets Manager; its value never goes into the
 * environment. Throws an {@link L42ValidationError} bound to `scope` when it would.
 */
export function forbidSecretValues(scope: IConstruct, env: Record<string, string>): void {
  for (const name of ['SESSION_SECRET', 'SESSION_SECRET_PREVIOUS', 'COGNITO_CLIENT_SECRET']) {
    if (name in env) {
      throw new L42ValidationError(
        `l42: ${name} must not be an environment value; the functions read the secret by ARN`,
        scope,
      );
    }
  }
}
