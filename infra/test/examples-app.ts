// A CDK app of the construct-library uses, synthesized by scripts/test-infra so that
// cfn-lint also checks the authorizer attached to REST (TOKEN and REQUEST), HTTP (simple
// and IAM) and WebSocket APIs, with the cookie source. Lambda code comes from the folder in
// CDK context `l42:lambdaDir` (prebuilt assets; nothing is built).
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { L42Authorizer, L42HttpApiResponse, L42IdentitySource, L42RestAuthorizerType, L42TokenHandler } from '../lib';

const app = new App();
const lambdaDir = app.node.tryGetContext('l42:lambdaDir');
const pools = { userPoolIds: ['us-east-1_AbC123'], clientIds: ['client1'], lambdaDir };

const rest = new Stack(app, 'L42RestExample');
{
  const token = new L42Authorizer(rest, 'TokenAuth', { ...pools });
  const request = new L42Authorizer(rest, 'RequestAuth', { ...pools, identitySources: [L42IdentitySource.QUERY] });
  const api = new apigateway.RestApi(rest, 'Api');
  const orders = api.root.addResource('orders');
  orders.addMethod('GET', new apigateway.HttpIntegration('https://backend.example.com/orders'), {
    authorizer: token.attachToRestApi(api, { type: L42RestAuthorizerType.TOKEN }),
  });
  const uncached = new L42Authorizer(rest, 'UncachedAuth', { ...pools, identitySources: [L42IdentitySource.HEADER, L42IdentitySource.QUERY] });
  const api3 = new apigateway.RestApi(rest, 'Api3');
  api3.root.addMethod('GET', new apigateway.HttpIntegration('https://backend.example.com/'), {
    authorizer: uncached.attachToRestApi(api3, { type: L42RestAuthorizerType.REQUEST }),
  });
  const api2 = new apigateway.RestApi(rest, 'Api2');
  api2.root.addMethod('GET', new apigateway.HttpIntegration('https://backend.example.com/'), {
    authorizer: request.attachToRestApi(api2, { type: L42RestAuthorizerType.REQUEST }),
  });
}

const http = new Stack(app, 'L42HttpExample');
{
  for (const mode of [L42HttpApiResponse.SIMPLE, L42HttpApiResponse.IAM]) {
    const auth = new L42Authorizer(http, `Auth-${mode}`, { ...pools, httpApiResponse: mode, resultsCacheTtl: Duration.minutes(10) });
    const api = new apigwv2.HttpApi(http, `Api-${mode}`, { defaultAuthorizer: auth.attachToHttpApi() });
    api.addRoutes({ path: '/orders/{id}', integration: new HttpUrlIntegration('Orders', 'https://backend.example.com/orders/{id}') });
  }
}

const ws = new Stack(app, 'L42WebSocketAndCookieExample');
{
  const th = new L42TokenHandler(ws, 'TokenHandler', {
    lambdaDir,
    userPoolId: 'us-east-1_AbC123',
    clientId: 'client1',
    cognitoDomain: 'auth.example.com',
    frontendUrl: 'https://app.example.com',
  });
  const auth = new L42Authorizer(ws, 'Auth', {
    ...pools,
    identitySources: [L42IdentitySource.COOKIE, L42IdentitySource.QUERY],
    // A cookie-authenticated connect must come from the app's origin (the handshake's
    // Origin header): no other page can open the socket as its visitor.
    session: { table: th.table, secret: th.sessionSecret, appOrigins: ['https://app.example.com'] },
  });
  const api = new apigwv2.WebSocketApi(ws, 'Socket');
  new apigwv2.WebSocketStage(ws, 'Live', { webSocketApi: api, stageName: 'live', autoDeploy: true });
  auth.attachToWebSocketApi(api, new WebSocketLambdaIntegration('Connect', th.tokenHandler), ['route.request.header.Cookie']);
}

app.synth();
