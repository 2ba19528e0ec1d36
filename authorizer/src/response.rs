//! Response shapes: IAM policies (REST, WebSocket, payload 1.0, payload 2.0 in IAM mode)
//! and simple responses (payload 2.0).

use serde::Serialize;

/// What an Allow tells the integration about the caller, borrowed from the verified
/// claims. REST allows string, number and boolean values only, so lists are joined.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct AllowContext<'a> {
    /// `sub`.
    pub sub: &'a str,
    /// `username` / `cognito:username`.
    pub username: &'a str,
    /// `cognito:groups`, joined with `,`.
    pub groups: Joined<'a, ','>,
    /// `scope`, joined with spaces.
    pub scopes: Joined<'a, ' '>,
    /// The app client id.
    #[serde(rename = "clientId")]
    pub client_id: &'a str,
    /// `access` or `id`.
    #[serde(rename = "tokenUse")]
    pub token_use: &'static str,
    /// WebSocket: the subprotocol the `$connect` integration must echo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subprotocol: Option<&'a str>,
}

/// A list written as one JSON string, its items separated by `SEP` (without building the
/// joined string first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined<'a, const SEP: char>(pub &'a [String]);

impl<const SEP: char> std::fmt::Display for Joined<'_, SEP> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                std::fmt::Write::write_char(f, SEP)?;
            }
            f.write_str(item)?;
        }
        Ok(())
    }
}

impl<const SEP: char> Serialize for Joined<'_, SEP> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            [] => serializer.serialize_str(""),
            [one] => serializer.serialize_str(one),
            _ => serializer.collect_str(self),
        }
    }
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
    statement: &'a [Statement<'a>],
}

#[derive(Serialize)]
struct IamResponse<'a> {
    #[serde(rename = "principalId")]
    principal_id: &'a str,
    #[serde(rename = "policyDocument")]
    policy_document: PolicyDocument<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a AllowContext<'a>>,
}

#[derive(Serialize)]
struct SimpleResponse<'a> {
    #[serde(rename = "isAuthorized")]
    is_authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a AllowContext<'a>>,
}

/// An IAM policy response: an `Allow` statement for `allowed` and a `Deny` statement
/// for `denied`, each only when its list is not empty (an explicit `Deny` wins over any
/// `Allow` that matches the same ARN). `context` is sent only with an `Allow` statement:
/// API Gateway caches it with the policy and hands it to every allowed request.
pub fn iam(
    principal_id: &str,
    allowed: &[String],
    denied: &[String],
    context: Option<&AllowContext<'_>>,
) -> Vec<u8> {
    let statement = |effect, resource| Statement {
        action: "execute-api:Invoke",
        effect,
        resource,
    };
    let both;
    let one;
    let statements: &[Statement<'_>] = match (allowed.is_empty(), denied.is_empty()) {
        (false, false) => {
            both = [statement("Allow", allowed), statement("Deny", denied)];
            &both
        }
        (false, true) => {
            one = [statement("Allow", allowed)];
            &one
        }
        (true, _) => {
            one = [statement("Deny", denied)];
            &one
        }
    };
    let r = IamResponse {
        principal_id,
        policy_document: PolicyDocument {
            version: "2012-10-17",
            statement: statements,
        },
        context: context.filter(|_| !allowed.is_empty()),
    };
    to_json(&r)
}

/// A simple response (HTTP API payload 2.0).
pub fn simple(allow: bool, context: Option<&AllowContext<'_>>) -> Vec<u8> {
    let r = SimpleResponse {
        is_authorized: allow,
        context: context.filter(|_| allow),
    };
    to_json(&r)
}

/// The response's JSON, written into one buffer sized for a typical response (plain
/// structs of strings and booleans cannot fail to serialize).
fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}
