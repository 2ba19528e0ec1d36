//! # l42-runtime-api
//!
//! A Lambda Runtime API endpoint on loopback, for running the real Lambda binaries as
//! processes, the way Lambda runs them. It is its own small crate (tokio only) so that
//! benchmarks and examples can use it without the rest of the test support.
//!
//! [`RuntimeApi`] serves `GET /2018-06-01/runtime/invocation/next`, handing out queued
//! events one at a time (holding the request open until one is queued), and collects what
//! the function posts to `…/invocation/{id}/response`, `…/invocation/{id}/error` and
//! `…/init/error`. [`LambdaProcess`] starts a binary against it with the variables Lambda
//! sets and kills it when dropped, also when the test fails.
//!
//! ```no_run
//! # fn demo() -> Result<(), l42_runtime_api::Error> {
//! use std::time::Duration;
//! use l42_runtime_api::{LambdaProcess, Posted, RuntimeApi};
//!
//! let api = RuntimeApi::start()?;
//! let _function = LambdaProcess::new("target/debug/l42-refresh", "l42-refresh")
//!     .env("COGNITO_CLIENT_ID", "client-1")
//!     .start(&api)?;
//! api.push("req-1", r#"{"version":"2.0"}"#);
//! let results = api.wait_results(1, Duration::from_secs(30));
//! assert!(matches!(results[0].1, Posted::Response(_)));
//! # Ok(())
//! # }
//! ```

use std::collections::VecDeque;
use std::ffi::OsString;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The endpoint or a Lambda binary could not start.
#[derive(Debug, thiserror::Error)]
#[error("Lambda runtime: {0}")]
pub struct Error(String);

/// The largest request body the endpoint reads (Lambda's own response limit is 6 MB).
const MAX_BODY: usize = 8 << 20;

/// What the function posted for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// `/invocation/{id}/response`: the function's answer.
    Response(String),
    /// `/invocation/{id}/error`: the function failed this invocation.
    Error(String),
    /// `/init/error`: the function failed before asking for an event.
    InitError(String),
}

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    results: Vec<(String, Posted)>,
    next_requests: u64,
    first_next_at: Option<Instant>,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The endpoint, on a free loopback port and its own thread; it stops when dropped.
