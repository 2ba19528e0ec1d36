//! The authorizer of a policy folder, run as API Gateway would run it: a token signed by a
//! key made for the run (its JWKS embedded, no network), an event of the kind asked for,
//! and the authorizer's own `handle`, so what is reported is what production decides.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
use l42_cedar::{Engine, PolicyConfig};
use l42_core::{SigningKey, unix_now};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::Error;

/// The user pool tokens name unless a caller's `iss` says otherwise.
pub const DEFAULT_POOL: &str = "us-east-1_l42Policy";
/// The app client tokens name unless a caller's claims say otherwise.
pub const DEFAULT_CLIENT: &str = "l42-policy";
/// The authorizer variables a policy test may set: what changes a decision. The key, the
/// JWKS and the policy folder are the run's.
pub const SETTINGS: [&str; 10] = [
    "COGNITO_USER_POOL_ID",
    "COGNITO_CLIENT_ID",
    "TOKEN_USE",
    "IDENTITY_SOURCES",
    "HTTP_API_RESPONSE",
    "POLICY_CACHE_SAFE",
    "JWT_LEEWAY_SECONDS",
    "CLAIMS_CACHE_SIZE",
    "CEDAR_ENTITY_IDS",
    "CEDAR_APPLICATION",
];

/// Refuses settings the run cannot honour: an unknown name (a typo would otherwise test
/// the default), and identity sources without `header` (the run sends the token there).
fn check_settings(settings: &BTreeMap<String, String>) -> Result<(), Error> {
    for (name, value) in settings {
        if !SETTINGS.contains(&name.as_str()) {
            return Err(Error::Settings(format!(
                "{name} is not a variable a policy test can set (one of {})",
                SETTINGS.join(", ")
            )));
        }
        if name == "IDENTITY_SOURCES"
            && !value
                .split(',')
                .any(|s| s.trim().eq_ignore_ascii_case("header"))
        {
            return Err(Error::Settings(
                "IDENTITY_SOURCES must include header: policy tests send the token as `Authorization: Bearer`".into(),
            ));
        }
    }
    Ok(())
}

/// The pool and app client a caller's token names when its claims do not: the first of
/// `COGNITO_USER_POOL_ID` and `COGNITO_CLIENT_ID` in `settings`, else the defaults.
pub fn defaults(settings: &BTreeMap<String, String>) -> (String, String) {
    let first = |name: &str, default: &str| {
        settings
            .get(name)
            .and_then(|v| v.split(',').map(str::trim).find(|s| !s.is_empty()))
            .unwrap_or(default)
            .to_owned()
    };
    (
        first("COGNITO_USER_POOL_ID", DEFAULT_POOL),
        first("COGNITO_CLIENT_ID", DEFAULT_CLIENT),
    )
}

/// The account, API and stage of every event's ARN.
const ARN_PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:l42policy/test/";

/// Who calls: token claims, or a token file whose claims are used.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    /// The token's claims. `iss`, `token_use` (`access`), `client_id` (or `aud` for an id
    /// token), `iat`, `auth_time` and `exp` are filled in when left out; `sub` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Map<String, Value>>,
    /// A file holding a JWT (e.g. one Cognito issued): its claims are used, re-signed for
    /// the run with fresh times. Its signature is not what a policy test checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<PathBuf>,
}

/// The API Gateway event kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// HTTP API, payload 2.0.
    #[default]
    Http,
    /// REST API, REQUEST authorizer.
    RestRequest,
    /// REST API, TOKEN authorizer.
    RestToken,
    /// WebSocket API, `$connect`.
    Websocket,
}

impl EventKind {
    /// Its name in case files and on the command line.
    pub fn parse(name: &str) -> Option<EventKind> {
        serde_json::from_value(json!(name)).ok()
    }
}

/// One request to the API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// The method (default `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The path (`/orders/42`); not used for `websocket`.
    #[serde(default)]
    pub path: String,
    /// The event kind (default `http`).
    #[serde(default)]
    pub event: EventKind,
    /// Query string parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    /// The caller's IP address (default `203.0.113.10`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

