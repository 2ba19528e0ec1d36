//! Load-time errors.
//!
//! Everything that can go wrong while loading a schema and policies is a
//! [`LoadError`]. Per-request problems are never errors: they become a denying
//! [`Decision`](crate::Decision) whose `errors` say why.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// Why a schema and policy set could not be loaded.
///
/// Every variant that concerns a file names it (`file` is the path for
/// directory loads, the embedded name such as `policies/orders.cedar` for the
/// shipped example, or the name given to
/// [`Engine::from_sources`](crate::Engine::from_sources)).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An environment variable holds something that is not valid Unicode.
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUnicode {
        /// The variable name.
        name: &'static str,
    },

    /// A variable holds a value the loader does not know.
    #[error("{name}=`{value}`: {expected}")]
    Variable {
        /// The variable name.
        name: &'static str,
        /// The value it holds.
        value: String,
        /// What it may hold.
        expected: &'static str,
    },

    /// The policy directory holds no schema (`*.cedarschema` or `*.cedarschema.json`).
    #[error(
        "no schema (*.cedarschema or *.cedarschema.json) in {}; exactly one is required",
        dir.display()
    )]
    NoSchema {
        /// The policy directory.
        dir: PathBuf,
    },

    /// The policy directory holds more than one schema, in either format.
    #[error(
        "several schemas in {}: {}; exactly one (*.cedarschema or *.cedarschema.json) is allowed",
        dir.display(),
        files.join(", ")
    )]
    SeveralSchemas {
        /// The policy directory.
        dir: PathBuf,
        /// The schema files found.
        files: Vec<String>,
    },

    /// The policy directory holds no `*.cedar` file.
    #[error("no *.cedar policy files in {}", dir.display())]
    NoPolicies {
        /// The policy directory.
        dir: PathBuf,
    },

    /// The schema does not parse or is not a valid Cedar schema.
    #[error("{file}{}: invalid schema: {message}", Line(*line))]
    SchemaParse {
        /// The schema file.
        file: String,
        /// 1-based line of the error, when Cedar reports a position.
        line: Option<usize>,
        /// Cedar's message.
        message: String,
    },

    /// The schema does not declare exactly one (named) namespace.
    #[error(
        "{file}: the schema must declare exactly one namespace, found {}",
        Namespaces(found)
    )]
    Namespace {
        /// The schema file.
        file: String,
        /// The namespaces found (`""` stands for declarations outside any namespace).
        found: Vec<String>,
    },

    /// The schema lacks one of the entity types the authorizer builds.
    #[error("{file}: namespace {namespace} lacks entity type {entity_type}")]
    MissingEntityType {
        /// The schema file.
        file: String,
        /// The schema's namespace.
        namespace: String,
        /// The missing type (`User`, `UserGroup` or `Application`).
        entity_type: &'static str,
    },

    /// An entity type the authorizer builds is declared in a way it cannot satisfy.
    #[error("{file}: entity {entity_type}: {message}")]
    EntityShape {
        /// The schema file.
        file: String,
        /// The entity type (`User`, `UserGroup`, `Application` or `Client`).
        entity_type: &'static str,
        /// What is wrong.
        message: String,
    },

    /// A `User` or `Client` attribute read from a token claim is declared with a type no
    /// claim coerces to.
    #[error(
        "{file}: entity {entity_type}: attribute {attribute} has unsupported type {found}; a claim attribute is {}",
        crate::entities::CLAIM_TYPES
    )]
    UnsupportedClaimType {
        /// The schema file.
        file: String,
        /// `User` or `Client`.
        entity_type: &'static str,
        /// The declared attribute (`a.b` for a field of a record attribute).
        attribute: String,
        /// The declared type.
        found: String,
    },

    /// One of the attributes with a fixed meaning (`username`, `email`, `clientId`,
    /// `tokenUse`) is declared with a type other than `String`.
    #[error(
        "{file}: entity {entity_type}: attribute {attribute} has unsupported type {found}; expected String"
    )]
    UnsupportedUserAttributeType {
        /// The schema file.
        file: String,
        /// `User` or `Client`.
        entity_type: &'static str,
        /// The declared attribute.
        attribute: String,
        /// The declared type.
        found: String,
    },

    /// An action name looks like a route but is not a valid one.
    #[error("{file}: action \"{action}\": {message}")]
    Route {
        /// The schema file.
        file: String,
        /// The action name.
        action: String,
        /// What is wrong, with the expected form.
        message: String,
    },

    /// An action's context declares an attribute the authorizer does not know.
    #[error(
        "{file}: action \"{action}\": unknown context attribute {attribute}; the authorizer supplies only {}",
        crate::context::CONTEXT_ATTRIBUTES.join(", ")
    )]
    UnknownContextAttribute {
        /// The schema file.
        file: String,
        /// The action name.
        action: String,
        /// The declared attribute (`record.sub` for record members).
        attribute: String,
    },

    /// An action's context attribute has a type the authorizer cannot supply.
    #[error(
        "{file}: action \"{action}\": context attribute {attribute} has unsupported type {found}; expected {expected}"
    )]
    UnsupportedContextType {
        /// The schema file.
        file: String,
        /// The action name.
        action: String,
        /// The declared attribute (`record.sub` for record members).
        attribute: String,
        /// The declared type.
        found: String,
        /// What the authorizer can supply there.
        expected: &'static str,
    },

    /// A policy file does not parse.
    #[error("{file}{}: {message}", Line(*line))]
    PolicyParse {
        /// The policy file.
        file: String,
        /// 1-based line of the error (or of the failing policy), when known.
        line: Option<usize>,
        /// Cedar's message.
        message: String,
    },

    /// A policy file contains a template.
    #[error(
        "{file}{}: policy {id}: templates (policies with ?principal / ?resource slots) are not supported; write static policies",
        Line(*line)
    )]
    Template {
        /// The policy file.
        file: String,
        /// 1-based line of the template.
        line: Option<usize>,
        /// The template's id.
        id: String,
    },

    /// Two policies have the same id.
    #[error("{file}{}: duplicate policy id {id} (already used in {first_file})", Line(*line))]
    DuplicatePolicyId {
        /// The file of the second policy.
        file: String,
        /// 1-based line of the second policy.
        line: Option<usize>,
        /// The id.
        id: String,
        /// The file of the first policy with that id.
        first_file: String,
    },

    /// Policies do not validate against the schema (strict mode).
    #[error("policies do not validate against the schema:{}", Problems(problems))]
    Validation {
        /// One entry per validation error.
        problems: Vec<ValidationProblem>,
    },

    /// The application name is unusable.
    #[error("invalid application name {name:?}: {reason}")]
    Application {
        /// The name given.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// Cedar rejected something the loader built (should not happen for a
    /// valid schema; reported rather than panicking).
    #[error("internal error while {during}: {message}")]
    Internal {
        /// What the loader was doing.
        during: &'static str,
        /// Cedar's message.
        message: String,
    },
}

