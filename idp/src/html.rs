//! The sign-in form and the error page.

use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::util::html_escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}\
label{display:block;margin-top:1rem}input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
button{margin-top:1.2rem;padding:.5rem 1.2rem}.error{color:#a00;margin-top:1rem}.note{color:#666;font-size:.85rem;margin-top:2rem}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        html_escape(title)
    );
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The sign-in form: posts `username`, `password` and the authorization request's
/// parameters (hidden) to `/login`.
pub(crate) fn login_form(
    client_id: &str,
    hidden: &[(&'static str, String)],
    username: &str,
    error: Option<&str>,
) -> Response {
    let mut body = String::from("<h1>Sign in</h1>");
    body.push_str(&format!(
        "<p>to app client <code>{}</code> (l42 dev identity provider)</p>",
        html_escape(client_id)
    ));
    if let Some(e) = error {
        body.push_str(&format!(
            "<p class=\"error\" id=\"error\" role=\"alert\">{}</p>",
            html_escape(e)
        ));
    }
    body.push_str("<form method=\"post\" action=\"/login\">");
    for (name, value) in hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            html_escape(value)
        ));
    }
    body.push_str(&format!(
        "<label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{}\" autocomplete=\"username\" autofocus required>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"note\">Development only. Not Amazon Cognito.</p>",
        html_escape(username)
    ));
    page(StatusCode::OK, "Sign in", &body)
}

/// An error page (used whenever the redirect URI is not known to be the client's).
pub(crate) fn error_page(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<h1>Something went wrong</h1><p class=\"error\" id=\"error\" data-error=\"{}\">{}</p>\
         <p>Error code: <code>{}</code></p>",
        html_escape(code),
        html_escape(message),
        html_escape(code)
    );
    page(status, "Error", &body)
}
