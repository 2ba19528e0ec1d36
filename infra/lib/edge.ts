import * as fs from 'fs';
import * as path from 'path';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct, IConstruct } from 'constructs';
import { defaultFunctionsDir } from './code';
import { L42ValidationError } from './errors';

/** One CloudFront distribution in front of one app origin. */
export interface L42EdgeDistributionProps {
  /** The construct id of the distribution. */
  readonly id: string;
  /** The app's origin (S3, an HTTP server, …): the default behaviour. */
  readonly origin: cloudfront.IOrigin;
  /** Alternate domain names; need `certificate` (in us-east-1). */
  readonly domainNames?: string[];
  /** The certificate for `domainNames`. */
  readonly certificate?: acm.ICertificate;
  /**
   * Gate the default behaviour with `session-gate.js`: requests without a valid session
   * cookie are redirected to the login (paths from the KeyValueStore's `gate_config`).
   * @default false
   */
  readonly gate?: boolean;
  /** @default none */
  readonly comment?: string;
}

/** Properties of {@link L42Edge}. */
export interface L42EdgeProps {
  /** The token handler's HTTP API domain name (`L42TokenHandler.apiDomainName`). */
  readonly authApiDomainName: string;
  /**
   * The auth path prefix as viewers see it, equal to the backend's `AUTH_PATH_PREFIX`
   * (written into `auth-router.js`'s two constants when not `/_auth`).
   * @default '/_auth'
   */
  readonly authPathPrefix?: string;
  /** One or more distributions sharing the auth backend. */
  readonly distributions: L42EdgeDistributionProps[];
  /**
   * The folder holding the CloudFront Functions.
   * @default the copy this package carries (in the workspace: `edge/functions`)
   */
  readonly functionsDir?: string;
  /**
   * The gate's configuration (`gate_config` in the KeyValueStore, imported when the store is
   * created): `{"cookie", "login", "protect", "public"}`.
   * @default `{"login": "<prefix>/login"}` (everything else: session-gate.js's defaults)
   */
  readonly gateConfig?: Record<string, unknown>;
  /** Add `security-headers.js` as the viewer-response function of every behaviour. @default true */
  readonly securityHeaders?: boolean;
}

/** Headers the auth origin receives from viewers: never `Host` (API Gateway would answer 403). */
export const AUTH_ORIGIN_HEADERS = ['x-forwarded-host', 'origin', 'x-l42-csrf', 'content-type', 'accept', 'referer'];

/**
 * CloudFront in front of one or more app origins: `<prefix>/*` goes to the token handler's
 * HTTP API through `auth-router.js` (viewer `Host` copied into `x-forwarded-host`, which the
 * origin request policy forwards; the viewer `Host` itself is not forwarded, so API Gateway
 * gets its own domain), nothing of it is cached; the default behaviour serves the app,
 * optionally gated by `session-gate.js` reading its secret from a KeyValueStore.
 *
 * The KeyValueStore must hold `session_secret` (the value of the token handler's session
 * secret) before the gate lets anyone through; see infra/README.md for the command. The
 * secret is never part of the template.
 */
export class L42Edge extends Construct {
  /** The distributions, in the order given. */
  public readonly distributions: cloudfront.Distribution[] = [];
  /** The KeyValueStore of the gate (present when a distribution has `gate`). */
  public readonly keyValueStore?: cloudfront.KeyValueStore;
  /** The viewer-request function of the auth behaviour. */
  public readonly authRouter: cloudfront.Function;
  /** The gate's viewer-request function (present when a distribution has `gate`). */
  public readonly sessionGate?: cloudfront.Function;
  /** The viewer-response function (present unless `securityHeaders` is false). */
  public readonly securityHeaders?: cloudfront.Function;
  /** The auth behaviour's origin request policy. */
  public readonly authOriginRequestPolicy: cloudfront.OriginRequestPolicy;

