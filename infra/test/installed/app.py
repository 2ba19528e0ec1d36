"""A fresh Python CDK app of a team that installed the l42-cdk wheel: the authorizer attached
to a REST API, an HTTP API and a WebSocket API it already has. scripts/test-infra copies this
file into an empty folder outside the repository, installs the wheel into a fresh virtual
environment and synthesizes with no Rust toolchain on PATH."""
import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from l42_cdk import L42Authorizer, L42IdentitySource

app = cdk.App()
stack = cdk.Stack(app, "ExistingApis")

auth = L42Authorizer(stack, "Auth", user_pool_ids=["us-east-1_AbC123"], client_ids=["client1"])

rest = apigateway.RestApi(stack, "Rest")
rest.root.add_resource("orders").add_method(
    "GET", apigateway.MockIntegration(), authorizer=auth.attach_to_rest_api(rest)
)

http = apigwv2.HttpApi(stack, "Http")
http.add_routes(
    path="/orders",
    methods=[apigwv2.HttpMethod.GET],
    integration=integrations.HttpUrlIntegration("Orders", "https://backend.example.com/orders"),
    authorizer=auth.attach_to_http_api(),
)

socket_auth = L42Authorizer(
    stack,
    "SocketAuth",
    user_pool_ids=["us-east-1_AbC123"],
    client_ids=["client1"],
    identity_sources=[L42IdentitySource.QUERY],
)
socket = apigwv2.WebSocketApi(stack, "Socket")
apigwv2.WebSocketStage(stack, "Live", web_socket_api=socket, stage_name="live", auto_deploy=True)
socket_auth.attach_to_web_socket_api(socket, integrations.WebSocketMockIntegration("Connect"))

# The revocation bound reaches Python as a class constant (jsii has no module constants).
assert L42Authorizer.REVOCATION_BOUND.to_seconds() == 60

app.synth()
