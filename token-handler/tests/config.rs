//! Configuration: defaults, normalisation, and errors that name their variable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::net::SocketAddr;

use common::*;
use l42_core::session::Backend;
use l42_core::session::SameSite;

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut vars = base_vars();
    vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    vars.extend_from_slice(extra);
    vars
}

#[test]
fn defaults() {
    let c = config_from(&[
        ("COGNITO_CLIENT_ID", "client-1"),
        ("COGNITO_USER_POOL_ID", "eu-west-2_Example"),
        ("COGNITO_DOMAIN", "auth.example.com"),
        ("SESSION_SECRET", "0123456789abcdef0123456789abcdef"),
    ])
    .unwrap();
    assert_eq!(c.auth_path_prefix, "/auth");
    assert_eq!(c.frontend_url.as_str(), "http://localhost:3000");
    assert_eq!(c.listen, "127.0.0.1:3001".parse::<SocketAddr>().unwrap());
    assert_eq!(c.session_backend, Backend::Memory);
    assert!(!c.cookies.settings.secure);
    assert_eq!(c.cookies.settings.same_site, SameSite::Lax);
    assert_eq!(c.region, "eu-west-2");
    assert_eq!(c.oauth.base_url, "https://auth.example.com");
    assert!(c.aaguid_allowlist.is_empty());
    assert!(!c.require_device_bound);
    assert!(c.entity_table.is_none());
    assert!(!c.in_lambda);
    assert_eq!(c.verifier.client_ids, ["client-1"]);
    assert_eq!(c.verifier.token_use, l42_core::TokenUse::Any);
}