  constructor(scope: Construct, id: string, props: L42EdgeProps) {
    super(scope, id);
    if (props.distributions.length === 0) {
      throw new L42ValidationError('l42: L42Edge needs at least one distribution', this);
    }
    const prefix = props.authPathPrefix ?? '/_auth';
    if (!/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(prefix)) {
      throw new L42ValidationError(
        `l42: authPathPrefix \`${prefix}\` must look like /_auth (a leading /, no trailing /)`,
        this,
      );
    }
    const dir = props.functionsDir ?? defaultFunctionsDir(this);
    const source = (name: string): string => {
      const file = path.join(dir, name);
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new L42ValidationError(`l42: cannot read the CloudFront Function ${file}: ${(e as Error).message}`, this, {
          cause: e,
        });
      }
    };

    this.authRouter = new cloudfront.Function(this, 'AuthRouter', {
      code: cloudfront.FunctionCode.fromInline(authRouterCode(source('auth-router.js'), prefix, this)),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: `l42 auth router: ${prefix}/* to the auth API, viewer Host into x-forwarded-host`,
    });
    if (props.distributions.some((d) => d.gate)) {
      const gateConfig = props.gateConfig ?? { login: `${prefix}/login` };
      this.keyValueStore = new cloudfront.KeyValueStore(this, 'Store', {
        comment: 'l42 session gate: session_secret, session_secret_previous, gate_config',
        source: cloudfront.ImportSource.fromInline(
          JSON.stringify({ data: [{ key: 'gate_config', value: JSON.stringify(gateConfig) }] }),
        ),
      });
      this.sessionGate = new cloudfront.Function(this, 'SessionGate', {
        code: cloudfront.FunctionCode.fromInline(source('session-gate.js')),
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        keyValueStore: this.keyValueStore,
        comment: 'l42 session gate: static paths need a valid session cookie',
      });
    }
    if (props.securityHeaders ?? true) {
      this.securityHeaders = new cloudfront.Function(this, 'SecurityHeaders', {
        code: cloudfront.FunctionCode.fromInline(source('security-headers.js')),
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        comment: 'l42 security headers',
      });
    }

    this.authOriginRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'AuthOriginRequest', {
      comment: 'l42 auth API: x-forwarded-host and the token handler headers, never Host',
      headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(...AUTH_ORIGIN_HEADERS),
      cookieBehavior: cloudfront.OriginRequestCookieBehavior.all(),
      queryStringBehavior: cloudfront.OriginRequestQueryStringBehavior.all(),
    });
    const authOrigin = new origins.HttpOrigin(props.authApiDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    });

    const response: cloudfront.FunctionAssociation[] = this.securityHeaders
      ? [{ function: this.securityHeaders, eventType: cloudfront.FunctionEventType.VIEWER_RESPONSE }]
      : [];
    for (const d of props.distributions) {
      const gate: cloudfront.FunctionAssociation[] =
        d.gate && this.sessionGate
          ? [{ function: this.sessionGate, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }]
          : [];
      this.distributions.push(
        new cloudfront.Distribution(this, d.id, {
          comment: d.comment,
          domainNames: d.domainNames,
          certificate: d.certificate,
          // Only with a certificate of yours (the default certificate's policy is fixed).
          minimumProtocolVersion: d.certificate ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
          defaultBehavior: {
            origin: d.origin,
            viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            functionAssociations: gate.length + response.length > 0 ? [...gate, ...response] : undefined,
          },
          additionalBehaviors: {
            [`${prefix}/*`]: {
              origin: authOrigin,
              viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
              allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
              cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
              originRequestPolicy: this.authOriginRequestPolicy,
              functionAssociations: [
                { function: this.authRouter, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
                ...response,
              ],
            },
          },
        }),
      );
    }
  }
}

/**
 * `auth-router.js` with its two prefix constants set to `prefix` (no rewrite at the origin).
 * Throws an {@link L42ValidationError} (bound to `scope`, the construct using the code, when
 * given) when `code` lacks either constant.
 */
export function authRouterCode(code: string, prefix: string, scope?: IConstruct): string {
  let out = code;
  for (const name of ['AUTH_PREFIX', 'ORIGIN_PREFIX']) {
    const line = new RegExp(`^const ${name} = '[^'\\n]*';$`, 'm');
    if (!line.test(out)) {
      throw new L42ValidationError(`l42: auth-router.js has no \`const ${name} = '…';\` line to set`, scope);
    }
    out = out.replace(line, `const ${name} = '${prefix}';`);
  }
  return out;
}
