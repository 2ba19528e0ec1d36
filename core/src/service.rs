//! The HTTP shell the token handler and refresh share (feature `lambda-http`): CORS, CSRF,
//! JSON errors, serving inside Lambda, and the binaries' `main`.
//!
//! The layers, as both routers stack them (outermost first): [`cors`], [`json_errors`],
//! (the token handler's panic and timeout layers), [`csrf`], the handlers.
//!
//! * **CORS** is an exact-origin allow-list ([`Cors`]): a listed `Origin` (exactly one
//!   header) is reflected with `Access-Control-Allow-Credentials: true`; an unlisted one
//!   gets no CORS header at all; a preflight (`OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`) is answered here with a 204; every response varies
//!   on `Origin`; never `*`.
//! * **CSRF**: a request with an unsafe method needs exactly one `X-L42-CSRF: 1`
//!   ([`crate::web::csrf_header_proves`], the rule the authorizer's cookie source applies
//!   too), checked before the body is read; otherwise 403
//!   `{"error":"CSRF validation failed"}`. A cross-site form or `<img>` cannot set a custom
//!   header, and a cross-site `fetch` that sets one needs a preflight only listed origins
//!   pass.
//! * **JSON errors**: an error response without a JSON body (axum's own 404 or 405, a
//!   layer's 413) gets `{"error": …}` ([`status_message`]) and `Cache-Control: no-store`.
//!
//! ## Why CORS is not tower-http's `CorsLayer`
//!
//! `CorsLayer::new().allow_origin(AllowOrigin::list(..)).allow_credentials(
//! AllowCredentials::predicate(..))` gets the origin and credential headers right, but the
//! rest differs from the contract above in ways `cors_layer_differences` in the tests pins
//! down against tower-http itself: it answers every `OPTIONS` (also one that is not a
//! preflight) with a 200 and never lets the router see it, sends `Allow-Methods` and
//! `Allow-Headers` to unlisted origins, adds `Vary` on the preflight headers to every
//! response, and takes the first of several `Origin` headers. So one hand copy lives here,
//! used by both services.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::lambda::strip_stage;
use crate::web::{CSRF_HEADER, Origin, csrf_header_proves, is_safe_method};

/// How long a browser may cache a preflight answer, in seconds.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// The request headers a preflight allows.
pub const ALLOWED_HEADERS: &str = "content-type, x-l42-csrf";

/// The body of a CSRF rejection.
pub const CSRF_FAILED: &str = "CSRF validation failed";

/// An error answer: `status`, `{"error": message}`, `Cache-Control: no-store`.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = (status, Body::from(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `error` text for a status whose response came without a JSON body.
pub fn status_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::REQUEST_TIMEOUT => "Request timed out",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        s if s.is_server_error() => "Internal server error",
        s => s.canonical_reason().unwrap_or("Bad request"),
    }
}

/// Whether a `Content-Type` value names JSON (`application/json` or
/// `application/…+json`, with or without parameters, any case).
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The middleware (`axum::middleware::map_response(json_errors)`) that gives every error
/// response a JSON body; responses that already have one pass unchanged.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_content_type);
    if is_json {
        return response;
    }
    let (mut parts, _body) = response.into_parts();
    let (replacement, body) = json_error(status, status_message(status)).into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &replacement.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// Whether a request with `method` and `headers` passes the CSRF check.
pub fn csrf_passes(method: &Method, headers: &HeaderMap) -> bool {
    is_safe_method(method.as_str())
        || csrf_header_proves(headers.get_all(CSRF_HEADER).iter().map(|v| v.as_bytes()))
}

/// The CSRF middleware (`axum::middleware::from_fn(csrf)`).
pub async fn csrf(request: Request, next: Next) -> Response {
    if csrf_passes(request.method(), request.headers()) {
        next.run(request).await
    } else {
        json_error(StatusCode::FORBIDDEN, CSRF_FAILED)
    }
}

/// The CORS allow-list and the methods a preflight allows, ready for [`cors`].
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Arc<[HeaderValue]>,
    methods: HeaderValue,
}

impl Cors {
    /// The allow-list of `origins` (normalised, so compared byte for byte with the
    /// browser's `Origin`, which is always in that form); preflights allow `methods`
    /// (`"GET, POST"`).
    pub fn new(origins: &[Origin], methods: &'static str) -> Self {
        Self {
            origins: origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.as_str()).ok())
                .collect(),
            methods: HeaderValue::from_static(methods),
        }
    }

    /// The request's `Origin` when it is listed (exactly one `Origin` header).
    pub fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let mut all = headers.get_all(header::ORIGIN).iter();
        match (all.next(), all.next()) {
            (Some(origin), None) => self.origins.iter().find(|o| *o == origin).cloned(),
            _ => None,
        }
    }
}

