// A fresh CDK app of a team that installed l42-cdk from its tarball: the authorizer attached
// to a REST API, an HTTP API and a WebSocket API it already has. scripts/test-infra copies
// this file into an empty folder outside the repository, installs the package there and
// synthesizes with no Rust toolchain on PATH.
import { App, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration, WebSocketMockIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { L42_REVOCATION_BOUND, L42Authorizer, L42IdentitySource } from 'l42-cdk';

const app = new App();
const stack = new Stack(app, 'ExistingApis');

const auth = new L42Authorizer(stack, 'Auth', {
  userPoolIds: ['us-east-1_AbC123'],
  clientIds: ['client1'],
});

const rest = new apigateway.RestApi(stack, 'Rest');
rest.root.addResource('orders').addMethod('GET', new apigateway.MockIntegration(), {
  authorizer: auth.attachToRestApi(rest),
});

const http = new apigwv2.HttpApi(stack, 'Http');
http.addRoutes({
  path: '/orders',
  methods: [apigwv2.HttpMethod.GET],
  integration: new HttpUrlIntegration('Orders', 'https://backend.example.com/orders'),
  authorizer: auth.attachToHttpApi(),
});

const socketAuth = new L42Authorizer(stack, 'SocketAuth', {
  userPoolIds: ['us-east-1_AbC123'],
  clientIds: ['client1'],
  identitySources: [L42IdentitySource.QUERY],
});
const socket = new apigwv2.WebSocketApi(stack, 'Socket');
new apigwv2.WebSocketStage(stack, 'Live', { webSocketApi: socket, stageName: 'live', autoDeploy: true });
socketAuth.attachToWebSocketApi(socket, new WebSocketMockIntegration('Connect'));

// The bound, as a module constant and as the class constant other languages read.
if (L42Authorizer.REVOCATION_BOUND.toSeconds() !== 60 || L42_REVOCATION_BOUND.toSeconds() !== 60) {
  throw new Error('the revocation bound is not 60 seconds');
}

app.synth();