#[test]
fn inside_lambda_sessions_default_to_dynamodb_and_secure_cookies() {
    let c = config_from(&with(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")])).unwrap();
    assert!(c.in_lambda);
    assert_eq!(c.session_backend, Backend::DynamoDb);
    assert!(c.cookies.settings.secure);
    let c = config_from(&with(&[
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("SESSION_BACKEND", "memory"),
        ("SESSION_HTTPS_ONLY", "false"),
    ]))
    .unwrap();
    assert_eq!(c.session_backend, Backend::Memory);
    assert!(!c.cookies.settings.secure);
}

#[test]
fn every_variable_is_read() {
    let root = rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .pem();
    let c = config_from(&with(&[
        ("COGNITO_CLIENT_SECRET", "s3cret"),
        ("COGNITO_REGION", "us-west-2"),
        ("FRONTEND_URL", "https://App.Example.com/"),
        (
            "CALLBACK_ALLOWED_ORIGINS",
            "https://a.example.com, https://b.example.com:8443,https://a.example.com",
        ),
        ("CALLBACK_USE_ORIGIN", "yes"),
        ("HOST", "0.0.0.0"),
        ("PORT", "8080"),
        ("SESSION_BACKEND", "DynamoDB"),
        ("DYNAMODB_TABLE", "my.sessions-1"),
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:5000/"),
        ("SESSION_HTTPS_ONLY", "TRUE"),
        ("SESSION_SAME_SITE", "Strict"),
        ("COOKIE_DOMAIN", ".example.com"),
        ("AUTH_PATH_PREFIX", "_auth/"),
        ("AAGUID_ALLOWLIST", "cb69481e-8ff7-4039-93ec-0a2729a154a8"),
        ("REQUIRE_DEVICE_BOUND", "1"),
        ("ATTESTATION_ROOTS", root.as_str()),
        ("WEBAUTHN_RP_ID", "example.com"),
        ("ADDITIONAL_AUDIENCE", "client-2, client-3"),
        ("ENTITY_TABLE", "entities"),
        (
            "SESSION_SECRET_PREVIOUS",
            "an-older-secret-of-at-least-32-bytes",
        ),
    ]))
    .unwrap();
    assert!(c.oauth.client_secret.is_some());
    assert_eq!(c.region, "us-west-2");
    assert_eq!(c.frontend_url.as_str(), "https://app.example.com");
    let origins: Vec<String> = c
        .allowed_origins()
        .iter()
        .map(|o| o.as_str().to_owned())
        .collect();
    assert_eq!(
        origins,
        [
            "https://app.example.com",
            "https://a.example.com",
            "https://b.example.com:8443"
        ]
    );
    assert!(c.callback_use_origin);
    assert_eq!(c.listen, "0.0.0.0:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(c.session_backend, Backend::DynamoDb);
    assert_eq!(
        c.dynamodb_endpoint.as_deref(),
        Some("http://127.0.0.1:5000")
    );
    assert!(c.cookies.settings.secure);
    assert_eq!(c.cookies.settings.same_site, SameSite::Strict);
    assert_eq!(c.cookies.settings.domain.as_deref(), Some("example.com"));
    assert_eq!(c.auth_path_prefix, "/_auth");
    assert_eq!(c.route("/authorize"), "/_auth/authorize");
    assert_eq!(c.aaguid_allowlist.len(), 1);
    assert!(c.require_device_bound);
    assert_eq!(c.attestation_roots.len(), 1);
    assert_eq!(c.webauthn_rp_ids, ["example.com"]);
    assert_eq!(c.additional_audiences, ["client-2", "client-3"]);
    assert_eq!(c.verifier.client_ids, ["client-1", "client-2", "client-3"]);
    assert_eq!(c.entity_table.as_deref(), Some("entities"));
    assert!(
        format!("{:?}", c.cookies.keys).contains("previous: Some"),
        "SESSION_SECRET_PREVIOUS is read"
    );
    // No secret shows in Debug output.
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("s3cret") && !debug.contains("0123456789abcdef"),
        "{debug}"
    );
}

#[test]
fn required_variables_are_named() {
    for var in [
        "COGNITO_CLIENT_ID",
        "COGNITO_USER_POOL_ID",
        "COGNITO_DOMAIN",
        "SESSION_SECRET",
    ] {
        let mut vars = base_vars();
        vars.retain(|(k, _)| *k != var);
        let e = config_from(&vars).unwrap_err();
        assert_eq!(e.var, var);
        assert!(e.to_string().contains(var));
        // Empty is the same as unset.
        let e = config_from(&with(&[(var, "  ")])).unwrap_err();
        assert_eq!(e.var, var);
    }
}

#[test]
fn bad_values_name_their_variable() {
    for (var, value) in [
        ("COGNITO_CLIENT_ID", "bad id"),
        ("COGNITO_CLIENT_ID", "a,b"),
        ("COGNITO_USER_POOL_ID", "nope"),
        ("COGNITO_USER_POOL_ID", "us-east-1_a,us-east-1_b"),
        ("COGNITO_DOMAIN", "http://auth.example.com"),
        ("COGNITO_DOMAIN", "https://auth.example.com/?x"),
        ("SESSION_SECRET", "too-short"),
        ("SESSION_SECRET_PREVIOUS", "short"),
        ("COGNITO_REGION", "moon-1"),
        ("FRONTEND_URL", "localhost:3000"),
        ("FRONTEND_URL", "https://app.example.com/path"),
        ("CALLBACK_ALLOWED_ORIGINS", "https://ok.example.com,*"),
        ("CALLBACK_USE_ORIGIN", "maybe"),
        ("HOST", "not-a-host"),
        ("PORT", "0"),
        ("PORT", "70000"),
        ("PORT", "http"),
        ("SESSION_BACKEND", "redis"),
        ("DYNAMODB_TABLE", "x"),
        ("DYNAMODB_TABLE", "bad/table"),
        ("DYNAMODB_ENDPOINT", "localhost:8000"),
        ("SESSION_HTTPS_ONLY", "sometimes"),
        ("SESSION_SAME_SITE", "none"),
        ("COOKIE_DOMAIN", "bad domain"),
        ("AUTH_PATH_PREFIX", "/a b"),
        ("AAGUID_ALLOWLIST", "not-a-uuid"),
        ("REQUIRE_DEVICE_BOUND", "2"),
        ("WEBAUTHN_RP_ID", "https://localhost"),
        ("WEBAUTHN_RP_ID", "elsewhere.example"),
        ("ATTESTATION_ROOTS", "junk"),
        ("ATTESTATION_ROOTS_FILE", "/nonexistent/roots.pem"),
        ("ADDITIONAL_AUDIENCE", "ok,not ok"),
        ("ENTITY_TABLE", "no"),
        ("JWKS_URL", "http://example.com/jwks"),
        ("JWKS_JSON", "[1]"),
        ("JWT_LEEWAY_SECONDS", "9999"),
        ("AWS_REGION", "nowhere"),
    ] {
        let e = config_from(&with(&[(var, value)])).unwrap_err();
        assert_eq!(e.var, var, "{var}={value}: {e}");
        let line = e.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains(var), "{line}");
    }
}

#[test]
fn aws_settings() {
    // The entity table's client is built as the session store's is: the region and
    // credentials of the environment, or a local endpoint.
    let vars = |extra: &[(&'static str, &'static str)]| {
        let v = with(extra);
        move |name: &str| {
            v.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(
        l42_token_handler::aws::dynamodb_client(vars(&[
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
            ("AWS_SESSION_TOKEN", "very-secret-token"),
        ]))
        .is_ok()
    );
    let e = l42_token_handler::aws::dynamodb_client(vars(&[("AWS_REGION", "eu-central-1")]))
        .unwrap_err();
    assert_eq!(e.var, "AWS_ACCESS_KEY_ID");
    // Half a key pair names the missing half.
    let e = l42_token_handler::aws::dynamodb_client(vars(&[
        ("AWS_REGION", "eu-central-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ]))
    .unwrap_err();
    assert_eq!(e.var, "AWS_SECRET_ACCESS_KEY");
    let e = l42_token_handler::aws::dynamodb_client(vars(&[
        ("AWS_REGION", "eu-central-1"),
        ("DYNAMODB_ENDPOINT", "http://db.example.com:8000"),
    ]))
    .unwrap_err();
    assert_eq!(e.var, "DYNAMODB_ENDPOINT");
}

#[test]
fn secrets_are_not_echoed_in_errors() {
    let e = config_from(&with(&[("SESSION_SECRET", "hunter2-short")])).unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("32 bytes"), "{e}");
}

/// Every URL variable is read by l42-core's one set of rules: `https`, plain `http` only
/// when the parsed host is loopback (`http://127.0.0.1:@other.example/` names the host
/// `other.example`), and the same answer as the other binaries give.
#[test]
fn url_variables_are_read_as_every_binary_reads_them() {
    for (domain, base) in [
        ("auth.example.com", "https://auth.example.com"),
        (
            "https://x.auth.us-east-1.amazoncognito.com/",
            "https://x.auth.us-east-1.amazoncognito.com",
        ),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        (
            "HTTPS://Auth.Example.com:8443",
            "https://auth.example.com:8443",
        ),
    ] {
        let c = config_from(&with(&[("COGNITO_DOMAIN", domain)])).unwrap();
        assert_eq!(c.oauth.base_url, base, "{domain}");
        // The same value the core client (and so the refresh coordinator) reads.
        let core = l42_core::OAuthConfig::new(domain, "client-1", None).unwrap();
        assert_eq!(core.base_url, c.oauth.base_url);
    }
    for (var, bad) in [
        ("COGNITO_DOMAIN", "http://auth.example.com"),
        ("COGNITO_DOMAIN", "https://x/path"),
        ("COGNITO_DOMAIN", "https://a.com/?x=1"),
        ("COGNITO_DOMAIN", "ftp://x"),
        ("COGNITO_DOMAIN", "https://"),
        ("COGNITO_DOMAIN", "http://127.0.0.1:@other.example/"),
        ("COGNITO_DOMAIN", "http://localhost:@other.example"),
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:@other.example/"),
        ("DYNAMODB_ENDPOINT", "http://db.example.com:8000"),
        ("JWKS_URL", "http://127.0.0.1:@other.example/jwks.json"),
        ("JWKS_URL", "http://localhost.other.example/jwks.json"),
    ] {
        let e = config_from(&with(&[(var, bad)])).unwrap_err();
        assert_eq!(e.var, var, "{bad}: {e}");
    }
    let c = config_from(&with(&[("DYNAMODB_ENDPOINT", "http://[::1]:8000/")])).unwrap();
    assert_eq!(c.dynamodb_endpoint.as_deref(), Some("http://[::1]:8000"));
}

/// Booleans read the same in every variable of every binary.
#[test]
fn booleans_read_alike() {
    for (value, want) in [("on", true), ("OFF", false), ("Yes", true), ("0", false)] {
        let c = config_from(&with(&[
            ("SESSION_HTTPS_ONLY", value),
            ("CALLBACK_USE_ORIGIN", value),
        ]))
        .unwrap();
        assert_eq!(c.cookies.settings.secure, want, "{value}");
        assert_eq!(c.callback_use_origin, want, "{value}");
    }
}