/// The CORS middleware (`axum::middleware::from_fn_with_state(Cors::new(..), cors)`).
pub async fn cors(State(cors): State<Cors>, request: Request, next: Next) -> Response {
    let allowed = cors.allowed_origin(request.headers());
    let preflight = request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        for vary in [
            "access-control-request-method",
            "access-control-request-headers",
        ] {
            h.append(header::VARY, HeaderValue::from_static(vary));
        }
        if allowed.is_some() {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, cors.methods.clone());
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOWED_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
            );
        }
        response
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    h.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    h.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// Runs `app` as the Lambda function until the runtime stops, with the API stage taken off
/// the path ([`strip_stage`]).
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run_lambda(app: Router) -> Result<(), lambda_http::Error> {
    let service = tower::ServiceBuilder::new()
        .map_request(strip_stage::<lambda_http::Body>)
        .service(app);
    lambda_http::run(service).await
}

/// What a binary's start-up hands [`Binary::main`]: the application, and where it listens
/// outside Lambda.
#[derive(Debug)]
pub struct Serve {
    /// The application: every route and layer, served as is in Lambda or on `listen`.
    pub app: Router,
    /// `HOST:PORT`, used only outside Lambda.
    pub listen: SocketAddr,
}

/// A service binary (`l42-token-handler`, `l42-refresh`): its name and `--help` text.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// The binary's name, in front of every message it prints.
    pub name: &'static str,
    /// The `--help` text.
    pub usage: &'static str,
    /// The package version, for `--version`.
    pub version: &'static str,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Serve.
    Serve,
    /// Print the usage and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
    /// An argument the binary does not take: print it with the usage and exit 2.
    Unknown(String),
}

impl Invocation {
    /// Reads the arguments after the program name: none, `-h`/`--help` or
    /// `-V`/`--version`.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Invocation {
        match args.next().as_deref() {
            None => Invocation::Serve,
            Some("-h" | "--help") => Invocation::Help,
            Some("-V" | "--version") => Invocation::Version,
            Some(other) => Invocation::Unknown(other.to_owned()),
        }
    }
}

