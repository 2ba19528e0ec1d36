//! Tracing set-up shared by every binary.
//!
//! Logs go to standard error (standard output may carry protocol data, as in the
//! authorizer's `--stdin` mode). Inside Lambda they are JSON lines, which CloudWatch
//! indexes; elsewhere they are plain text. The level comes from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`, else `info`, so security events (logged at `info` and above)
//! reach CloudWatch with the default configuration.
//!
//! Unless `RUST_LOG` says otherwise, `lambda_runtime`'s own record of every error a
//! handler returns is left out: the authorizer answers each 401 with the error
//! `Unauthorized`, which that record would log at ERROR beside the authorizer's own
//! `token rejected` record (at INFO), making every refused token look like a fault. The
//! binaries are built with `panic = "abort"`, so that layer has no panic to report either;
//! the authorizer logs its own failures (`no decision`) at ERROR.

use tracing_subscriber::EnvFilter;

/// The `lambda_runtime` target that logs each error a handler returns.
const HANDLER_ERRORS: &str = "lambda_runtime::layers::panic";

/// True when running inside AWS Lambda (the Runtime API address is set).
pub fn in_lambda() -> bool {
    crate::config::in_lambda(|name| std::env::var(name).ok())
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v.to_ascii_lowercase()).ok())
        .unwrap_or_else(|| {
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
            EnvFilter::new(format!(
                "{},{HANDLER_ERRORS}=off",
                lambda_level(level.as_deref())
            ))
        });
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

/// The `tracing` level for Lambda's `AWS_LAMBDA_LOG_LEVEL` (`TRACE`, `DEBUG`, `INFO`,
/// `WARN`, `ERROR`, `FATAL`); `info` when unset or unknown.
fn lambda_level(value: Option<&str>) -> &'static str {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error" | "fatal") => "error",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::lambda_level;

    #[test]
    fn lambda_log_levels_map_to_tracing_levels() {
        for (value, level) in [
            (None, "info"),
            (Some("INFO"), "info"),
            (Some("TRACE"), "trace"),
            (Some("debug"), "debug"),
            (Some("WARN"), "warn"),
            (Some("ERROR"), "error"),
            (Some("FATAL"), "error"),
            (Some("loud"), "info"),
        ] {
            assert_eq!(lambda_level(value), level, "{value:?}");
        }
    }
}
