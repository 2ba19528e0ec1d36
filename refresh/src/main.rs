//! The `l42-refresh` binary: inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set) it serves
//! the router through `lambda_http`; elsewhere it listens on `HOST:PORT` (default
//! `127.0.0.1:3002`). The shell is [`l42_core::service::Binary`], shared with the token
//! handler.

use std::process::ExitCode;

use l42_core::service::{Binary, Serve};
use l42_core::session::SessionSecret;
use l42_refresh::{Config, router};

const BINARY: Binary = Binary {
    name: "l42-refresh",
    usage: "\
usage: l42-refresh

Serves POST {AUTH_PATH_PREFIX}/refresh. Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it
serves API Gateway and Function URL events; elsewhere it listens on HOST:PORT (default
127.0.0.1:3002). Configuration is read from the environment; see the crate docs.",
    version: env!("CARGO_PKG_VERSION"),
};

fn main() -> ExitCode {
    BINARY.main(start)
}

async fn start() -> Result<Serve, String> {
    // Built inside the runtime: the DynamoDB client wants one. The cookie key comes from
    // Secrets Manager when SESSION_SECRET_ARN is set.
    let env = SessionSecret::load_environment()
        .await
        .map_err(|e| e.to_string())?;
    let config = Config::from_lookup(env).map_err(|e| e.to_string())?;
    tracing::info!(backend = config.store.backend(), "session store ready");
    Ok(Serve {
        app: router(&config),
        listen: config.listen,
    })
}
