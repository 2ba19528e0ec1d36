//! The refresh coordinator's own cost on the uncontended path (one caller, in-memory
//! store): `Refresher::refresh_id` (read, lease, Cognito call, conditional write, event)
//! against a direct `CognitoClient::refresh` to the same local token endpoint; the
//! difference is the coordinator's overhead without Cognito's own time.
//!
//! The token endpoint is a minimal keep-alive HTTP/1.1 server on loopback answering a
//! canned token response (so the numbers do not depend on a real identity provider).
//!
//! `cargo bench -p l42-core --bench refresh`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use l42_core::session::refresh::{RefreshOptions, Refresher};
use l42_core::session::{MemoryStore, Session, SessionId, SessionStore, SessionTokens};
use l42_core::{CognitoClient, OAuthConfig, unix_now};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve(listener: tokio::net::TcpListener) {
    let counter = Arc::new(AtomicU64::new(0));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let counter = counter.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                // Read one request: head, then Content-Length bytes of body.
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                buf.drain(..head_end + len);
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE5MDAwMDAwMDB9.access-{n}","id_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjE5MDAwMDAwMDB9.id-{n}","token_type":"Bearer","expires_in":3600}}"#
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener));
        format!("http://{addr}")
    });
    let oauth = || CognitoClient::new(OAuthConfig::new(&base, "client-1", None).unwrap());
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let now = unix_now();
    let session = Session::new(
        SessionId::generate().unwrap(),
        SessionTokens {
            access_token: "access-0".into(),
            id_token: "id-0".into(),
            refresh_token: Some("refresh-0".into()),
            auth_method: "handler".into(),
        },
        now,
        now + 86_400,
    );
    rt.block_on(store.create(&session)).unwrap();
    let options = RefreshOptions {
        reuse_window: std::time::Duration::ZERO,
        ..RefreshOptions::default()
    };
    let refresher = Refresher::new(store, oauth(), options);
    let direct = oauth();

    let mut group = c.benchmark_group("refresh");
    group.bench_function("cognito_direct", |b| {
        b.iter(|| rt.block_on(direct.refresh("refresh-0")).unwrap())
    });
    group.bench_function("refresher_uncontended", |b| {
        b.iter(|| rt.block_on(refresher.refresh_id(&session.id)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