/// A policy folder's authorizer with a signing key of its own.
pub struct Harness {
    authorizer: Authorizer,
    key: SigningKey,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    /// The authorizer of the folder `dir` with the authorizer variables `settings` (see
    /// [`SETTINGS`]). It accepts tokens of the pools and app clients `settings` names, as
    /// a deployment does, else of [`DEFAULT_POOL`] and [`DEFAULT_CLIENT`].
    ///
    /// # Errors
    /// [`Error::Policies`] when the folder does not load (strict validation, as at
    /// start-up), [`Error::Settings`] when a variable is refused.
    pub fn new(dir: &Path, settings: &BTreeMap<String, String>) -> Result<Harness, Error> {
        check_settings(settings)?;
        let key = SigningKey::generate("l42-policy").map_err(|e| Error::Internal(e.to_string()))?;
        let mut vars: BTreeMap<String, String> = [
            ("COGNITO_USER_POOL_ID", DEFAULT_POOL.to_owned()),
            ("COGNITO_CLIENT_ID", DEFAULT_CLIENT.to_owned()),
            ("JWKS_JSON", key.jwks_json()),
            ("JWKS_URL", "off".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(settings.clone());
        vars.insert("CEDAR_POLICY_DIR".into(), dir.display().to_string());
        let policy = PolicyConfig::from_lookup(|k| vars.get(k).map(OsString::from))
            .map_err(|e| Error::Settings(e.to_string()))?;
        let engine = Engine::from_config(&policy).map_err(|e| Error::Policies(e.to_string()))?;
        let config = AuthorizerConfig::from_lookup(|k| vars.get(k).cloned())
            .map_err(|e| Error::Settings(e.to_string()))?;
        let authorizer =
            Authorizer::new(config, engine).map_err(|e| Error::Settings(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(Harness {
            authorizer,
            key,
            runtime,
        })
    }

    /// The folder's engine.
    pub fn engine(&self) -> &Engine {
        self.authorizer.engine()
    }

    /// A token with `claims` (see [`caller_claims`]), signed by the run's key.
    ///
    /// # Errors
    /// [`Error::Internal`] if signing fails.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, Error> {
        self.key
            .sign_json(&Value::Object(claims.clone()))
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// The event API Gateway sends for `request` with `token` as the bearer token.
    pub fn event(&self, request: &RequestSpec, token: &str) -> Value {
        build_event(self.engine(), request, token)
    }

    /// The authorizer's outcome for `event`.
    pub fn run(&self, event: &Value) -> Outcome {
        self.runtime
            .block_on(self.authorizer.handle(event.to_string().as_bytes()))
    }
}

/// The claims a caller's token carries, defaults filled in (`iss` of `pool`, `client_id`
/// or `aud` of `client`).
pub fn caller_claims(
    caller: &Caller,
    base: &Path,
    (pool, client): (&str, &str),
) -> Result<Map<String, Value>, Error> {
    let mut claims = match (&caller.claims, &caller.token) {
        (Some(c), None) => c.clone(),
        (None, Some(file)) => token_file_claims(&base.join(file))?,
        _ => {
            return Err(Error::Caller(
                "a caller has either `claims` or `token`".into(),
            ));
        }
    };
    match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(Error::Caller("the claims need a non-empty `sub`".into())),
    }
    let now = unix_now();
    let token_use = claims
        .entry("token_use")
        .or_insert_with(|| json!("access"))
        .clone();
    claims.entry("iss").or_insert_with(|| json!(issuer(pool)));
    let client_claim = if token_use == "id" {
        "aud"
    } else {
        "client_id"
    };
    claims.entry(client_claim).or_insert_with(|| json!(client));
    claims.entry("iat").or_insert_with(|| json!(now - 60));
    claims.entry("auth_time").or_insert_with(|| json!(now - 60));
    claims.entry("exp").or_insert_with(|| json!(now + 3600));
    Ok(claims)
}

/// A token file's claims, with fresh times (the file's token has usually expired).
fn token_file_claims(path: &Path) -> Result<Map<String, Value>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Caller(format!("{}: {e}", path.display())))?;
    let token = text.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token);
    let not_a_jwt = || Error::Caller(format!("{}: not a JWT", path.display()));
    let payload = token.split('.').nth(1).ok_or_else(not_a_jwt)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| not_a_jwt())?;
    let Ok(Value::Object(mut claims)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(not_a_jwt());
    };
    for time in ["iat", "auth_time", "exp", "nbf"] {
        claims.remove(time);
    }
    Ok(claims)
}

/// The issuer URL of a user pool.
pub fn issuer(pool: &str) -> String {
    let region = pool.split('_').next().unwrap_or_default();
    format!("https://cognito-idp.{region}.amazonaws.com/{pool}")
}

/// Refuses a request API Gateway never sends: a method other than the seven, a path
/// without its leading `/` or with a query string or fragment in it.
pub fn check_request(request: &RequestSpec) -> Result<(), String> {
    if let Some(method) = &request.method
        && l42_cedar::Verb::from_method(method).is_none_or(|v| v == l42_cedar::Verb::Any)
    {
        return Err(format!(
            "method {method:?} is not one API Gateway sends (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)"
        ));
    }
    if request.event != EventKind::Websocket {
        let path = &request.path;
        if !path.starts_with('/') || path.contains(['?', '#']) || path.contains("//") {
            return Err(format!(
                "path {path:?} is not a request path (it starts with /, has no // and no ? or #: put query parameters in `query`)"
            ));
        }
    }
    Ok(())
}