/// [`addr`](RuntimeApi::addr) goes into `AWS_LAMBDA_RUNTIME_API`.
pub struct RuntimeApi {
    addr: String,
    state: Shared,
    queued: Arc<Notify>,
    stop: Arc<Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RuntimeApi {
    /// Starts the endpoint.
    pub fn start() -> Result<RuntimeApi, Error> {
        let fail = |what: &str, e: std::io::Error| Error(format!("{what}: {e}"));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| fail("binding a loopback port", e))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| fail("setting the listener non-blocking", e))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| fail("reading the listener's address", e))?
            .to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail("building its runtime", e))?;
        let state: Shared = Arc::default();
        let queued = Arc::new(Notify::new());
        let stop = Arc::new(Notify::new());
        let (s, q, st) = (state.clone(), queued.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("runtime-api".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = st.notified() => return,
                            accepted = listener.accept() => {
                                let Ok((sock, _)) = accepted else { return };
                                tokio::spawn(serve(sock, s.clone(), q.clone()));
                            }
                        }
                    }
                });
            })
            .map_err(|e| fail("starting its thread", e))?;
        Ok(RuntimeApi {
            addr,
            state,
            queued,
            stop,
            thread: Some(thread),
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Queues an event for the function, answered under `request_id`.
    pub fn push(&self, request_id: &str, event: &str) {
        lock(&self.state)
            .queue
            .push_back((request_id.into(), event.into()));
        self.queued.notify_waiters();
        self.queued.notify_one();
    }

    /// Waits until `n` results are posted or `timeout` passes, and returns what was
    /// posted by then, in order.
    pub fn wait_results(&self, n: usize, timeout: Duration) -> Vec<(String, Posted)> {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.state);
        while g.results.len() < n && Instant::now() < deadline {
            g = self
                .state
                .1
                .wait_timeout(g, Duration::from_millis(20))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        g.results.clone()
    }

    /// Waits for the result of one invocation and returns it, or `None` when `timeout`
    /// passes first.
    pub fn wait_for(&self, request_id: &str, timeout: Duration) -> Option<Posted> {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.state);
        loop {
            if let Some((_, posted)) = g.results.iter().find(|(id, _)| id == request_id) {
                return Some(posted.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            g = self
                .state
                .1
                .wait_timeout(g, Duration::from_millis(20))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// When the first `next` request arrived, i.e. when the function finished its
    /// start-up; `None` when `timeout` passes first.
    pub fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.state);
        while g.first_next_at.is_none() && Instant::now() < deadline {
            g = self
                .state
                .1
                .wait_timeout(g, Duration::from_millis(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        g.first_next_at
    }

    /// How many `next` requests the function has made.
    pub fn next_requests(&self) -> u64 {
        lock(&self.state).next_requests
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one HTTP/1.1 request: method, path and body. `None` when the connection closes
/// or the request is unreadable.
async fn read_request<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Option<(String, String, String)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut len = 0usize;
    loop {
        let mut header = String::new();
        if r.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    if len > MAX_BODY {
        return None;
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.ok()?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

async fn serve(sock: TcpStream, state: Shared, queued: Arc<Notify>) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    while let Some((method, path, body)) = read_request(&mut r).await {
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            {
                let mut g = lock(&state);
                g.next_requests += 1;
                g.first_next_at.get_or_insert_with(Instant::now);
                state.1.notify_all();
            }
            let (id, event) = loop {
                let waiter = queued.notified();
                if let Some(item) = lock(&state).queue.pop_front() {
                    break item;
                }
                waiter.await;
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 30_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                 lambda-runtime-aws-request-id: {id}\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:l42-test\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n\
                 content-length: {}\r\n\r\n{event}",
                event.len()
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
            if let Some(posted) = posted {
                let id = path.split('/').rev().nth(1).unwrap_or_default().to_string();
                lock(&state).results.push((id, posted));
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

/// A Lambda binary to start against a [`RuntimeApi`]: a clean environment with what
/// Lambda itself sets, plus the function's own variables.
pub struct LambdaProcess {
    command: Command,
}

impl LambdaProcess {
    /// The binary at `program` (in tests, `env!("CARGO_BIN_EXE_<name>")`), run as the
    /// function `function_name`. Its standard output is discarded and its standard error
    /// inherited, so its log lines appear with a failing test's output.
    pub fn new(program: impl Into<OsString>, function_name: &str) -> LambdaProcess {
        let mut command = Command::new(program.into());
        command
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "group")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        LambdaProcess { command }
    }

    /// Sets one of the function's environment variables.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> LambdaProcess {
        self.command.env(key, value);
        self
    }

    /// Sets several of the function's environment variables.
    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> LambdaProcess {
        self.command.envs(vars);
        self
    }

    /// Where the function's standard error goes (inherited by default).
    pub fn stderr(mut self, stderr: Stdio) -> LambdaProcess {
        self.command.stderr(stderr);
        self
    }

    /// Starts the binary with `AWS_LAMBDA_RUNTIME_API` pointing at `api`.
    pub fn start(mut self, api: &RuntimeApi) -> Result<Running, Error> {
        self.command.env("AWS_LAMBDA_RUNTIME_API", api.addr());
        let program = self.command.get_program().to_string_lossy().into_owned();
        let child = self
            .command
            .spawn()
            .map_err(|e| Error(format!("starting {program}: {e}")))?;
        Ok(Running { child })
    }
}

/// A started Lambda binary; killed when dropped.
pub struct Running {
    child: Child,
}

impl Running {
    /// Kills the process now (standing in for Lambda ending an instance) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The child process, e.g. to read its piped standard error.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}
