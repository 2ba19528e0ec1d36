//! A minimal Lambda Runtime API endpoint on loopback, enough for a real Lambda binary:
//! `GET /2018-06-01/runtime/invocation/next` hands out queued events one at a time
//! (holding the request open until one is queued), and the `response` / `error` posts are
//! collected. It stops when dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// `/invocation/{id}/response`.
    Response(String),
    /// `/invocation/{id}/error`.
    Error(String),
    /// `/init/error`.
    InitError(String),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    results: Vec<(String, Posted)>,
    next_requests: u64,
    first_next_at: Option<Instant>,
}

/// The endpoint; `addr()` goes into `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApi {
    addr: String,
    state: Arc<(Mutex<State>, Condvar)>,
    notify: Arc<tokio::sync::Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<tokio::sync::Notify>,
}

impl RuntimeApi {
    /// Starts the endpoint on a free loopback port, on its own thread.
    pub fn start() -> RuntimeApi {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap().to_string();
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let notify = Arc::new(tokio::sync::Notify::new());
        let stop = Arc::new(tokio::sync::Notify::new());
        let (s, n, st) = (state.clone(), notify.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    tokio::select! {
                        _ = st.notified() => return,
                        acc = listener.accept() => {
                            let Ok((sock, _)) = acc else { return };
                            tokio::spawn(serve(sock, s.clone(), n.clone()));
                        }
                    }
                }
            });
        });
        RuntimeApi {
            addr,
            state,
            notify,
            thread: Some(thread),
            stop,
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues an event for the function.
    pub fn push(&self, request_id: &str, event: &str) {
        self.state
            .0
            .lock()
            .unwrap()
            .queue
            .push_back((request_id.into(), event.into()));
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Waits until `n` results are posted (or the timeout passes) and returns them.
    pub fn wait_results(&self, n: usize, timeout: Duration) -> Vec<(String, Posted)> {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        while g.results.len() < n && Instant::now() < deadline {
            g = cv.wait_timeout(g, Duration::from_millis(20)).unwrap().0;
        }
        g.results.clone()
    }

    /// When the first `next` request arrived (the function finished its start-up).
    pub fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        let (lock, cv) = &*self.state;
        let deadline = Instant::now() + timeout;
        let mut g = lock.lock().unwrap();
        while g.first_next_at.is_none() && Instant::now() < deadline {
            g = cv.wait_timeout(g, Duration::from_millis(1)).unwrap().0;
        }
        g.first_next_at
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    sock: tokio::net::TcpStream,
    state: Arc<(Mutex<State>, Condvar)>,
    notify: Arc<tokio::sync::Notify>,
) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).to_string();
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            {
                let mut g = state.0.lock().unwrap();
                g.next_requests += 1;
                if g.first_next_at.is_none() {
                    g.first_next_at = Some(Instant::now());
                }
                state.1.notify_all();
            }
            let (id, ev) = loop {
                let waiter = notify.notified();
                if let Some(item) = state.0.lock().unwrap().queue.pop_front() {
                    break item;
                }
                waiter.await;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:l42-test\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{ev}",
                ev.len()
            )
        } else {
            let posted = if path.ends_with("/response") {
                Some(Posted::Response(body))
            } else if path.contains("/init/error") {
                Some(Posted::InitError(body))
            } else if path.ends_with("/error") {
                Some(Posted::Error(body))
            } else {
                None
            };
            if let Some(p) = posted {
                let id = path.split('/').rev().nth(1).unwrap_or("").to_string();
                let mut g = state.0.lock().unwrap();
                g.results.push((id, p));
                state.1.notify_all();
            }
            "HTTP/1.1 202 Accepted\r\ncontent-length: 16\r\ncontent-type: application/json\r\n\r\n{\"status\":\"OK\"}\n"
                .to_string()
        };
        if w.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
