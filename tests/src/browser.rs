//! What a browser keeps between requests that tests do not pass by hand: a cookie jar.
//!
//! The token handler's tests pass the session cookie explicitly (to play several users and
//! an attacker in one test) but let a [`Jar`] carry the login binding cookie from
//! `{P}/login` to `{P}/callback`, as the browser that started the login would. A test that
//! plays another browser uses another jar (or [`Jar::clear`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// Cookies by name, from `Set-Cookie` values whose name passes the jar's filter.
#[derive(Debug)]
pub struct Jar {
    cookies: Mutex<BTreeMap<String, String>>,
    keeps: fn(&str) -> bool,
}

impl Jar {
    /// A jar that keeps only the cookies whose name `keeps` accepts.
    pub fn new(keeps: fn(&str) -> bool) -> Jar {
        Jar {
            cookies: Mutex::new(BTreeMap::new()),
            keeps,
        }
    }

    /// A jar for the login binding cookie (`l42_login`, `__Host-l42_login`) only.
    pub fn login_cookie() -> Jar {
        Jar::new(|name| name == "l42_login" || name == "__Host-l42_login")
    }

    /// Takes in an answer's `Set-Cookie` values: each kept cookie is stored under its name,
    /// or removed when its value is empty or its `Max-Age` is 0.
    pub fn take_in<'a>(&self, set_cookies: impl IntoIterator<Item = &'a str>) {
        let mut jar = self.cookies.lock().unwrap_or_else(PoisonError::into_inner);
        for set in set_cookies {
            let mut parts = set.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            if !(self.keeps)(name) {
                continue;
            }
            let expired = parts.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            if expired || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// The `Cookie` header a request sends: `extra` (cookies the test passes by hand) and
    /// every cookie of the jar, joined with `; `; `None` when both are empty.
    pub fn cookie_header(&self, extra: Option<&str>) -> Option<String> {
        let jar = self.cookies.lock().unwrap_or_else(PoisonError::into_inner);
        let parts: Vec<String> = extra
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .into_iter()
            .chain(jar.iter().map(|(k, v)| format!("{k}={v}")))
            .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The value of cookie `name`, if the jar holds it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.cookies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Forgets every cookie (the next request comes from a browser that has none).
    pub fn clear(&self) {
        self.cookies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sends_and_forgets() {
        let jar = Jar::login_cookie();
        assert_eq!(jar.cookie_header(None), None);
        jar.take_in([
            "__Host-l42_login=a.b; Path=/; Max-Age=600; HttpOnly",
            "__Host-l42_session=s; Path=/",
        ]);
        assert_eq!(jar.get("__Host-l42_session"), None, "not kept");
        assert_eq!(
            jar.cookie_header(Some("x=1")).as_deref(),
            Some("x=1; __Host-l42_login=a.b")
        );
        jar.take_in(["__Host-l42_login=; Path=/; Max-Age=0"]);
        assert_eq!(jar.cookie_header(Some("x=1")).as_deref(), Some("x=1"));
        jar.take_in(["l42_login=c; Max-Age=600"]);
        jar.clear();
        assert_eq!(jar.cookie_header(None), None);
    }
}
