//! Counting DynamoDB requests: a client interceptor that counts requests by operation
//! (the `X-Amz-Target` header, every attempt included) and refuses any operation but the
//! four point operations, a `TransactWriteItems` of puts and deletes (ending a session)
//! and a `Query` of the user index (listing a user's sessions), so that a `Scan`, or a
//! `Query` of the table itself, anywhere in a test fails it. Which operations a request
//! path sends is each test's to assert from the counts. [`CountingProxy`] does the same
//! for clients that are not the SDK's (the authorizer's `DynamoReader`): a loopback HTTP
//! proxy in front of the emulator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// The only operations l42 may send.
pub const POINT_OPERATIONS: [&str; 4] = ["GetItem", "PutItem", "UpdateItem", "DeleteItem"];

/// Requests seen so far, by operation.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<HashMap<String, usize>>>);

impl Requests {
    /// The counts so far, which start again from zero.
    pub fn take(&self) -> HashMap<String, usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many requests so far.
    pub fn total(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }
}

impl Requests {
    /// Counts one request of `target` (the `X-Amz-Target` header) with `body`; an error
    /// when it is an operation l42 must never send.
    pub fn record(&self, target: &str, body: Option<&[u8]>) -> Result<(), String> {
        let op = target.rsplit('.').next().unwrap_or(target).to_string();
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(op.clone())
            .or_default() += 1;
        if POINT_OPERATIONS.contains(&op.as_str()) {
            return Ok(());
        }
        let body: serde_json::Value = body
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let allowed = match op.as_str() {
            "Query" => body["IndexName"] == l42_core::session::table::USER_INDEX,
            "TransactWriteItems" => body["TransactItems"].as_array().is_some_and(|items| {
                items.iter().all(|i| {
                    i.as_object().is_some_and(|o| {
                        o.len() == 1 && (o.contains_key("Put") || o.contains_key("Delete"))
                    })
                })
            }),
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "{op} was sent: only point operations, transactions of puts and deletes, \
                 and queries of the user index are allowed"
            ))
        }
    }
}

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "l42-test-request-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or("none");
        Ok(self.record(target, request.body().bytes())?)
    }
}

/// `client` with `requests` counting (and policing) every request it sends.
pub fn counted(client: &Client, requests: &Requests) -> Client {
    Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(requests.clone())
            .build(),
    )
}

/// A loopback HTTP proxy in front of a DynamoDB endpoint that counts and polices every
/// request as [`counted`] does, answering a forbidden one with a 400 error of DynamoDB's
/// JSON shape (so the client sees a refusal, and the count shows it). It stops when
/// dropped.
#[derive(Debug)]
pub struct CountingProxy {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: &str, requests: &Requests) -> std::io::Result<CountingProxy> {
        use axum::body::Bytes;
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::{IntoResponse, Response};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let upstream = format!("{}/", upstream.trim_end_matches('/'));
        let http = l42_core::http::client_builder()
            .and_then(|b| b.build().map_err(|e| e.to_string()))
            .map_err(std::io::Error::other)?;
        let requests = requests.clone();
        let forward = move |headers: HeaderMap, body: Bytes| {
            let (http, upstream, requests) = (http.clone(), upstream.clone(), requests.clone());
            async move {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none");
                if let Err(why) = requests.record(target, Some(&body)) {
                    let refusal = serde_json::json!({
                        "__type": "l42.tests#ForbiddenOperation",
                        "message": why,
                    });
                    return (StatusCode::BAD_REQUEST, refusal.to_string()).into_response();
                }
                let mut request = http.post(&upstream).body(body);
                for (name, value) in &headers {
                    if name != "host" && name != "content-length" {
                        request = request.header(name.as_str(), value.as_bytes());
                    }
                }
                match request.send().await {
                    Ok(answer) => {
                        let status = StatusCode::from_u16(answer.status().as_u16())
                            .unwrap_or(StatusCode::BAD_GATEWAY);
                        let body = answer.bytes().await.unwrap_or_default();
                        let mut response = Response::new(axum::body::Body::from(body));
                        *response.status_mut() = status;
                        response
                    }
                    Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
                }
            }
        };
        let app = axum::Router::new().fallback(forward);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(CountingProxy { url, task })
    }

    /// The proxy's URL, for `DYNAMODB_ENDPOINT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
