//! What a browser does with the hosted sign-in form, for tests and tools that drive the
//! login flow without one: open the authorize URL, read the form, fill in the
//! credentials, post it, and stop at the redirect.
//!
//! This is the one copy of that walk: the identity provider's own tests, the token
//! handler's, the local stack's and the cross-component tests all use it (through
//! [`RunningIdp::sign_in`](crate::RunningIdp::sign_in) when they want the redirect to
//! the callback, or [`submit_sign_in`] when they want to see a refusal).

use reqwest::Url;
use reqwest::redirect::Policy;

use crate::IdpError;

/// An HTTP client that shows redirects instead of following them, as a test wants to
/// see each hop of a login.
///
/// # Errors
/// [`IdpError::SignIn`] when the client cannot be built (no TLS roots, for example).
pub fn client() -> Result<reqwest::Client, IdpError> {
    l42_core::http::client_builder()
        .map_err(|e| IdpError::SignIn(format!("cannot build an HTTP client: {e}")))?
        .redirect(Policy::none())
        .build()
        .map_err(|e| IdpError::SignIn(format!("cannot build an HTTP client: {e}")))
}

/// The `name`/`value` pairs of a page's hidden inputs, unescaped, in page order.
///
/// ```
/// let html = r#"<form><input type="hidden" name="state" value="a&amp;b"></form>"#;
/// assert_eq!(
///     l42_idp::browser::hidden_fields(html),
///     [("state".to_string(), "a&b".to_string())]
/// );
/// ```
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input")
        .filter_map(|(i, _)| {
            let tag = &html[i..i + html[i..].find('>')?];
            if !tag.contains("type=\"hidden\"") {
                return None;
            }
            Some((attribute(tag, "name")?, attribute(tag, "value")?))
        })
        .collect()
}

/// The value of `name="…"` in one tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(crate::util::html_unescape(&tag[start..end]))
}

/// Where a form posts: its `action`, resolved against the page's URL.
fn form_action(page: &Url, html: &str) -> Result<Url, IdpError> {
    let form = html
        .find("<form")
        .and_then(|i| html[i..].find('>').map(|end| &html[i..i + end]))
        .ok_or_else(|| IdpError::SignIn(format!("{page} shows no form")))?;
    let action = attribute(form, "action")
        .ok_or_else(|| IdpError::SignIn(format!("the form at {page} has no action")))?;
    page.join(&action)
        .map_err(|e| IdpError::SignIn(format!("the form's action `{action}`: {e}")))
}

/// Opens `authorize_url` (it must answer 200 with the sign-in form), fills in `username`
/// and `password` beside the form's hidden fields, and posts it to the form's action.
/// Follows no redirect: the answer is the post's (a 302 to the callback on success, the
/// form again with an error otherwise).
///
/// # Errors
/// [`IdpError::SignIn`] when the page does not answer 200 or carries no form.
pub async fn submit_sign_in(
    authorize_url: &str,
    username: &str,
    password: &str,
) -> Result<reqwest::Response, IdpError> {
    let fail = |what: &str, e: reqwest::Error| IdpError::SignIn(format!("{what}: {e}"));
    let page_url = Url::parse(authorize_url)
        .map_err(|e| IdpError::SignIn(format!("`{authorize_url}` is not a URL: {e}")))?;
    let http = client()?;
    let page = http
        .get(page_url.clone())
        .send()
        .await
        .map_err(|e| fail("opening the authorize URL", e))?;
    let status = page.status();
    let html = page
        .text()
        .await
        .map_err(|e| fail("reading the sign-in page", e))?;
    if status != reqwest::StatusCode::OK {
        return Err(IdpError::SignIn(format!(
            "{page_url} answered {status}, not the sign-in form: {}",
            excerpt(&html)
        )));
    }
    let action = form_action(&page_url, &html)?;
    let mut fields = hidden_fields(&html);
    fields.push(("username".into(), username.into()));
    fields.push(("password".into(), password.into()));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    http.post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| fail("posting the sign-in form", e))
}

/// The first value of `name` in a URL's query string, decoded (the `code` and `state`
/// of a redirect to a callback).
///
/// ```
/// let back = "http://localhost:3000/cb?code=a%2Bb&state=s";
/// assert_eq!(l42_idp::browser::query_param(back, "code").as_deref(), Some("a+b"));
/// assert_eq!(l42_idp::browser::query_param(back, "error"), None);
/// ```
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The start of a page, for an error message.
pub(crate) fn excerpt(text: &str) -> &str {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hidden_fields_are_read_and_unescaped_in_order() {
        let html = "<input type=\"text\" name=\"username\" value=\"x\">\
            <input type=\"hidden\" name=\"state\" value=\"&lt;a&gt; &amp;&quot;&#39;\">\
            <input type=\"hidden\" name=\"client_id\" value=\"c\">\
            <input type=\"hidden\" data-name=\"no\" value=\"v\">";
        assert_eq!(
            hidden_fields(html),
            [
                ("state".to_string(), "<a> &\"'".to_string()),
                ("client_id".to_string(), "c".to_string())
            ]
        );
    }

    #[test]
    fn a_broken_tag_is_skipped_not_a_panic() {
        for html in [
            "<input type=\"hidden\" name=\"a",
            "<input",
            "<input type=\"hidden\">",
        ] {
            assert!(hidden_fields(html).is_empty(), "{html}");
        }
    }

    #[test]
    fn the_action_is_resolved_against_the_page() {
        let page = Url::parse("http://127.0.0.1:9/oauth2/authorize?x=1").unwrap();
        let html = "<form method=\"post\" action=\"/login\"><input></form>";
        assert_eq!(
            form_action(&page, html).unwrap().as_str(),
            "http://127.0.0.1:9/login"
        );
        assert!(form_action(&page, "<p>no form</p>").is_err());
        assert!(form_action(&page, "<form method=\"post\">").is_err());
    }
}
