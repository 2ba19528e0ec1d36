//! Sessions of the token handler: the session id, the signed cookie that names a session.

pub mod cookie;
mod id;

pub use cookie::{
    CookieError, CookieKeys, CookieSettings, KeyUsed, SameSite, SessionCookies, VerifiedCookie,
};
pub use id::{RandomError, SessionId};
