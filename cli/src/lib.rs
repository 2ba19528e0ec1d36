//! The `l42` command: policies as code. `l42 policy test` runs case files through the
//! authorizer's own code with a folder's policies; `l42 policy explain` decides one
//! request and says why. See the crate's README.

pub mod cases;
pub mod harness;
pub mod openapi;
pub mod sessions;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use cases::{CaseFile, Expected};
use harness::{Caller, Harness, RequestSpec, caller_claims, check_request, defaults};

/// Why a command could not run (exit 2), as opposed to a check that failed (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy folder does not load.
    #[error("the policies do not load: {0}")]
    Policies(String),
    /// An authorizer variable is refused.
    #[error("settings: {0}")]
    Settings(String),
    /// A test file cannot be used.
    #[error("{file}: {message}")]
    Cases {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A caller cannot be turned into a token.
    #[error("caller: {0}")]
    Caller(String),
    /// A command line that cannot be carried out (an existing file in the way, a bad
    /// namespace).
    #[error("{0}")]
    Usage(String),
    /// The session table did not answer, or refused.
    #[error("session table: {0}")]
    Store(String),
    /// Anything else (no random numbers, no runtime).
    #[error("{0}")]
    Internal(String),
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The test file.
    pub file: String,
    /// The case's name.
    pub name: String,
    /// What was expected.
    pub expected: &'static str,
    /// What the authorizer answered.
    pub got: &'static str,
    /// The deciding policies expected, when the case names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_policies: Option<Vec<String>>,
    /// Whether the answer (and the policies, when named) is the one expected.
    pub passed: bool,
    /// The authorizer's explanation.
    pub explain: Value,
}

/// The results of every case of every file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every case, in file order.
    pub cases: Vec<CaseResult>,
    /// How many passed.
    pub passed: usize,
    /// How many failed.
    pub failed: usize,
}

/// Runs every case of `files` against the policies of `dir`.
///
/// # Errors
/// Any [`Error`]: a folder that does not load, a file that cannot be read, a caller that
/// cannot be built. A case whose answer differs is a failed case in the report, not an
/// error.
pub fn run_tests(dir: &Path, files: &[&Path]) -> Result<Report, Error> {
    let mut report = Report::default();
    for path in files {
        let file = CaseFile::read(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let in_file = |e: Error| Error::Cases {
            file: path.display().to_string(),
            message: e.to_string(),
        };
        let in_case = |case: &cases::Case, message: String| Error::Cases {
            file: path.display().to_string(),
            message: format!("case {:?}: {message}", case.name),
        };
        let (pool, client) = defaults(&file.settings);
        let mut claims = Vec::with_capacity(file.cases.len());
        for case in &file.cases {
            let caller = file
                .caller(case)
                .ok_or_else(|| in_case(case, "unknown caller".into()))?;
            check_request(&case.request).map_err(|m| in_case(case, m))?;
            claims.push(
                caller_claims(caller, base, (&pool, &client))
                    .map_err(|e| in_case(case, e.to_string()))?,
            );
        }
        let harness = Harness::new(dir, &file.settings).map_err(in_file)?;
        for (case, claims) in file.cases.iter().zip(&claims) {
            let token = harness.sign(claims)?;
            let outcome = harness.run(&harness.event(&case.request, &token));
            let got = Expected::of(&outcome);
            let explain = outcome.explain();
            let policies_match = case.policies.as_ref().is_none_or(|want| {
                let mut want = want.clone();
                let mut have = explain.policies.clone();
                want.sort();
                have.sort();
                want == have
            });
            let passed = got == Some(case.expect) && policies_match;
            if passed {
                report.passed += 1;
            } else {
                report.failed += 1;
            }
            report.cases.push(CaseResult {
                file: path.display().to_string(),
                name: case.name.clone(),
                expected: Expected::name(Some(case.expect)),
                got: Expected::name(got),
                expected_policies: case.policies.clone(),
                passed,
                explain: serde_json::to_value(explain).unwrap_or(Value::Null),
            });
        }
    }
    Ok(report)
}

/// The answer to one request, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// `allow`, `deny`, `unauthorized` or `error`.
    pub answer: &'static str,
    /// The authorizer's explanation.
    pub explain: Value,
}

/// Decides one request of `caller` against the policies of `dir`.
///
/// # Errors
/// Any [`Error`].
pub fn explain(
    dir: &Path,
    settings: &BTreeMap<String, String>,
    caller: &Caller,
    request: &RequestSpec,
) -> Result<Explanation, Error> {
    check_request(request).map_err(Error::Usage)?;
    let (pool, client) = defaults(settings);
    let claims = caller_claims(caller, Path::new("."), (&pool, &client))?;
    let harness = Harness::new(dir, settings)?;
    let token = harness.sign(&claims)?;
    let outcome = harness.run(&harness.event(request, &token));
    Ok(Explanation {
        answer: Expected::name(Expected::of(&outcome)),
        explain: serde_json::to_value(outcome.explain()).unwrap_or(Value::Null),
    })
}

