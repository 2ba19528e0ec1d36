//! Security events as OCSF-shaped records (class Authentication, 3001), for every l42
//! component: the token handler's logins and decisions, the refresh coordinator's outcomes.
//!
//! Each event is one `tracing` record at INFO (the default level everywhere, so it reaches
//! CloudWatch), target [`TARGET`], with the flat fields `class_uid`, `activity_id`,
//! `status_id`, `severity_id`, `actor` for queries and the whole record as JSON in `ocsf`.
//!
//! An event names its actor by `sub` (and email when known) and says what happened and
//! why; it never holds a token, cookie value or secret: the builder has no place for one.
//!
//! ```
//! use l42_core::events::{Activity, SecurityEvent, Severity, Status};
//!
//! let event = SecurityEvent::new(Activity::Other, Status::Failure, "authorization denied")
//!     .feature("token-handler")
//!     .activity_name("Authorize")
//!     .severity(Severity::Medium)
//!     .actor("user-sub", None)
//!     .detail("action", "write:own");
//! let record = event.to_json();
//! assert_eq!(record["class_uid"], 3001);
//! assert_eq!(record["type_uid"], 300199);
//! assert_eq!(record["metadata"]["product"]["feature"]["name"], "token-handler");
//! event.emit();
//! ```

use serde_json::{Map, Value, json};

/// The `tracing` target of security events.
pub const TARGET: &str = "l42_security";

/// OCSF class: Authentication.
pub const CLASS_UID: u32 = 3001;

/// OCSF category: Identity & Access Management.
pub const CATEGORY_UID: u32 = 3;

/// The feature an event names until [`SecurityEvent::feature`] says which.
pub const DEFAULT_FEATURE: &str = "l42";

/// The OCSF schema version the records follow.
pub const OCSF_VERSION: &str = "1.1.0";

/// The Authentication class's activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A login (session created).
    Logon,
    /// A logout (session destroyed).
    Logoff,
    /// A token issued or renewed (refresh).
    AuthenticationTicket,
    /// Anything else (authorization decisions, credential validation, ...).
    Other,
}

impl Activity {
    /// The OCSF `activity_id`.
    pub fn id(self) -> u32 {
        match self {
            Activity::Logon => 1,
            Activity::Logoff => 2,
            Activity::AuthenticationTicket => 3,
            Activity::Other => 99,
        }
    }

    /// The OCSF `activity_name`.
    pub fn name(self) -> &'static str {
        match self {
            Activity::Logon => "Logon",
            Activity::Logoff => "Logoff",
            Activity::AuthenticationTicket => "Authentication Ticket",
            Activity::Other => "Other",
        }
    }
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It worked (or was allowed).
    Success,
    /// It failed (or was denied).
    Failure,
}

impl Status {
    /// The OCSF `status_id`.
    pub fn id(self) -> u32 {
        match self {
            Status::Success => 1,
            Status::Failure => 2,
        }
    }

    /// The OCSF `status`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Success => "Success",
            Status::Failure => "Failure",
        }
    }
}

/// How much it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Routine (a success).
    Informational,
    /// Expected failures (a stale session).
    Low,
    /// Denials and rejected input.
    Medium,
    /// Something suspicious or broken (a forged cookie, an engine that failed to load).
    High,
}

impl Severity {
    /// The OCSF `severity_id`.
    pub fn id(self) -> u32 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
        }
    }

    /// The OCSF `severity`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
        }
    }
}

/// One security event; build it, then [`emit`](Self::emit) it.
#[derive(Debug, Clone)]
pub struct SecurityEvent {
    feature: &'static str,
    activity: Activity,
    activity_name: Option<&'static str>,
    status: Status,
    severity: Severity,
    message: String,
    actor_uid: Option<String>,
    actor_email: Option<String>,
    auth_protocol: Option<&'static str>,
    details: Map<String, Value>,
}

impl SecurityEvent {
    /// A new event; severity Informational for a success and Medium for a failure until
    /// [`severity`](Self::severity) says otherwise; feature [`DEFAULT_FEATURE`] until
    /// [`feature`](Self::feature) names the component.
    pub fn new(activity: Activity, status: Status, message: impl Into<String>) -> Self {
        Self {
            feature: DEFAULT_FEATURE,
            activity,
            activity_name: None,
            status,
            severity: match status {
                Status::Success => Severity::Informational,
                Status::Failure => Severity::Medium,
            },
            message: message.into(),
            actor_uid: None,
            actor_email: None,
            auth_protocol: None,
            details: Map::new(),
        }
    }

    /// The component that saw it (`metadata.product.feature.name`: `token-handler`,
    /// `refresh`).
    pub fn feature(mut self, name: &'static str) -> Self {
        self.feature = name;
        self
    }

