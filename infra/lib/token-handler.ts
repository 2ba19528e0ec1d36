import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { forbidSecretValues } from './authorizer';
import { checkEnvironmentSize, L42Binary, l42Architecture, l42Code, L42CodeOptions } from './code';
import { checkChoice, L42ValidationError } from './errors';

/** The session cookie's `SameSite` attribute (`SESSION_SAME_SITE`). */
export enum L42SameSite {
  /** `SameSite=Lax`: sent on top-level navigations from other sites (the login's return). */
  LAX = 'lax',
  /** `SameSite=Strict`: never sent on a request another site starts. */
  STRICT = 'strict',
}

/** The session table's user index: sessions listed per user (`GET {P}/sessions`). */
export const SESSION_USER_INDEX = 'user_sessions';

/** The exact DynamoDB actions the token handler and refresh functions get, on the table only. */
export const SESSION_TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/** A route's throttle: steady requests per second and the burst above them. */
export interface L42LoginThrottle {
  /** Requests per second, steady. */
  readonly rateLimit: number;
  /** Requests at once above the steady rate. */
  readonly burstLimit: number;
}

/** Properties of {@link L42TokenHandler}. */
export interface L42TokenHandlerProps extends L42CodeOptions {
  /** The Cognito user pool (`COGNITO_USER_POOL_ID`). */
  readonly userPoolId: string;
  /** The app client (`COGNITO_CLIENT_ID`); a public client with PKCE. */
  readonly clientId: string;
  /** The hosted UI domain (`COGNITO_DOMAIN`), e.g. `auth.example.com`. */
  readonly cognitoDomain: string;
  /**
   * The app's origin (`FRONTEND_URL`), e.g. `https://app.example.com`; or set it later with
   * {@link L42TokenHandler.setOrigins} (synthesis fails when neither is done).
   */
  readonly frontendUrl?: string;
  /**
   * Other exact origins logins may start from and return to (`CALLBACK_ALLOWED_ORIGINS`),
   * e.g. the other CloudFront distributions.
   */
  readonly callbackAllowedOrigins?: string[];
  /**
   * Return to the origin the login came from (`CALLBACK_USE_ORIGIN`, the allow-listed
   * `x-forwarded-host` or `Origin`).
   * @default true when callbackAllowedOrigins is not empty
   */
  readonly callbackUseOrigin?: boolean;
  /** Where the routes live, as viewers and the edge see them (`AUTH_PATH_PREFIX`). @default '/_auth' */
  readonly authPathPrefix?: string;
  /**
   * The session secret (at least 32 bytes, the plain SecretString). The functions read it at
   * start-up through `SESSION_SECRET_ARN`; its value is never an environment value.
   * @default a new generated secret (64 characters), retained on stack deletion
   */
  readonly sessionSecret?: secretsmanager.ISecret;
  /** The previous secret during a rotation (`SESSION_SECRET_PREVIOUS_ARN`). */
  readonly previousSessionSecret?: secretsmanager.ISecret;
  /** The cookie's `Domain` (`COOKIE_DOMAIN`). @default none (`__Host-l42_session`) */
  readonly cookieDomain?: string;
  /** @default L42SameSite.LAX */
  readonly sameSite?: L42SameSite;
  /** @default a generated name */
  readonly tableName?: string;
  /**
   * The refresh function's reserved concurrency: a bound on parallel Cognito refresh calls
   * and capacity that other functions cannot take.
   * @default 10
   */
  readonly refreshReservedConcurrency?: number;
  /**
   * API Gateway's throttle on `GET {prefix}/login`, the one unauthenticated route that
   * writes (a pending login: one DynamoDB item of under 1 KB that lives 10 minutes). It
   * bounds what a flood of logins can write and cost; other routes keep the account's
   * defaults.
   * @default 50 requests per second, bursts of 100
   */
  readonly loginThrottle?: L42LoginThrottle;
  /** Where alarms notify. @default alarms without actions */
  readonly alarmTopic?: sns.ITopic;
  /** @default ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Extra environment variables for both functions. */
  readonly environment?: Record<string, string>;
}

/**
 * The token handler (backend-for-frontend): the session table, the token-handler and refresh
 * functions, an HTTP API with `ANY {prefix}/{proxy+}` and `POST {prefix}/refresh`, the
 * session secret in Secrets Manager, and alarms on refresh failures and 5xx answers.
 */
