//! Serving an HTTP router inside AWS Lambda (feature `lambda-http`), shared by the token
//! handler and refresh.
//!
//! `lambda_http` turns API Gateway (REST, HTTP API payload 1.0 and 2.0) and Function URL
//! events into HTTP requests. For an API stage other than `$default` it puts the stage in
//! front of the path (`/prod/auth/token`); [`strip_stage`] takes it off again, so the
//! routes are the same whatever the stage is called.

use ::http::Uri;
use lambda_http::request::RequestContext;

/// Removes a leading `/<stage>` from the request's path when the event names a stage other
/// than `$default`.
pub fn strip_stage<B>(mut request: http::Request<B>) -> http::Request<B> {
    let stage = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else {
        return request;
    };
    let path = request.uri().path();
    let prefix = format!("/{stage}");
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return request,
    };
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
