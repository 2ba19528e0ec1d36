//! The `l42-refresh` binary: inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set) it serves
//! the router through `lambda_http`; elsewhere it listens on `HOST:PORT` (default
//! `127.0.0.1:3002`).

use std::process::ExitCode;

use l42_core::session::SessionSecret;
use l42_refresh::{Config, router, run_lambda};

const USAGE: &str = "\
usage: l42-refresh

Serves POST {AUTH_PATH_PREFIX}/refresh. Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it
serves API Gateway and Function URL events; elsewhere it listens on HOST:PORT (default
127.0.0.1:3002). Configuration is read from the environment; see the crate docs.";

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("l42-refresh {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("l42-refresh: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    l42_core::telemetry::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("l42-refresh: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        // Built inside the runtime: the DynamoDB client wants one.
        // The cookie key from Secrets Manager when SESSION_SECRET_ARN is set.
        let env = match SessionSecret::load_from_env().await {
            Ok(secret) => SessionSecret::environment(secret),
            Err(e) => {
                eprintln!("l42-refresh: {e}");
                return ExitCode::from(1);
            }
        };
        let config = match Config::from_lookup(&env) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("l42-refresh: {e}");
                return ExitCode::from(1);
            }
        };
        let app = router(&config);
        if config.in_lambda {
            return match run_lambda(app).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("l42-refresh: runtime error: {e}");
                    ExitCode::from(1)
                }
            };
        }
        let listen = config.listen;
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("l42-refresh: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        let shown = listener.local_addr().unwrap_or(listen);
        tracing::info!(
            backend = config.store.backend(),
            "listening on http://{shown}"
        );
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("l42-refresh: server error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
