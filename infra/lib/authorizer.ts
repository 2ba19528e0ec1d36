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
import { Construct } from 'constructs';
import { checkEnvironmentSize, l42Architecture, l42Code, L42CodeOptions } from './code';
import { L42Jwks } from './jwks';

/**
 * Where the authorizer looks for a token, in the configured order (`IDENTITY_SOURCES`):
 * `header` (`Authorization: Bearer`), `query` (`?token=`), `protocol`
 * (`Sec-WebSocket-Protocol`), `cookie` (the token handler's session cookie).
 */
export type L42IdentitySource = 'header' | 'query' | 'protocol' | 'cookie';

/** The HTTP API response shape (`HTTP_API_RESPONSE`); one per function. */
export type L42HttpApiResponse = 'simple' | 'iam';

/** Which access token claim set the authorizer accepts (`TOKEN_USE`). */
export type L42TokenUse = 'access' | 'id' | 'any';

/** The session the `cookie` identity source reads (the token handler's table and secret). */
export interface L42SessionAccess {
  /** The session table; the authorizer gets `dynamodb:GetItem` on it and nothing else. */
  readonly table: dynamodb.ITableV2 | dynamodb.ITable;
  /** The session secret (its value is read at start-up through `SESSION_SECRET_ARN`). */
  readonly secret: secretsmanager.ISecret;
  /** The previous session secret, still accepted during a rotation. */
  readonly previousSecret?: secretsmanager.ISecret;
  /** The cookie's `Domain` (the cookie is then `__Secure-l42_session`). */
  readonly cookieDomain?: string;
  /**
   * The app's origins (`https://app.example.com`): a state-changing request authenticated by
   * the cookie whose `Origin` is one of them needs no `X-L42-CSRF: 1` header
   * (`FRONTEND_URL` and `CALLBACK_ALLOWED_ORIGINS`, as the token handler's).
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
  /** @default 'access' */
  readonly tokenUse?: L42TokenUse;
  /** @default ['header'] */
  readonly identitySources?: L42IdentitySource[];
  /**
   * The response shape for HTTP APIs; `attachToHttpApi` configures API Gateway to match.
   * @default 'simple'
   */
  readonly httpApiResponse?: L42HttpApiResponse;
  /**
   * A folder with one `*.cedarschema` and the `*.cedar` policies. It is shipped as a Lambda
   * layer (mounted at `/opt`) and named by `CEDAR_POLICY_DIR`.
   * @default the example policies embedded in the binary
   */
  readonly policyDir?: string;
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
   * cache). See the class documentation for why caching is correct.
   * @default 5 minutes; 0 with the `cookie` source or context-reading policies
   */
  readonly resultsCacheTtl?: Duration;
  /** Needed with the `cookie` identity source. */
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
   * @default 'TOKEN'
   */
  readonly type?: 'TOKEN' | 'REQUEST';
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
    if (props.userPoolIds.length === 0) throw new Error('l42: userPoolIds is empty');
    if (props.clientIds.length === 0) throw new Error('l42: clientIds is empty');
    for (const pool of props.userPoolIds) {
      if (!Token.isUnresolved(pool) && !POOL_ID.test(pool)) {
        throw new Error(`l42: \`${pool}\` is not a user pool id (us-east-1_AbC123)`);
      }
    }
    const sources = props.identitySources ?? ['header'];
    if (sources.length === 0) throw new Error('l42: identitySources is empty');
    if (new Set(sources).size !== sources.length) throw new Error('l42: an identity source is listed twice');
    this.identitySources = [...sources];
    this.httpApiResponse = props.httpApiResponse ?? 'simple';

    const cookie = sources.includes('cookie');
    if (cookie && !props.session) {
      throw new Error('l42: the cookie identity source needs session (the table and the session secret)');
    }
    const mustNotCache = cookie || props.policiesReadRequestContext === true || sources.length > 1;
    if (props.resultsCacheTtl && props.resultsCacheTtl.toSeconds() > 0) {
      if (cookie) {
        throw new Error(
          'l42: the cookie identity source cannot be cached (a cached result skips the CSRF check and outlives a logout): resultsCacheTtl must be 0',
        );
      }
      if (props.policiesReadRequestContext) {
        throw new Error('l42: policies that read request context cannot be cached: resultsCacheTtl must be 0');
      }
      if (sources.length > 1) {
        throw new Error('l42: caching needs exactly one identity source: resultsCacheTtl must be 0');
      }
    }
    this.resultsCacheTtl = props.resultsCacheTtl ?? (mustNotCache ? Duration.seconds(0) : Duration.minutes(5));

    const environment: Record<string, string> = {
      COGNITO_USER_POOL_ID: props.userPoolIds.join(','),
      COGNITO_CLIENT_ID: props.clientIds.join(','),
      TOKEN_USE: props.tokenUse ?? 'access',
      IDENTITY_SOURCES: sources.join(','),
      HTTP_API_RESPONSE: this.httpApiResponse,
      POLICY_CACHE_SAFE: 'true',
    };
    if (props.application) environment.CEDAR_APPLICATION = props.application;
    if (props.jwks) environment.JWKS_JSON = props.jwks.json;

    const layers: lambda.ILayerVersion[] = [];
    if (props.policyDir) {
      checkPolicyDir(props.policyDir);
      layers.push(
        new lambda.LayerVersion(this, 'Policies', {
          code: lambda.Code.fromAsset(props.policyDir),
          description: 'l42 Cedar schema and policies (CEDAR_POLICY_DIR=/opt)',
        }),
      );
      environment.CEDAR_POLICY_DIR = '/opt';
    }
    if (props.session) {
      environment.SESSION_SECRET_ARN = props.session.secret.secretArn;
      if (props.session.previousSecret) {
        environment.SESSION_SECRET_PREVIOUS_ARN = props.session.previousSecret.secretArn;
      }
      environment.SESSION_HTTPS_ONLY = 'true';
      if (props.session.cookieDomain) environment.COOKIE_DOMAIN = props.session.cookieDomain;
      const origins = props.session.appOrigins ?? [];
      if (origins.length > 0) {
        environment.FRONTEND_URL = origins[0];
        if (origins.length > 1) environment.CALLBACK_ALLOWED_ORIGINS = origins.slice(1).join(',');
      }
      environment.DYNAMODB_TABLE = props.session.table.tableName;
    }
    Object.assign(environment, props.environment ?? {});
    forbidSecretValues(environment);
    checkEnvironmentSize('the authorizer', environment);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: l42Architecture(props.architecture),
      handler: 'bootstrap',
      code: l42Code('l42-authorizer', props),
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
      const secrets = [props.session.secret, props.session.previousSecret].filter(
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
    const type = options.type ?? 'TOKEN';
    const id = options.id ?? `L42Authorizer${type === 'TOKEN' ? 'Token' : 'Request'}`;
    if (type === 'TOKEN') {
      if (!this.identitySources.includes('header')) {
        throw new Error('l42: a TOKEN authorizer reads the Authorization header: add the header identity source');
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
      if (this.httpApiResponse === 'simple') identitySource.push('$context.routeKey');
    } else if (this.identitySources.length === 1) {
      identitySource = [httpSource(this.identitySources[0])];
    }
    return new authorizers.HttpLambdaAuthorizer(id, this.function, {
      responseTypes: [
        this.httpApiResponse === 'simple'
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
    case 'header':
      return apigateway.IdentitySource.header('Authorization');
    case 'query':
      return apigateway.IdentitySource.queryString('token');
    case 'protocol':
      return apigateway.IdentitySource.header('Sec-WebSocket-Protocol');
    case 'cookie':
      return apigateway.IdentitySource.header('Cookie');
  }
}

function httpSource(s: L42IdentitySource): string {
  switch (s) {
    case 'header':
      return '$request.header.Authorization';
    case 'query':
      return '$request.querystring.token';
    case 'protocol':
      return '$request.header.Sec-WebSocket-Protocol';
    case 'cookie':
      return '$request.header.Cookie';
  }
}

function webSocketSource(s: L42IdentitySource): string {
  switch (s) {
    case 'header':
      return 'route.request.header.Authorization';
    case 'query':
      return 'route.request.querystring.token';
    case 'protocol':
      return 'route.request.header.Sec-WebSocket-Protocol';
    case 'cookie':
      return 'route.request.header.Cookie';
  }
}

function checkPolicyDir(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new Error(`l42: cannot read the policy folder ${dir}: ${(e as Error).message}`);
  }
  const schemas = names.filter((n) => n.endsWith('.cedarschema'));
  const policies = names.filter((n) => n.endsWith('.cedar'));
  if (schemas.length !== 1 || policies.length === 0) {
    throw new Error(
      `l42: the policy folder ${path.resolve(dir)} must hold one *.cedarschema and at least one *.cedar ` +
        `(found ${schemas.length} and ${policies.length})`,
    );
  }
}

/** The session secret is read from Secrets Manager; its value never goes into the environment. */
export function forbidSecretValues(env: Record<string, string>): void {
  for (const name of ['SESSION_SECRET', 'SESSION_SECRET_PREVIOUS', 'COGNITO_CLIENT_SECRET']) {
    if (name in env) {
      throw new Error(`l42: ${name} must not be an environment value; the functions read the secret by ARN`);
    }
  }
}
