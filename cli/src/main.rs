//! `l42`: policies as code. Exit 0 on success, 1 when a check fails, 2 on bad usage or
//! input that cannot be used.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use l42_cli::harness::{Caller, EventKind, RequestSpec};
use l42_cli::{CheckReport, Error, Report};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "l42",
    about = "l42: Cognito + Cedar authorization for API Gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Policies as code: test and explain decisions.
    #[command(subcommand)]
    Policy(Policy),
    /// A user's sessions in the token handler's table (DYNAMODB_TABLE, DYNAMODB_ENDPOINT,
    /// AWS_REGION and AWS credentials from the environment).
    #[command(subcommand)]
    Sessions(Sessions),
}

#[derive(Subcommand)]
enum Sessions {
    /// Lists the user's sessions, newest first.
    List {
        #[command(flatten)]
        user: UserArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Ends every session of the user: each is deleted and its sign-in revoked (the
    /// authorizer refuses its tokens within its recheck window), and, with
    /// COGNITO_DOMAIN and COGNITO_CLIENT_ID set, its refresh token is revoked at Cognito.
    End {
        #[command(flatten)]
        user: UserArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Whose sessions.
#[derive(clap::Args)]
struct UserArgs {
    /// The user pool id.
    #[arg(long)]
    pool: String,
    /// The user's `sub`.
    #[arg(long)]
    sub: String,
}

#[derive(Clone, Copy, Default, ValueEnum)]
enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum Policy {
    /// Writes a schema with one action per operation of an OpenAPI 3.0/3.1 or Swagger 2.0
    /// document (JSON or YAML, API Gateway exports included) and a starter policy file.
    /// Never overwrites a file.
    Init {
        /// The OpenAPI document.
        #[arg(long)]
        openapi: PathBuf,
        /// The folder to write `schema.cedarschema` and `policies.cedar` into.
        #[arg(long)]
        out: PathBuf,
        /// The Cedar namespace (default: from the document's title).
        #[arg(long)]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Runs test files of cases (caller, request, expected answer) through the
    /// authorizer with the folder's policies; exit 1 when a case fails.
    Test {
        /// The policy folder (one schema, `*.cedar` files; or `schema/` and `policies/`).
        dir: PathBuf,
        /// Test files, YAML or JSON.
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Loads a policy folder as the authorizer does at start-up (strict validation) and
    /// reports every route: cache-safe or not and why, the policies that can allow it;
    /// policies that apply to no route; Cedar's warnings. Exit 1 when the folder does
    /// not load (with --strict, also for any finding).
    Check {
        /// The policy folder.
        dir: PathBuf,
        /// Fail (exit 1) on a route no policy can allow, a policy that applies to no
        /// route, or a validation warning, too.
        #[arg(long)]
        strict: bool,
        /// The API's OpenAPI document: fail on drift, both ways (operations without an
        /// action, which are always denied, and actions without an operation).
        #[arg(long)]
        openapi: Option<PathBuf>,
        /// An authorizer variable, `NAME=value` (repeatable), e.g. `CEDAR_APPLICATION=Shop`.
        #[arg(long = "set", value_parser = parse_pair)]
        settings: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Decides one request and says why.
    Explain {
        /// The policy folder.
        dir: PathBuf,
        /// A JSON or YAML file of token claims (`sub` required).
        #[arg(long, conflicts_with = "token", required_unless_present = "token")]
        claims: Option<PathBuf>,
        /// A file holding a JWT whose claims are used (re-signed for the run).
        #[arg(long)]
        token: Option<PathBuf>,
        /// The method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The path, e.g. `/orders/42`.
        #[arg(long, default_value = "/")]
        path: String,
        /// The event kind: http, rest-request, rest-token or websocket.
        #[arg(long, default_value = "http", value_parser = parse_event)]
        event: EventKind,
        /// A query string parameter, `name=value` (repeatable).
        #[arg(long = "query", value_parser = parse_pair)]
        query: Vec<(String, String)>,
        /// The caller's IP address.
        #[arg(long)]
        source_ip: Option<String>,
        /// An authorizer variable, `NAME=value` (repeatable), e.g. `CEDAR_ENTITY_IDS=avp`.
        #[arg(long = "set", value_parser = parse_pair)]
        settings: Vec<(String, String)>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected NAME=value, got {s:?}"))
}

fn parse_event(s: &str) -> Result<EventKind, String> {
    EventKind::parse(s)
        .ok_or_else(|| format!("expected http, rest-request, rest-token or websocket, got {s:?}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever the message holds (a loader's problems are one per line).
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("l42: {}", line.join("; "));
            ExitCode::from(2)
        }
    }
}

/// Runs a `sessions` command against the table and Cognito the environment names.
fn sessions(command: Sessions) -> Result<ExitCode, Error> {
    use l42_core::session::{DynamoStore, SessionStore};
    let env = |name: &str| std::env::var(name).ok();
    let store = DynamoStore::from_lookup(env).map_err(|e| Error::Settings(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(e.to_string()))?;
    match command {
        Sessions::List { user, format } => {
            let user = l42_cli::sessions::user(&user.pool, &user.sub)?;
            let listed =
                runtime.block_on(l42_cli::sessions::list(&store as &dyn SessionStore, &user))?;
            match format {
                Format::Json => println!("{}", json(&listed)),
                Format::Text => {
                    let now = l42_core::unix_now();
                    for s in &listed {
                        let state = if s.expires_at > now {
                            "live"
                        } else {
                            "expired"
                        };
                        println!(
                            "{}  created {}  last used {}  {}  {}  {}",
                            s.id,
                            s.created_at,
                            s.last_used_at,
                            s.auth_method,
                            state,
                            s.user_agent.as_deref().unwrap_or("-")
                        );
                    }
                    println!("{} sessions", listed.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Sessions::End { user, format } => {
            let user = l42_cli::sessions::user(&user.pool, &user.sub)?;
            let cognito = match env("COGNITO_DOMAIN").filter(|d| !d.trim().is_empty()) {
                None => None,
                Some(_) => Some(l42_core::CognitoClient::new(
                    l42_core::OAuthConfig::from_lookup(env)
                        .map_err(|e| Error::Settings(e.to_string()))?,
                )),
            };
            let report = runtime.block_on(l42_cli::sessions::end_all(
                &store as &dyn SessionStore,
                cognito.as_ref(),
                &user,
            ))?;
            match format {
                Format::Json => println!("{}", json(&report)),
                Format::Text => {
                    println!(
                        "ended {} sessions of {} ({} sign-ins revoked)",
                        report.ended, report.user, report.revoked
                    );
                    if report.cognito {
                        println!(
                            "{} refresh tokens revoked at Cognito",
                            report.refresh_tokens_revoked
                        );
                    } else {
                        println!(
                            "COGNITO_DOMAIN is not set: no refresh token was revoked at \
                             Cognito (they lived only in the deleted sessions)"
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Sessions(command) => sessions(command),
        Command::Policy(Policy::Test { dir, cases, format }) => {
            let files: Vec<&std::path::Path> = cases.iter().map(PathBuf::as_path).collect();
            let report = l42_cli::run_tests(&dir, &files)?;
            match format {
                Format::Text => print!("{}", text_report(&report)),
                Format::Json => println!("{}", json(&report)),
            }
            Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Policy(Policy::Init {
            openapi,
            out,
            namespace,
            format,
        }) => {
            let report = l42_cli::init(&openapi, &out, namespace.as_deref())?;
            match format {
                Format::Text => {
                    println!(
                        "wrote {} ({} actions in namespace {}) and {}",
                        report.schema,
                        report.actions.len(),
                        report.namespace,
                        report.policies
                    );
                    for line in &report.skipped {
                        println!("left out: {line}");
                    }
                }
                Format::Json => println!("{}", json(&report)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(Policy::Check {
            dir,
            strict,
            openapi,
            settings,
            format,
        }) => {
            let report = l42_cli::check(&dir, &settings.into_iter().collect(), openapi.as_deref())?;
            match format {
                Format::Text => print!("{}", text_check(&report)),
                Format::Json => println!("{}", json(&report)),
            }
            Ok(if report.failed(strict) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Policy(Policy::Explain {
            dir,
            claims,
            token,
            method,
            path,
            event,
            query,
            source_ip,
            settings,
            format,
        }) => {
            let caller = match (claims, token) {
                (Some(file), _) => {
                    let Value::Object(claims) = l42_cli::read_value(&file)? else {
                        return Err(Error::Cases {
                            file: file.display().to_string(),
                            message: "the claims must be an object".into(),
                        });
                    };
                    Caller {
                        claims: Some(claims),
                        token: None,
                    }
                }
                (None, token) => Caller {
                    claims: None,
                    token,
                },
            };
            let request = RequestSpec {
                method: Some(method),
                path,
                event,
                query: query.into_iter().collect(),
                source_ip,
            };
            let settings: BTreeMap<String, String> = settings.into_iter().collect();
            let answer = l42_cli::explain(&dir, &settings, &caller, &request)?;
            match format {
                Format::Text => print!("{}", text_explanation(answer.answer, &answer.explain)),
                Format::Json => println!("{}", json(&answer)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Each failing case with the authorizer's explanation, then `N passed, N failed`.
fn text_report(report: &Report) -> String {
    let mut out = String::new();
    for case in report.cases.iter().filter(|c| !c.passed) {
        let policies = match &case.expected_policies {
            Some(p) => format!(" (policies {})", p.join(", ")),
            None => String::new(),
        };
        out.push_str(&format!(
            "FAIL {}: {}: expected {}{policies}, got {}\n",
            case.file, case.name, case.expected, case.got
        ));
        for line in text_explanation(case.got, &case.explain).lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out.push_str(&format!(
        "{} passed, {} failed\n",
        report.passed, report.failed
    ));
    out
}

/// The answer and the explanation's members, one per line.
fn text_explanation(answer: &str, explain: &Value) -> String {
    let field = |name: &str| explain.get(name).and_then(Value::as_str).unwrap_or("-");
    let list = |name: &str| {
        explain
            .get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".to_owned())
    };
    format!(
        "{answer} at the {} step: {}\naction: {}\nsub: {}\npolicies: {}\nerrors: {}\n",
        field("stage"),
        field("reason"),
        field("action"),
        field("sub"),
        list("policies"),
        list("errors"),
    )
}

/// The check's findings, one line each.
fn text_check(report: &CheckReport) -> String {
    let mut out = String::new();
    if !report.load_errors.is_empty() {
        out.push_str("the policies do not load:\n");
        for line in &report.load_errors {
            out.push_str(&format!("  {line}\n"));
        }
        return out;
    }
    let width = report
        .routes
        .iter()
        .map(|r| r.action.len())
        .max()
        .unwrap_or(0);
    out.push_str("routes:\n");
    for r in &report.routes {
        let cache = if r.cache_safe {
            "cache-safe".to_owned()
        } else {
            format!("not cache-safe: {}", r.not_cache_safe_because.join("; "))
        };
        let permits = if r.permits.is_empty() {
            "never allowed: no permit policy applies".to_owned()
        } else {
            format!("allowed by {}", r.permits.join(", "))
        };
        out.push_str(&format!("  {:width$}  {cache}; {permits}\n", r.action));
    }
    for id in &report.policies_without_route {
        out.push_str(&format!("policy {id} applies to no route\n"));
    }
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    if let Some(drift) = &report.drift {
        for op in &drift.operations_without_action {
            out.push_str(&format!(
                "drift: the API's operation \"{op}\" has no action: every request to it is denied\n"
            ));
        }
        for action in &drift.actions_without_operation {
            out.push_str(&format!(
                "drift: the action \"{action}\" is no operation of the API\n"
            ));
        }
    }
    let never = report
        .routes
        .iter()
        .filter(|r| r.permits.is_empty())
        .count();
    let safe = report.routes.iter().filter(|r| r.cache_safe).count();
    out.push_str(&format!(
        "{} routes, {safe} cache-safe, {never} never allowed; {} policies apply to no route; {} warnings\n",
        report.routes.len(),
        report.policies_without_route.len(),
        report.warnings.len()
    ));
    out
}
