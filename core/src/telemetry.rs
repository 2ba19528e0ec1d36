//! Tracing set-up shared by every binary.
//!
//! Logs go to standard error (standard output may carry protocol data, as in the
//! authorizer's `--stdin` mode). Inside Lambda they are JSON lines, which CloudWatch
//! indexes; elsewhere they are plain text. The level comes from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`, so security events (logged at `info` and above)
//! reach CloudWatch with the default configuration.

use tracing_subscriber::EnvFilter;

/// True when running inside AWS Lambda (the Runtime API address is set).
pub fn in_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok())
        .and_then(|v| EnvFilter::try_new(v.to_ascii_lowercase()).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if in_lambda() {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .without_time()
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