/// One validation error, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationProblem {
    /// The policy file.
    pub file: String,
    /// 1-based line where the policy starts, when known.
    pub line: Option<usize>,
    /// The policy id.
    pub policy_id: String,
    /// Cedar's message.
    pub message: String,
}

impl fmt::Display for ValidationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}: policy {}: {}",
            self.file,
            Line(self.line),
            self.policy_id,
            self.message
        )
    }
}

/// Formats an optional line as `:<line>` (or nothing).
struct Line(Option<usize>);

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, ":{line}"),
            None => Ok(()),
        }
    }
}

struct Namespaces<'a>(&'a [String]);

impl fmt::Display for Namespaces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, ns) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if ns.is_empty() {
                f.write_str("(declarations outside any namespace)")?;
            } else {
                f.write_str(ns)?;
            }
        }
        Ok(())
    }
}

struct Problems<'a>(&'a [ValidationProblem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// 1-based line number of byte `offset` in `src` (clamped to the end).
pub(crate) fn line_of(src: &str, offset: usize) -> usize {
    let end = offset.min(src.len());
    src.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// Best-effort byte offset of a syntax error.
///
/// Cedar exposes error positions only through `miette::Diagnostic`, which is
/// not a dependency of this crate; its `Debug` output for syntax (CST) errors
/// does carry the offset (`token: (96, "}", 97)` / `location: 12`). If that
/// format ever changes this simply returns `None` and messages lose the line.
pub(crate) fn syntax_error_offset(debug: &str) -> Option<usize> {
    for marker in ["token: (", "location: "] {
        if let Some(pos) = debug.find(marker) {
            let digits: String = debug
                .get(pos + marker.len()..)?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
    }
    None
}
