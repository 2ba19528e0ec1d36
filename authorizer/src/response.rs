//! Response shapes: IAM policies (REST, WebSocket, payload 1.0, payload 2.0 in IAM mode)
//! and simple responses (payload 2.0).

use serde::Serialize;

/// What an Allow tells the integration about the caller. REST allows string, number and
/// boolean values only, so lists are joined.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AllowContext {
    /// `sub`.
    pub sub: String,
    /// `username` / `cognito:username`.
    pub username: String,
    /// `cognito:groups`, joined with `,`.
    pub groups: String,
    /// `scope`, space-separated.
    pub scopes: String,
    /// The app client id.
    #[serde(rename = "clientId")]
    pub client_id: String,
    /// `access` or `id`.
    #[serde(rename = "tokenUse")]
    pub token_use: &'static str,
    /// WebSocket: the subprotocol the `$connect` integration must echo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subprotocol: Option<String>,
}

#[derive(Serialize)]
struct Statement<'a> {
    #[serde(rename = "Action")]
    action: &'static str,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Resource")]
    resource: &'a [String],
}

#[derive(Serialize)]
struct PolicyDocument<'a> {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statement: [Statement<'a>; 1],
}

#[derive(Serialize)]
struct IamResponse<'a> {
    #[serde(rename = "principalId")]
    principal_id: &'a str,
    #[serde(rename = "policyDocument")]
    policy_document: PolicyDocument<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a AllowContext>,
}

#[derive(Serialize)]
struct SimpleResponse<'a> {
    #[serde(rename = "isAuthorized")]
    is_authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a AllowContext>,
}

/// An IAM policy response. `context` is given on Allow only.
pub fn iam(
    principal_id: &str,
    allow: bool,
    resources: &[String],
    context: Option<&AllowContext>,
) -> Vec<u8> {
    let r = IamResponse {
        principal_id,
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: [Statement {
                action: "execute-api:Invoke",
                effect: if allow { "Allow" } else { "Deny" },
                resource: resources,
            }],
        },
        context: context.filter(|_| allow),
    };
    serde_json::to_vec(&r).unwrap_or_default()
}

/// A simple response (HTTP API payload 2.0).
pub fn simple(allow: bool, context: Option<&AllowContext>) -> Vec<u8> {
    let r = SimpleResponse {
        is_authorized: allow,
        context: context.filter(|_| allow),
    };
    serde_json::to_vec(&r).unwrap_or_default()
}
