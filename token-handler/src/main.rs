//! The `l42-token-handler` binary: inside AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set) it
//! serves the router through `lambda_http`; elsewhere it listens on `HOST:PORT`
//! (default `127.0.0.1:3001`). The shell (arguments, runtime, serving) is
//! [`l42_core::service::Binary`], shared with `l42-refresh`.

use std::process::ExitCode;
use std::sync::Arc;

use l42_cedar::protocol::ProtocolEngine;
use l42_core::service::{Binary, Serve};
use l42_core::session::SessionSecret;
use l42_token_handler::events::{self, Activity, Severity, Status};
use l42_token_handler::owners::DynamoOwnerLookup;
use l42_token_handler::{AppState, Config, Sessions, router};

const BINARY: Binary = Binary {
    name: "l42-token-handler",
    usage: "\
usage: l42-token-handler

Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves API Gateway and Function URL
events; elsewhere it listens on HOST:PORT (default 127.0.0.1:3001).
Configuration is read from the environment; see the README.",
    version: env!("CARGO_PKG_VERSION"),
};

fn main() -> ExitCode {
    BINARY.main(start)
}

async fn start() -> Result<Serve, String> {
    // The cookie key from Secrets Manager when SESSION_SECRET_ARN is set.
    let env = SessionSecret::load_environment()
        .await
        .map_err(|e| e.to_string())?;
    let config = Config::from_lookup(&env).map_err(|e| e.to_string())?;
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
        Some(table) => match l42_token_handler::aws::dynamodb_client(&env) {
            Ok(client) => Some(Arc::new(DynamoOwnerLookup::new(client, table.clone()))),
            Err(e) => {
                // Fail closed: without a lookup, authorize answers 503 for requests that
                // name a resource rather than trusting the caller's owner.
                tracing::error!(
                    error = %e,
                    "ENTITY_TABLE is set but no DynamoDB client can be built; authorize answers 503 for requests naming a resource"
                );
                None
            }
        },
    };
    let sessions = Arc::new(Sessions::from_config(&config, &env).map_err(|e| e.to_string())?);
    tracing::info!(backend = sessions.store().backend(), "session store ready");
    let listen = config.listen;
    let mut state = AppState::builder(config).cedar(cedar).sessions(sessions);
    if let Some(lookup) = owners {
        state = state.owner_lookup(lookup);
    }
    Ok(Serve {
        app: router(state.build()),
        listen,
    })
}