export class L42TokenHandler extends Construct {
  /** The session table: `session_id` (S) partition key, TTL on `ttl`. */
  public readonly table: dynamodb.Table;
  /** The session secret. */
  public readonly sessionSecret: secretsmanager.ISecret;
  /** The token-handler function (every endpoint but refresh). */
  public readonly tokenHandler: lambda.Function;
  /** The refresh function (`POST {prefix}/refresh`). */
  public readonly refresh: lambda.Function;
  /** The HTTP API. */
  public readonly api: apigwv2.HttpApi;
  /** The API's domain name (`<id>.execute-api.<region>.<suffix>`), the edge's origin. */
  public readonly apiDomainName: string;
  /** The normalised path prefix. */
  public readonly authPathPrefix: string;
  private frontendUrlSet: boolean;
  /** The alarms, by name. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: L42TokenHandlerProps) {
    super(scope, id);
    const prefix = props.authPathPrefix ?? '/_auth';
    if (!/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(prefix)) {
      throw new L42ValidationError(
        `l42: authPathPrefix \`${prefix}\` must look like /_auth (a leading /, no trailing /)`,
        this,
      );
    }
    this.authPathPrefix = prefix;
    const sameSite = checkChoice(this, 'sameSite', L42SameSite, props.sameSite ?? L42SameSite.LAX);
    checkOrigins(this, [...(props.frontendUrl ? [props.frontendUrl] : []), ...(props.callbackAllowedOrigins ?? [])]);

    this.table = new dynamodb.Table(this, 'Sessions', {
      tableName: props.tableName,
      partitionKey: { name: 'session_id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Sparse: only sessions carry `user`; never the tokens.
    this.table.addGlobalSecondaryIndex({
      indexName: SESSION_USER_INDEX,
      partitionKey: { name: 'user', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'created_at', type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['ttl', 'last_used_at', 'auth_method', 'user_agent'],
    });

    this.sessionSecret =
      props.sessionSecret ??
      new secretsmanager.Secret(this, 'SessionSecret', {
        description: 'l42 session cookie HMAC key (also put into the edge KeyValueStore as session_secret)',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });

    const environment: Record<string, string> = {
      COGNITO_USER_POOL_ID: props.userPoolId,
      COGNITO_CLIENT_ID: props.clientId,
      COGNITO_DOMAIN: props.cognitoDomain,
      AUTH_PATH_PREFIX: prefix,
      SESSION_BACKEND: 'dynamodb',
      DYNAMODB_TABLE: this.table.tableName,
      SESSION_SECRET_ARN: this.sessionSecret.secretArn,
      SESSION_HTTPS_ONLY: 'true',
      SESSION_SAME_SITE: sameSite,
    };
    this.frontendUrlSet = props.frontendUrl !== undefined;
    if (props.frontendUrl) {
      environment.FRONTEND_URL = props.frontendUrl;
      const allowed = props.callbackAllowedOrigins ?? [];
      if (allowed.length > 0) environment.CALLBACK_ALLOWED_ORIGINS = allowed.join(',');
      if (props.callbackUseOrigin ?? allowed.length > 0) environment.CALLBACK_USE_ORIGIN = 'true';
    }
    if (props.previousSessionSecret) {
      environment.SESSION_SECRET_PREVIOUS_ARN = props.previousSessionSecret.secretArn;
    }
    if (props.cookieDomain) environment.COOKIE_DOMAIN = props.cookieDomain;
    Object.assign(environment, props.environment ?? {});
    forbidSecretValues(this, environment);
    checkEnvironmentSize(this, 'the token handler', environment);

    const common = {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: l42Architecture(props.architecture),
      handler: 'bootstrap',
      memorySize: props.memorySize ?? 256,
      // Under the HTTP API's 30 s integration limit; the binaries bound their own calls.
      timeout: Duration.seconds(25),
      environment,
    };
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const tokenLogs = new logs.LogGroup(this, 'TokenHandlerLogs', { retention });
    const refreshLogs = new logs.LogGroup(this, 'RefreshLogs', { retention });
    this.tokenHandler = new lambda.Function(this, 'TokenHandler', {
      ...common,
      code: l42Code(this, L42Binary.TOKEN_HANDLER, props, props.architecture),
      logGroup: tokenLogs,
      description: 'l42 token handler (backend-for-frontend)',
    });
    this.refresh = new lambda.Function(this, 'Refresh', {
      ...common,
      code: l42Code(this, L42Binary.REFRESH, props, props.architecture),
      logGroup: refreshLogs,
      reservedConcurrentExecutions: props.refreshReservedConcurrency ?? 10,
      description: 'l42 session refresh (single flight per session)',
    });

    const secrets = [this.sessionSecret, props.previousSessionSecret].filter(
      (s): s is secretsmanager.ISecret => s !== undefined,
    );
    for (const fn of [this.tokenHandler, this.refresh]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: SESSION_TABLE_ACTIONS, resources: [this.table.tableArn] }));
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets.map((s) => s.secretArn) }),
      );
      for (const s of secrets) s.encryptionKey?.grantDecrypt(fn);
    }
    // Listing a user's sessions, on the index only (never the table: no Scan, no Query of
    // the items that hold tokens), and by the token handler only.
    this.tokenHandler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${SESSION_USER_INDEX}`],
      }),
    );

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'l42 token handler',
      createDefaultStage: true,
    });
    this.api.addRoutes({
      path: `${prefix}/refresh`,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('RefreshIntegration', this.refresh),
    });
    const tokenHandlerIntegration = new HttpLambdaIntegration('TokenHandlerIntegration', this.tokenHandler);
    this.api.addRoutes({
      path: `${prefix}/{proxy+}`,
      methods: [apigwv2.HttpMethod.ANY],
      integration: tokenHandlerIntegration,
    });
    // `GET {prefix}/login` as a route of its own, so that it has a throttle of its own.
    const [loginRoute] = this.api.addRoutes({
      path: `${prefix}/login`,
      methods: [apigwv2.HttpMethod.GET],
      integration: tokenHandlerIntegration,
    });
    const throttle = props.loginThrottle ?? { rateLimit: 50, burstLimit: 100 };
    if (!(throttle.rateLimit > 0) || !(throttle.burstLimit >= 1) || !Number.isInteger(throttle.burstLimit)) {
      throw new L42ValidationError(
        'l42: loginThrottle needs a rateLimit above 0 and a whole burstLimit of at least 1',
        this,
      );
    }
    const stage = this.api.defaultStage?.node.defaultChild as apigwv2.CfnStage | undefined;
    if (!stage) throw new Error('l42: the token handler API has no default stage');
    stage.routeSettings = {
      [`GET ${prefix}/login`]: {
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      },
    };
    stage.node.addDependency(loginRoute);
    this.node.addValidation({
      validate: () =>
        !this.frontendUrlSet
          ? ['l42: the token handler has no FRONTEND_URL: pass frontendUrl or call setOrigins']
          : [],
    });
    this.apiDomainName = `${this.api.apiId}.execute-api.${this.api.stack.region}.${this.api.stack.urlSuffix}`;

    // Alarms. Refresh failures: the function failing, and the coordinator's security events
    // for a transient failure (Cognito or the table not answering; the session is kept).
    const unavailable = new cloudwatch.Metric({
      namespace: 'l42',
      metricName: 'RefreshUnavailable',
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
    for (const [name, group] of [
      ['TokenHandler', tokenLogs],
      ['Refresh', refreshLogs],
    ] as const) {
      new logs.MetricFilter(this, `${name}RefreshUnavailable`, {
        logGroup: group,
        metricNamespace: 'l42',
        metricName: 'RefreshUnavailable',
        metricValue: '1',
        filterPattern: logs.FilterPattern.literal(
          '{ $.target = "l42_security" && $.fields.activity_id = 3 && $.fields.status_id = 2 && ' +
            '$.fields.message = "refresh unavailable; session kept" }',
        ),
      });
    }
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (props.alarmTopic) a.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
      this.alarms[name] = a;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    alarm('RefreshErrors', this.refresh.metricErrors(fiveMinutes), 1, 'l42 refresh function errors (crashes, timeouts)');
    alarm('RefreshUnavailableAlarm', unavailable, 5, 'l42 refreshes failing transiently (Cognito or DynamoDB)');
    alarm('RefreshThrottles', this.refresh.metricThrottles(fiveMinutes), 1, 'l42 refresh function throttled (reserved concurrency reached)');
    alarm('TokenHandlerErrors', this.tokenHandler.metricErrors(fiveMinutes), 1, 'l42 token handler function errors');
    alarm('Api5xx', this.api.metricServerError(fiveMinutes), 5, 'l42 token handler HTTP API 5xx answers');
  }

  /**
   * Sets `FRONTEND_URL` and the other allowed origins (`CALLBACK_ALLOWED_ORIGINS`, with
   * `CALLBACK_USE_ORIGIN=true` when there are any) on both functions, e.g. from CloudFront
   * distributions created after this construct.
   */
  setOrigins(frontendUrl: string, others: string[] = []): void {
    checkOrigins(this, [frontendUrl, ...others]);
    this.frontendUrlSet = true;
    for (const fn of [this.tokenHandler, this.refresh]) {
      fn.addEnvironment('FRONTEND_URL', frontendUrl);
      if (others.length > 0) {
        fn.addEnvironment('CALLBACK_ALLOWED_ORIGINS', others.join(','));
        fn.addEnvironment('CALLBACK_USE_ORIGIN', 'true');
      }
    }
  }
}

function checkOrigins(scope: IConstruct, list: string[]): void {
  for (const o of list) {
    if (!Token.isUnresolved(o) && !/^https:\/\/[a-z0-9.-]+(:\d+)?$/.test(o)) {
      throw new L42ValidationError(`l42: \`${o}\` is not an https origin (https://host[:port], no path)`, scope);
    }
  }
}
