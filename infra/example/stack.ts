import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { L42Authorizer, L42HttpApiResponse } from '../lib/authorizer';
import { L42Edge } from '../lib/edge';
import { L42ValidationError } from '../lib/errors';
import { L42Jwks } from '../lib/jwks';
import { L42TokenHandler } from '../lib/token-handler';

/** Properties of {@link L42Stack}. */
export interface L42StackProps extends StackProps {
  /** The Cognito user pool id. */
  readonly userPoolId: string;
  /** The app client id (public client with PKCE). */
  readonly clientId: string;
  /** The hosted UI domain. */
  readonly cognitoDomain: string;
  /** The app origins' domain names (HTTPS), one CloudFront distribution each. */
  readonly originDomains: string[];
  /** Gate the app paths with the session gate. @default false */
  readonly gate?: boolean;
  /**
   * An HTTP backend (`https://…`) to put behind an HTTP API guarded by the authorizer
   * (`ANY /{proxy+}`). @default no API and no authorizer
   */
  readonly backendUrl?: string;
  /** The Cedar policy folder for the authorizer. */
  readonly policyDir?: string;
  /** A JWKS embedded in the authorizer. */
  readonly jwks?: L42Jwks;
  /** The cargo-lambda output folder. */
  readonly lambdaDir?: string;
  /** @default ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default '/_auth' */
  readonly authPathPrefix?: string;
}

/**
 * The whole l42 deployment in one stack: the token handler (table, functions, HTTP API,
 * secret, alarms), one CloudFront distribution per app origin routing `<prefix>/*` to it, and
 * optionally an HTTP API in front of a backend guarded by the authorizer, whose revocation
 * check reads the token handler's table (no access to its secret: Bearer tokens only).
 */
export class L42Stack extends Stack {
  /** The token handler. */
  public readonly tokenHandler: L42TokenHandler;
  /** The edge. */
  public readonly edge: L42Edge;
  /** The authorizer, when `backendUrl` is given. */
  public readonly authorizer?: L42Authorizer;

  constructor(scope: Construct, id: string, props: L42StackProps) {
    super(scope, id, props);
    if (props.originDomains.length === 0) throw new L42ValidationError('l42: originDomains is empty', this);
    const prefix = props.authPathPrefix ?? '/_auth';
    const code = { lambdaDir: props.lambdaDir, architecture: props.architecture };

    this.tokenHandler = new L42TokenHandler(this, 'TokenHandler', {
      ...code,
      userPoolId: props.userPoolId,
      clientId: props.clientId,
      cognitoDomain: props.cognitoDomain,
      authPathPrefix: prefix,
    });
    this.edge = new L42Edge(this, 'Edge', {
      authApiDomainName: this.tokenHandler.apiDomainName,
      authPathPrefix: prefix,
      distributions: props.originDomains.map((domain, i) => ({
        id: `Distribution${i + 1}`,
        origin: new origins.HttpOrigin(domain),
        gate: props.gate ?? false,
        comment: `l42: ${domain}`,
      })),
    });
    // FRONTEND_URL and the allow-list name the distributions (no cycle: a distribution
    // needs only the API's id, not its routes or functions).
    const [first, ...others] = this.edge.distributions.map((d) => `https://${d.distributionDomainName}`);
    this.tokenHandler.setOrigins(first, others);

    if (props.backendUrl) {
      this.authorizer = new L42Authorizer(this, 'Authorizer', {
        ...code,
        userPoolIds: [props.userPoolId],
        clientIds: [props.clientId],
        policyDir: props.policyDir,
        jwks: props.jwks,
        httpApiResponse: L42HttpApiResponse.SIMPLE,
        // The token handler's table: the revocation check refuses the Bearer tokens of an
        // ended session, within L42_REVOCATION_BOUND (recheck and result cache TTL).
        session: { table: this.tokenHandler.table },
      });
      const api = new apigwv2.HttpApi(this, 'ProtectedApi', {
        description: 'an HTTP API guarded by the l42 authorizer',
        defaultAuthorizer: this.authorizer.attachToHttpApi(),
      });
      api.addRoutes({
        path: '/{proxy+}',
        methods: [apigwv2.HttpMethod.ANY],
        integration: new HttpUrlIntegration('Backend', `${props.backendUrl.replace(/\/$/, '')}/{proxy}`),
      });
      new CfnOutput(this, 'ProtectedApiUrl', { value: api.apiEndpoint });
    }

    this.edge.distributions.forEach((d, i) => {
      new CfnOutput(this, `Distribution${i + 1}Url`, { value: `https://${d.distributionDomainName}` });
    });
    new CfnOutput(this, 'SessionTableName', { value: this.tokenHandler.table.tableName });
    new CfnOutput(this, 'SessionSecretArn', { value: this.tokenHandler.sessionSecret.secretArn });
    if (this.edge.keyValueStore) {
      new CfnOutput(this, 'KeyValueStoreArn', { value: this.edge.keyValueStore.keyValueStoreArn });
    }
  }
}