impl Binary {
    /// The whole `main`: reads the arguments, installs logging, starts the async runtime
    /// (one thread inside Lambda, which sends one request at a time; a pool elsewhere),
    /// runs `start` inside it, then serves its application through the Lambda runtime
    /// (`AWS_LAMBDA_RUNTIME_API` set) or on `HOST:PORT` until Ctrl-C. Any failure is one
    /// line on stderr, `<name>: <reason>`, and exit code 1 (2 for a bad argument).
    pub fn main<F, Fut>(&self, start: F) -> ExitCode
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Serve, String>>,
    {
        let name = self.name;
        match Invocation::parse(std::env::args().skip(1)) {
            Invocation::Serve => {}
            Invocation::Help => {
                println!("{}", self.usage);
                return ExitCode::SUCCESS;
            }
            Invocation::Version => {
                println!("{name} {}", self.version);
                return ExitCode::SUCCESS;
            }
            Invocation::Unknown(other) => {
                eprintln!("{name}: unknown argument `{other}`\n{}", self.usage);
                return ExitCode::from(2);
            }
        }
        crate::telemetry::init();
        let in_lambda = crate::telemetry::in_lambda();
        let runtime = if in_lambda {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        };
        let runtime = match runtime {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: cannot start the async runtime: {e}");
                return ExitCode::from(1);
            }
        };
        let served = runtime.block_on(async {
            let Serve { app, listen } = start().await?;
            if in_lambda {
                return run_lambda(app)
                    .await
                    .map_err(|e| format!("runtime error: {e}"));
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let shown = listener.local_addr().unwrap_or(listen);
            tracing::info!("listening on http://{shown}");
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(|e| format!("server error: {e}"))
        });
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::from(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use axum::routing::{get, post};
    use tower::ServiceExt as _;

    fn origins() -> Vec<Origin> {
        vec![Origin::parse("https://app.example.com").unwrap()]
    }

    fn app() -> Router {
        Router::new()
            .route(
                "/x",
                post(|| async { "posted" }).options(|| async { "options" }),
            )
            .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
            .layer(axum::middleware::from_fn(csrf))
            .layer(axum::middleware::map_response(json_errors))
            .layer(axum::middleware::from_fn_with_state(
                Cors::new(&origins(), "POST"),
                cors,
            ))
    }

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn unlisted_origins_get_no_cors_header_at_all() {
        for origin in [
            "https://evil.example.com",
            "https://app.example.com.evil.example",
            "null",
        ] {
            let r = app()
                .oneshot(request(
                    "OPTIONS",
                    "/x",
                    &[
                        ("origin", origin),
                        ("access-control-request-method", "POST"),
                    ],
                ))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
            assert!(
                !r.headers()
                    .keys()
                    .any(|k| k.as_str().starts_with("access-control-")),
                "{origin}: {:?}",
                r.headers()
            );
        }
        // Two Origin headers, one listed: neither is trusted.
        let r = app()
            .oneshot(request(
                "POST",
                "/x",
                &[
                    ("origin", "https://app.example.com"),
                    ("origin", "https://evil.example.com"),
                    ("x-l42-csrf", "1"),
                ],
            ))
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }

    #[tokio::test]
    async fn listed_origins_are_reflected_with_credentials() {
        let r = app()
            .oneshot(request(
                "OPTIONS",
                "/x",
                &[
                    ("origin", "https://app.example.com"),
                    ("access-control-request-method", "POST"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-allow-methods"], "POST");
        assert_eq!(h["access-control-allow-headers"], ALLOWED_HEADERS);
        // An OPTIONS that is not a preflight reaches the router.
        let r = app().oneshot(request("OPTIONS", "/x", &[])).await.unwrap();
        assert_eq!(body(r).await, "options");
    }

    #[tokio::test]
    async fn unsafe_methods_need_exactly_one_csrf_header() {
        for headers in [
            vec![],
            vec![("x-l42-csrf", "0")],
            vec![("x-l42-csrf", "1"), ("x-l42-csrf", "1")],
        ] {
            let r = app()
                .oneshot(request("POST", "/x", &headers))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{headers:?}");
            assert_eq!(r.headers()["cache-control"], "no-store");
            assert_eq!(body(r).await, r#"{"error":"CSRF validation failed"}"#);
        }
        let r = app()
            .oneshot(request("POST", "/x", &[("x-l42-csrf", "1")]))
            .await
            .unwrap();
        assert_eq!(body(r).await, "posted");
    }

    #[tokio::test]
    async fn error_responses_get_json_bodies() {
        for (method, path, status, text) in [
            ("GET", "/nowhere", 404, "Not found"),
            ("GET", "/x", 405, "Method not allowed"),
            ("GET", "/teapot", 418, "I'm a teapot"),
        ] {
            let r = app().oneshot(request(method, path, &[])).await.unwrap();
            assert_eq!(r.status().as_u16(), status);
            assert_eq!(r.headers()["content-type"], "application/json");
            let v: serde_json::Value = serde_json::from_str(&body(r).await).unwrap();
            assert_eq!(v["error"], text);
        }
        assert!(is_json_content_type("Application/JSON; charset=utf-8"));
        assert!(!is_json_content_type("application/jsonp"));
    }

    #[test]
    fn arguments() {
        let parse = |args: &[&str]| Invocation::parse(args.iter().map(|s| s.to_string()));
        assert_eq!(parse(&[]), Invocation::Serve);
        assert_eq!(parse(&["--help"]), Invocation::Help);
        assert_eq!(parse(&["-V"]), Invocation::Version);
        assert_eq!(parse(&["serve"]), Invocation::Unknown("serve".into()));
    }

    /// The reasons in the module docs, measured against tower-http itself: if a release
    /// changes these, the hand copy may be replaced.
    #[tokio::test]
    async fn cors_layer_differences() {
        use tower_http::cors::{AllowCredentials, AllowHeaders, AllowMethods, AllowOrigin};
        let listed = HeaderValue::from_static("https://app.example.com");
        let layer = tower_http::cors::CorsLayer::new()
            .allow_origin(AllowOrigin::list([listed.clone()]))
            .allow_credentials(AllowCredentials::predicate(move |o, _| *o == listed))
            .allow_methods(AllowMethods::list([Method::POST]))
            .allow_headers(AllowHeaders::list([header::CONTENT_TYPE]));
        let theirs = Router::new()
            .route(
                "/x",
                post(|| async { "posted" }).options(|| async { "options" }),
            )
            .layer(layer);
        // A plain OPTIONS never reaches the router, and gets a 200.
        let r = theirs
            .clone()
            .oneshot(request("OPTIONS", "/x", &[]))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_ne!(body(r).await, "options");
        // An unlisted origin's preflight still gets Allow-Methods.
        let r = theirs
            .clone()
            .oneshot(request(
                "OPTIONS",
                "/x",
                &[
                    ("origin", "https://evil.example.com"),
                    ("access-control-request-method", "POST"),
                ],
            ))
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-methods").is_some());
        // The first of two Origin headers is trusted.
        let r = theirs
            .oneshot(request(
                "POST",
                "/x",
                &[
                    ("origin", "https://app.example.com"),
                    ("origin", "https://evil.example.com"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
    }
}