/// Reads a JSON or YAML file as JSON (claims files).
///
/// # Errors
/// [`Error::Cases`] naming the file.
pub fn read_value(path: &Path) -> Result<Value, Error> {
    let bad = |message: String| Error::Cases {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    } else {
        // The default budget refuses alias bombs and very deep documents; errors are one
        // line (no source snippet).
        let options = serde_saphyr::options! { with_snippet: false };
        serde_saphyr::from_str_with_options(&text, options).map_err(|e| bad(e.to_string()))
    }
}

/// What `l42 policy check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Why the folder does not load as the authorizer would load it (strict validation),
    /// one line per problem; nothing else is checked then.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_errors: Vec<String>,
    /// Every route: cache safety and the permits that can allow it.
    pub routes: Vec<RouteReport>,
    /// Policies that apply to no route's action.
    pub policies_without_route: Vec<String>,
    /// Cedar's validation warnings, `file:line: policy id: message`.
    pub warnings: Vec<String>,
    /// With an OpenAPI document: where the API and the schema differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
}

/// Where an OpenAPI document's operations and a schema's route actions differ.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Drift {
    /// Operations without an action: the authorizer denies every request to them.
    pub operations_without_action: Vec<String>,
    /// Route actions (other than `$connect`) without an operation: policies for routes
    /// the API does not have.
    pub actions_without_operation: Vec<String>,
}

/// One route of a [`CheckReport`].
#[derive(Debug, Clone, Serialize)]
pub struct RouteReport {
    /// The action name.
    pub action: String,
    /// Whether a cached REST policy can list it.
    pub cache_safe: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_cache_safe_because: Vec<String>,
    /// The permit policies that can allow it; none: always denied.
    pub permits: Vec<String>,
}

impl CheckReport {
    /// Whether the check fails: the folder does not load, the API and the schema drift
    /// apart, or (with `strict`) a route no policy can allow, a policy that applies to no
    /// route, or a validation warning.
    pub fn failed(&self, strict: bool) -> bool {
        !self.load_errors.is_empty()
            || self.drift.as_ref().is_some_and(|d| {
                !d.operations_without_action.is_empty() || !d.actions_without_operation.is_empty()
            })
            || (strict
                && (self.routes.iter().any(|r| r.permits.is_empty())
                    || !self.policies_without_route.is_empty()
                    || !self.warnings.is_empty()))
    }
}

/// Loads the folder `dir` as the authorizer does (with the variables `settings`) and
/// reports on it.
///
/// # Errors
/// [`Error::Settings`] when a variable is refused. A folder that does not load is a
/// report with `load_errors`, not an error.
pub fn check(
    dir: &Path,
    settings: &BTreeMap<String, String>,
    openapi: Option<&Path>,
) -> Result<CheckReport, Error> {
    let operations = match openapi {
        Some(path) => {
            let doc = read_value(path)?;
            Some(openapi::operations(&path.display().to_string(), &doc)?.0)
        }
        None => None,
    };
    let mut vars = settings.clone();
    vars.insert("CEDAR_POLICY_DIR".into(), dir.display().to_string());
    let config = l42_cedar::PolicyConfig::from_lookup(|k| vars.get(k).map(Into::into))
        .map_err(|e| Error::Settings(e.to_string()))?;
    let engine = match l42_cedar::Engine::from_config(&config) {
        Ok(engine) => engine,
        Err(e) => {
            return Ok(CheckReport {
                load_errors: e
                    .to_string()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                ..CheckReport::default()
            });
        }
    };
    let drift = operations.map(|ops| {
        let actions: Vec<String> = engine
            .routes()
            .map(|r| r.action().name().to_owned())
            .filter(|a| a != "$connect")
            .collect();
        let ops: Vec<String> = ops.iter().map(openapi::Operation::action).collect();
        Drift {
            operations_without_action: ops
                .iter()
                .filter(|o| !actions.contains(o))
                .cloned()
                .collect(),
            actions_without_operation: actions
                .iter()
                .filter(|a| !ops.contains(a))
                .cloned()
                .collect(),
        }
    });
    Ok(CheckReport {
        load_errors: Vec::new(),
        drift,
        routes: engine
            .route_checks()
            .into_iter()
            .map(|r| RouteReport {
                action: r.action,
                cache_safe: r.cache_safe,
                not_cache_safe_because: r.not_cache_safe_because,
                permits: r.permits,
            })
            .collect(),
        policies_without_route: engine.policies_without_route(),
        warnings: engine
            .validation_warnings()
            .iter()
            .map(ToString::to_string)
            .collect(),
    })
}

