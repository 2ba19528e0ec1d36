//! The `l42-token-handler` binary: inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set) it
//! serves the router through `lambda_http`; elsewhere it listens on `HOST:PORT`
//! (default `127.0.0.1:3001`).

use std::process::ExitCode;
use std::sync::Arc;

use l42_cedar::protocol::ProtocolEngine;
use l42_core::session::SessionSecret;
use l42_token_handler::events::{self, Activity, Severity, Status};
use l42_token_handler::owners::DynamoOwnerLookup;
use l42_token_handler::{AppState, Config, Sessions, router};

const USAGE: &str = "\
usage: l42-token-handler

Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves API Gateway and Function URL
events; elsewhere it listens on HOST:PORT (default 127.0.0.1:3001).
Configuration is read from the environment; see the README.";

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("l42-token-handler {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("l42-token-handler: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    l42_core::telemetry::init();
    // The cookie key from Secrets Manager when SESSION_SECRET_ARN is set.
    let env = match SessionSecret::load_from_env_blocking() {
        Ok(secret) => SessionSecret::environment(secret),
        Err(e) => {
            eprintln!("l42-token-handler: {e}");
            return ExitCode::from(1);
        }
    };
    let config = match Config::from_lookup(&env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("l42-token-handler: {e}");
            return ExitCode::from(1);
        }
    };
    let cedar = match ProtocolEngine::embedded() {
        Ok(engine) => Some(Arc::new(engine)),
        Err(e) => {
            tracing::error!(error = %e, "the Cedar engine did not load; authorize answers 503");
            events::event(
                Activity::Other,
                Status::Failure,
                "authorization engine unavailable",
            )
            .severity(Severity::High)
            .emit();
            None
        }
    };
    let owners = match &config.entity_table {
        None => None,
        Some(table) => match l42_token_handler::aws::dynamodb_client(&config) {
            Some(client) => Some(Arc::new(DynamoOwnerLookup::new(client, table.clone()))),
            None => {
                // Fail closed: without a lookup, authorize answers 503 for requests that
                // name a resource rather than trusting the caller's owner.
                tracing::error!(
                    "ENTITY_TABLE is set but the environment holds no AWS credentials; authorize answers 503 for requests naming a resource"
                );
                None
            }
        },
    };
    let sessions = match Sessions::from_config(&config, &env) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("l42-token-handler: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(backend = sessions.store().backend(), "session store ready");
    let in_lambda = config.in_lambda;
    let listen = config.listen;
    let mut state = AppState::builder(config).cedar(cedar).sessions(sessions);
    if let Some(lookup) = owners {
        state = state.owner_lookup(lookup);
    }
    let app = router(state.build());

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
            eprintln!("l42-token-handler: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if in_lambda {
        return match runtime.block_on(l42_token_handler::lambda::run(app)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("l42-token-handler: runtime error: {e}");
                ExitCode::from(1)
            }
        };
    }
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("l42-token-handler: cannot listen on {listen}: {e}");
                return ExitCode::from(1);
            }
        };
        let shown = listener.local_addr().unwrap_or(listen);
        tracing::info!("listening on http://{shown}");
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("l42-token-handler: server error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
