//! The hello-world function of aws-lambda-rust-runtime's README, unchanged but for the
//! tracing subscriber its examples install: the baseline for the authorizer's start-up
//! measurement (`cargo run --release -p l42-authorizer --example startup`, see
//! `BENCHMARKS.md`). It has no other use.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(func)).await
}

async fn func(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (event, _context) = event.into_parts();
    let first_name = event["firstName"].as_str().unwrap_or("world");
    Ok(json!({ "message": format!("Hello, {first_name}!") }))
}