/// What `l42 policy init` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The schema file.
    pub schema: String,
    /// The starter policy file.
    pub policies: String,
    /// The namespace.
    pub namespace: String,
    /// The actions, one per operation.
    pub actions: Vec<String>,
    /// Operations left out, with the reason.
    pub skipped: Vec<String>,
}

/// The schema file `l42 policy init` writes.
pub const INIT_SCHEMA: &str = "schema.cedarschema";
/// The starter policy file `l42 policy init` writes.
pub const INIT_POLICIES: &str = "policies.cedar";

/// Writes a schema (one action per operation of the OpenAPI document `openapi`) and a
/// starter policy file into `out`, after checking that they load as the authorizer would
/// load them. Nothing is overwritten: a folder that already holds a schema or either file
/// is refused.
///
/// # Errors
/// [`Error::Cases`] for a document that cannot be read or used, [`Error::Usage`] for a
/// bad namespace or a file in the way, [`Error::Policies`] when the generated folder
/// would not load (two operations the route table cannot tell apart), I/O as
/// [`Error::Usage`].
pub fn init(openapi: &Path, out: &Path, namespace: Option<&str>) -> Result<InitReport, Error> {
    let doc = read_value(openapi)?;
    let source = openapi.file_name().map_or_else(
        || openapi.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (operations, skipped) = openapi::operations(&openapi.display().to_string(), &doc)?;
    if operations.is_empty() {
        return Err(Error::Cases {
            file: openapi.display().to_string(),
            message: "no operations under `paths`".into(),
        });
    }
    let namespace = match namespace {
        Some(n) if openapi::is_namespace(n) => n.to_owned(),
        Some(n) => {
            return Err(Error::Usage(format!(
                "{n:?} is not a Cedar namespace (letters, digits and _, parts joined by ::)"
            )));
        }
        None => openapi::namespace_from_title(openapi::title(&doc).unwrap_or_default()),
    };
    let schema = openapi::schema_text(&namespace, &source, &operations);
    let policies = openapi::policies_text(&namespace, &operations);
    l42_cedar::Engine::from_sources(&schema, &[(INIT_POLICIES, policies.as_str())], None)
        .map_err(|e| Error::Policies(format!("the generated schema: {e}")))?;

    let usage = |e: std::io::Error, path: &Path| Error::Usage(format!("{}: {e}", path.display()));
    // What the authorizer would read besides the new files: the folder and its schema/
    // and policies/ subfolders.
    for folder in [out.to_path_buf(), out.join("schema"), out.join("policies")] {
        if !folder.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&folder).map_err(|e| usage(e, &folder))? {
            let path = entry.map_err(|e| usage(e, &folder))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == INIT_POLICIES
                || name.ends_with(".cedarschema")
                || name.ends_with(".cedarschema.json")
            {
                return Err(Error::Usage(format!(
                    "{} exists; init writes into a folder without a schema and never overwrites",
                    path.display()
                )));
            }
        }
    }
    std::fs::create_dir_all(out).map_err(|e| usage(e, out))?;
    // Both files are written whole under temporary names, then renamed; on any failure
    // nothing of this run is left behind.
    let staged = [
        (INIT_SCHEMA, schema.as_str()),
        (INIT_POLICIES, policies.as_str()),
    ];
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    let result = (|| -> Result<(), Error> {
        let mut temps = Vec::new();
        for (name, text) in staged {
            let temp = out.join(format!(".{name}.l42-init-{}", std::process::id()));
            written.push(temp.clone());
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| usage(e, &temp))?;
            std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| usage(e, &temp))?;
            file.sync_all().map_err(|e| usage(e, &temp))?;
            temps.push((temp, out.join(name)));
        }
        for (temp, target) in temps {
            if target.exists() {
                return Err(Error::Usage(format!(
                    "{} appeared while init ran; nothing was written",
                    target.display()
                )));
            }
            std::fs::rename(&temp, &target).map_err(|e| usage(e, &target))?;
            written.push(target);
        }
        Ok(())
    })();
    if let Err(e) = result {
        for path in written {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    let schema_path = out.join(INIT_SCHEMA).display().to_string();
    let policies_path = out.join(INIT_POLICIES).display().to_string();
    Ok(InitReport {
        schema: schema_path,
        policies: policies_path,
        namespace,
        actions: operations.iter().map(openapi::Operation::action).collect(),
        skipped,
    })
}
