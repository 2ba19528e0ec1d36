//! The demo single-page app (`dev/site/`): plain HTML, CSS and JavaScript, embedded in
//! the binary, no build step.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// The site's files: path, content type, content.
const FILES: [(&str, &str, &str); 5] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../site/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../site/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("../../site/style.css"),
    ),
    (
        "/private/",
        "text/html; charset=utf-8",
        include_str!("../../site/private/index.html"),
    ),
    (
        "/favicon.ico",
        "image/svg+xml",
        include_str!("../../site/favicon.svg"),
    ),
];

/// The file at `path` (`/index.html` is `/`), or a 404 page. `/private` redirects to
/// `/private/`.
pub fn serve(path: &str) -> Response {
    if path == "/private" {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/private/"));
        return r;
    }
    let path = match path {
        "/index.html" => "/",
        "/private/index.html" => "/private/",
        p => p,
    };
    let (status, content_type, body) = match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, t, b)) => (StatusCode::OK, *t, *b),
        None => (
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
            "<!doctype html><title>Not found</title><p>Not found. <a href=\"/\">Back to the demo</a></p>",
        ),
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_not_found() {
        assert_eq!(serve("/").status(), StatusCode::OK);
        assert_eq!(serve("/index.html").status(), StatusCode::OK);
        assert_eq!(serve("/app.js").status(), StatusCode::OK);
        assert_eq!(serve("/private/").status(), StatusCode::OK);
        assert_eq!(serve("/private").status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(serve("/nope").status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("/../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }
}