    /// A more precise activity name than the class's (e.g. `Authorize`).
    pub fn activity_name(mut self, name: &'static str) -> Self {
        self.activity_name = Some(name);
        self
    }

    /// Sets the severity (by default Informational for a success, Medium for a failure).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The user the event is about: their `sub` and, when known, email.
    pub fn actor(mut self, sub: &str, email: Option<&str>) -> Self {
        self.actor_uid = Some(sub.to_owned());
        self.actor_email = email.map(str::to_owned);
        self
    }

    /// The authentication protocol (`OAuth 2.0`, `FIDO2`).
    pub fn auth_protocol(mut self, protocol: &'static str) -> Self {
        self.auth_protocol = Some(protocol);
        self
    }

    /// A named detail (goes to `unmapped`). Never pass a token or a cookie value.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The OCSF record.
    pub fn to_json(&self) -> Value {
        let mut record = json!({
            "class_uid": CLASS_UID,
            "class_name": "Authentication",
            "category_uid": CATEGORY_UID,
            "category_name": "Identity & Access Management",
            "activity_id": self.activity.id(),
            "activity_name": self.activity_name.unwrap_or(self.activity.name()),
            "type_uid": CLASS_UID * 100 + self.activity.id(),
            "status_id": self.status.id(),
            "status": self.status.name(),
            "severity_id": self.severity.id(),
            "severity": self.severity.name(),
            "time": unix_millis(),
            "message": self.message,
            "metadata": {
                "version": OCSF_VERSION,
                "product": {
                    "name": "l42",
                    "vendor_name": "l42",
                    "feature": {"name": self.feature},
                    "version": env!("CARGO_PKG_VERSION"),
                },
            },
        });
        if let Some(obj) = record.as_object_mut() {
            if let Some(uid) = &self.actor_uid {
                let mut user = json!({ "uid": uid });
                if let (Some(email), Some(u)) = (&self.actor_email, user.as_object_mut()) {
                    u.insert("email_addr".to_owned(), json!(email));
                }
                obj.insert("actor".to_owned(), json!({ "user": user }));
                obj.insert("user".to_owned(), user);
            }
            if let Some(p) = self.auth_protocol {
                obj.insert("auth_protocol".to_owned(), json!(p));
            }
            if !self.details.is_empty() {
                obj.insert("unmapped".to_owned(), Value::Object(self.details.clone()));
            }
        }
        record
    }

    /// Logs the event at INFO, target [`TARGET`].
    pub fn emit(&self) {
        let record = self.to_json();
        tracing::info!(
            target: TARGET,
            class_uid = CLASS_UID,
            activity_id = self.activity.id(),
            status_id = self.status.id(),
            severity_id = self.severity.id(),
            actor = self.actor_uid.as_deref().unwrap_or(""),
            ocsf = %record,
            "{}",
            self.message
        );
    }
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn records_have_the_ocsf_shape() {
        let record = SecurityEvent::new(Activity::Logon, Status::Success, "login")
            .actor("sub-1", Some("a@example.com"))
            .auth_protocol("OAuth 2.0")
            .to_json();
        assert_eq!(record["class_uid"], 3001);
        assert_eq!(record["activity_id"], 1);
        assert_eq!(record["type_uid"], 300101);
        assert_eq!(record["status"], "Success");
        assert_eq!(record["severity_id"], 1);
        assert_eq!(record["metadata"]["product"]["name"], "l42");
        assert_eq!(record["actor"]["user"]["uid"], "sub-1");
        assert_eq!(record["actor"]["user"]["email_addr"], "a@example.com");
        let logoff = SecurityEvent::new(Activity::Logoff, Status::Failure, "x").to_json();
        assert_eq!(logoff["activity_id"], 2);
        assert_eq!(logoff["severity"], "Medium");
        assert!(logoff.get("actor").is_none());
    }

    #[test]
    fn events_reach_the_default_json_subscriber_at_info() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            SecurityEvent::new(Activity::Other, Status::Failure, "authorization denied")
                .activity_name("Authorize")
                .actor("sub-2", None)
                .detail("action", "admin:manage")
                .emit();
        });
        let out = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], TARGET);
        assert_eq!(line["fields"]["class_uid"], 3001);
        assert_eq!(line["fields"]["actor"], "sub-2");
        let ocsf: Value = serde_json::from_str(line["fields"]["ocsf"].as_str().unwrap()).unwrap();
        assert_eq!(ocsf["activity_name"], "Authorize");
        assert_eq!(ocsf["unmapped"]["action"], "admin:manage");
    }
}