fn build_event(engine: &Engine, request: &RequestSpec, token: &str) -> Value {
    let method = request
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase();
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path.as_str()
    };
    let source_ip = request.source_ip.as_deref().unwrap_or("203.0.113.10");
    let bearer = format!("Bearer {token}");
    let query: Map<String, Value> = request
        .query
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let query_string = request
        .query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    // The route API Gateway matched: the schema's, as the API is built from it.
    let matched = engine.resolve(&method, path);
    let (template, params): (String, Map<String, Value>) = match &matched {
        Some(m) => (
            m.route().template().unwrap_or(path).to_owned(),
            m.path_parameters()
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        ),
        None => (path.to_owned(), Map::new()),
    };
    let arn = format!("{ARN_PREFIX}{method}{path}");
    let nullable = |m: Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    match request.event {
        EventKind::Http => {
            let route_key = match &matched {
                Some(m) => match m.route().verb() {
                    Some(l42_cedar::Verb::Any) => format!("ANY {template}"),
                    _ => format!("{method} {template}"),
                },
                None => "$default".to_owned(),
            };
            json!({
                "version": "2.0", "type": "REQUEST", "routeArn": arn, "routeKey": route_key,
                "rawPath": path, "rawQueryString": query_string,
                "headers": {"authorization": bearer},
                "queryStringParameters": nullable(query),
                "pathParameters": nullable(params),
                "requestContext": {"routeKey": route_key, "stage": "test",
                                   "http": {"method": method, "path": path, "sourceIp": source_ip}},
            })
        }
        EventKind::RestRequest => json!({
            "type": "REQUEST", "methodArn": arn, "resource": template, "path": path,
            "httpMethod": method, "headers": {"Authorization": bearer},
            "queryStringParameters": nullable(query), "pathParameters": nullable(params),
            "requestContext": {"resourcePath": template, "httpMethod": method, "stage": "test",
                               "identity": {"sourceIp": source_ip}},
        }),
        EventKind::RestToken => json!({
            "type": "TOKEN", "authorizationToken": bearer, "methodArn": arn,
        }),
        EventKind::Websocket => json!({
            "type": "REQUEST", "methodArn": format!("{ARN_PREFIX}$connect"),
            "headers": {"Authorization": bearer}, "queryStringParameters": nullable(query),
            "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "stage": "test",
                               "identity": {"sourceIp": source_ip}},
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn issuers_and_defaults() {
        assert_eq!(
            issuer("eu-west-1_AbC"),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
        );
        let settings: BTreeMap<String, String> = [
            (
                "COGNITO_USER_POOL_ID".to_owned(),
                " eu-west-1_A , eu-west-1_B".to_owned(),
            ),
            ("COGNITO_CLIENT_ID".to_owned(), "c1,c2".to_owned()),
        ]
        .into();
        assert_eq!(
            defaults(&settings),
            ("eu-west-1_A".to_owned(), "c1".to_owned())
        );
        assert_eq!(
            defaults(&BTreeMap::new()),
            (DEFAULT_POOL.to_owned(), DEFAULT_CLIENT.to_owned())
        );
    }

    #[test]
    fn requests_api_gateway_never_sends_are_refused() {
        let request = |method: &str, path: &str| RequestSpec {
            method: Some(method.to_owned()),
            path: path.to_owned(),
            ..RequestSpec::default()
        };
        assert!(check_request(&request("get", "/orders")).is_ok());
        for (method, path) in [
            ("ANY", "/orders"),
            ("TRACE", "/orders"),
            ("GET", "orders"),
            ("GET", "/orders?x=1"),
            ("GET", "//orders"),
            ("GET", "/a#b"),
        ] {
            assert!(
                check_request(&request(method, path)).is_err(),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn claims_need_a_sub_and_get_defaults() {
        let base = Path::new(".");
        let d = (DEFAULT_POOL, DEFAULT_CLIENT);
        let caller = |claims: Value| Caller {
            claims: Some(claims.as_object().unwrap().clone()),
            token: None,
        };
        let c = caller_claims(&caller(json!({"sub": "s"})), base, d).unwrap();
        assert_eq!(c["token_use"], "access");
        assert_eq!(c["client_id"], DEFAULT_CLIENT);
        assert_eq!(c["iss"], issuer(DEFAULT_POOL));
        let id = caller_claims(&caller(json!({"sub": "s", "token_use": "id"})), base, d).unwrap();
        assert_eq!(id["aud"], DEFAULT_CLIENT);
        assert!(id.get("client_id").is_none());
        for bad in [json!({}), json!({"sub": ""}), json!({"sub": 3})] {
            assert!(matches!(
                caller_claims(&caller(bad), base, d),
                Err(Error::Caller(_))
            ));
        }
        let both = Caller {
            claims: Some(Map::new()),
            token: Some("t.jwt".into()),
        };
        assert!(matches!(
            caller_claims(&both, base, d),
            Err(Error::Caller(_))
        ));
        assert!(matches!(
            caller_claims(&Caller::default(), base, d),
            Err(Error::Caller(_))
        ));
    }
}
