//! Policy test files: callers, requests and the answers expected of the authorizer.
//!
//! ```yaml
//! settings:              # authorizer variables for every case (optional)
//!   CEDAR_ENTITY_IDS: plain
//! callers:               # named callers the cases refer to (optional)
//!   admin: { claims: { sub: admin-1, username: admin, "cognito:groups": [admin] } }
//! cases:
//!   - name: admins delete orders
//!     caller: admin      # a name from `callers`, or a caller written in place
//!     request: { method: DELETE, path: /orders/42, event: rest-request }
//!     expect: allow      # allow, deny or unauthorized
//!     policies: [admin-all]   # optional: the policies that decided
//!   - name: list orders  # a table: one case per named caller
//!     request: { path: /orders }
//!     expect: { admin: allow, nobody: deny }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use l42_authorizer::Outcome;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::harness::{Caller, RequestSpec};

/// A whole test file, its tables expanded.
#[derive(Debug, Clone, Default)]
pub struct CaseFile {
    /// Authorizer variables (`CEDAR_ENTITY_IDS`, `POLICY_CACHE_SAFE`, ...).
    pub settings: BTreeMap<String, String>,
    /// Callers by name.
    pub callers: BTreeMap<String, Caller>,
    /// The cases, in order.
    pub cases: Vec<Case>,
}

/// A caller: a name from the file's `callers`, or one written in place.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CallerRef {
    /// A name from `callers`.
    Named(String),
    /// A caller written in place.
    Inline(Caller),
}

/// One case as written: one caller and its answer, or a table of named callers and theirs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenCase {
    name: String,
    #[serde(default)]
    caller: Option<CallerRef>,
    request: RequestSpec,
    expect: Expect,
    #[serde(default)]
    policies: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Expect {
    One(Expected),
    PerCaller(BTreeMap<String, Expected>),
}

/// A setting's value as YAML may write it: `POLICY_CACHE_SAFE: false` is the text `false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Bool(b) => b.to_string(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenFile {
    #[serde(default)]
    settings: BTreeMap<String, Scalar>,
    #[serde(default)]
    callers: BTreeMap<String, Caller>,
    cases: Vec<WrittenCase>,
}

/// One case: one caller, one request, one answer.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case is about (`<name> as <caller>` for a row of a table); failures name it.
    pub name: String,
    /// Who calls.
    pub caller: CallerRef,
    /// What they call.
    pub request: RequestSpec,
    /// The answer expected.
    pub expect: Expected,
    /// The ids of the policies expected to decide (any order), when given.
    pub policies: Option<Vec<String>>,
}

/// An answer of the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    /// An Allow.
    Allow,
    /// A Deny (403).
    Deny,
    /// No usable token (401).
    Unauthorized,
}

impl Expected {
    /// The answer `outcome` is (`None` for a failure to decide, a 500).
    pub fn of(outcome: &Outcome) -> Option<Expected> {
        match outcome {
            Outcome::Respond { allowed: true, .. } => Some(Expected::Allow),
            Outcome::Respond { allowed: false, .. } => Some(Expected::Deny),
            Outcome::Unauthorized { .. } => Some(Expected::Unauthorized),
            Outcome::Failed { .. } => None,
        }
    }

    /// Its name in case files.
    pub fn name(answer: Option<Expected>) -> &'static str {
        match answer {
            Some(Expected::Allow) => "allow",
            Some(Expected::Deny) => "deny",
            Some(Expected::Unauthorized) => "unauthorized",
            None => "error",
        }
    }
}

impl CaseFile {
    /// Reads a test file: JSON when it ends in `.json`, YAML otherwise (JSON is YAML too).
    ///
    /// # Errors
    /// [`Error::Cases`] naming the file, for a file that cannot be read or parsed, an
    /// unknown caller name, or no cases.
    pub fn read(path: &Path) -> Result<CaseFile, Error> {
        let bad = |message: String| Error::Cases {
            file: path.display().to_string(),
            message,
        };
        let written: WrittenFile =
            serde_json::from_value(crate::read_value(path)?).map_err(|e| bad(e.to_string()))?;
        if written.cases.is_empty() {
            return Err(bad("no cases".into()));
        }
        let mut cases = Vec::new();
        for case in written.cases {
            let named = |name: &String| {
                if written.callers.contains_key(name) {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "case {:?}: no caller named {name:?} in `callers`",
                        case.name
                    )))
                }
            };
            match (case.caller, case.expect) {
                (Some(caller), Expect::One(expect)) => {
                    if let CallerRef::Named(name) = &caller {
                        named(name)?;
                    }
                    cases.push(Case {
                        name: case.name,
                        caller,
                        request: case.request,
                        expect,
                        policies: case.policies,
                    });
                }
                (None, Expect::PerCaller(table)) if !table.is_empty() => {
                    if case.policies.is_some() {
                        return Err(bad(format!(
                            "case {:?}: `policies` goes with one caller, not a table",
                            case.name
                        )));
                    }
                    for (caller, expect) in table {
                        named(&caller)?;
                        cases.push(Case {
                            name: format!("{} as {caller}", case.name),
                            caller: CallerRef::Named(caller),
                            request: case.request.clone(),
                            expect,
                            policies: None,
                        });
                    }
                }
                (Some(_), Expect::PerCaller(_)) => {
                    return Err(bad(format!(
                        "case {:?}: a table of answers names its callers; drop `caller`",
                        case.name
                    )));
                }
                (None, _) => {
                    return Err(bad(format!(
                        "case {:?}: no caller (give `caller`, or answers by caller name)",
                        case.name
                    )));
                }
            }
        }
        Ok(CaseFile {
            settings: written
                .settings
                .into_iter()
                .map(|(k, v)| (k, v.text()))
                .collect(),
            callers: written.callers,
            cases,
        })
    }

    /// The caller of `case`.
    pub fn caller<'c>(&'c self, case: &'c Case) -> Option<&'c Caller> {
        match &case.caller {
            CallerRef::Named(name) => self.callers.get(name),
            CallerRef::Inline(caller) => Some(caller),
        }
    }
}
