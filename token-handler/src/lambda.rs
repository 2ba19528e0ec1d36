//! Serving the router inside AWS Lambda.
//!
//! `lambda_http` turns API Gateway (REST, HTTP API payload 1.0 and 2.0) and Function URL
//! events into HTTP requests. For an API stage other than `$default` it puts the stage in
//! front of the path (`/prod/auth/token`); [`strip_stage`] (from `l42-core`) takes it off again, so the
//! routes are the same whatever the stage is called.

use axum::Router;
use l42_core::lambda::strip_stage;

/// Runs `app` as the Lambda function until the runtime stops.
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run(app: Router) -> Result<(), lambda_http::Error> {
    let service = tower::ServiceBuilder::new()
        .map_request(strip_stage::<lambda_http::Body>)
        .service(app);
    lambda_http::run(service).await
}
