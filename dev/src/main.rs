//! `l42-dev`: the l42 local stack from the command line. Without arguments it runs the
//! whole stack (configured by `L42_DEV_*` variables); `l42-dev idp` runs only the identity
//! provider.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use l42_dev::DevError;
use l42_dev::stack::{Stack, StackConfig};
use l42_idp::{DEFAULT_POOL_ID, Directory, Idp, IdpConfig, IdpError};

const USAGE: &str = "\
usage: l42-dev
       l42-dev idp [--port PORT] [--users FILE] [--issuer URL] [--pool-id ID]

Without arguments: runs the local stack (identity provider, token handler and refresh
under /_auth, the demo API behind the authorizer under /api, the demo page) on 127.0.0.1
and prints one line saying where to open it. Ctrl-C stops it. Environment:
  L42_DEV_PORT (8042; 0 = a free port)   L42_DEV_IDP_PORT (0)   L42_DEV_TOKEN_SECONDS (3600)
  L42_DEV_API_EVENT (http | rest)   L42_DEV_SECURE_COOKIE (true)
  DYNAMODB_ENDPOINT (unset: sessions in memory), DYNAMODB_TABLE, AWS_REGION, ...

idp: runs only the Cognito-compatible dev identity provider on 127.0.0.1 and prints its
base URL on standard output (logs go to standard error).

  --port PORT     port to listen on (default 0: a free port)
  --users FILE    users, groups and app clients (JSON; default: the embedded example)
  --issuer URL    the tokens' `iss` (default https://cognito-idp.<region>.amazonaws.com/<pool>)
  --pool-id ID    the user pool id (default us-east-1_DevPool1)
  -h, --help      this help";

/// The `idp` subcommand's options.
#[derive(Debug, Default)]
struct IdpArgs {
    port: u16,
    users: Option<PathBuf>,
    issuer: Option<String>,
    pool_id: Option<String>,
}

enum Command {
    Help,
    Stack,
    Idp(IdpArgs),
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Ok(Command::Stack);
    };
    match sub.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "idp" => {}
        other => return Err(format!("unknown subcommand `{other}`")),
    }
    let mut out = IdpArgs::default();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if matches!(name, "-h" | "--help") {
            return Ok(Command::Help);
        }
        if !matches!(name, "--port" | "--users" | "--issuer" | "--pool-id") {
            return Err(format!("unknown option `{arg}`"));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("`{name}` needs a value"))?,
        };
        match name {
            "--port" => {
                out.port = value
                    .parse()
                    .map_err(|_| format!("`--port {value}` is not a port number (0-65535)"))?;
            }
            "--users" => out.users = Some(PathBuf::from(value)),
            "--issuer" => out.issuer = Some(value),
            _ => out.pool_id = Some(value),
        }
    }
    Ok(Command::Idp(out))
}

async fn run_idp(args: IdpArgs) -> Result<(), IdpError> {
    let directory = match &args.users {
        Some(path) => Directory::from_file(path)?,
        None => Directory::example(),
    };
    let config = IdpConfig {
        pool_id: args.pool_id.unwrap_or_else(|| DEFAULT_POOL_ID.to_string()),
        issuer: args.issuer,
        directory,
        ..IdpConfig::default()
    };
    let idp = Idp::start(config, &format!("127.0.0.1:{}", args.port)).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", idp.base_url());
        let _ = out.flush();
    }
    eprintln!(
        "l42-dev idp: listening on {}\n  issuer  {}\n  jwks    {}\n  clients {}",
        idp.base_url(),
        idp.issuer(),
        idp.jwks_url(),
        idp.directory()
            .clients()
            .iter()
            .map(|c| c.client_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::future::pending::<()>().await;
    Ok(())
}

/// Runs the stack until Ctrl-C (or SIGTERM).
async fn run_stack(config: StackConfig) -> Result<(), DevError> {
    let stack = Stack::start(config).await?;
    let users: Vec<String> = stack
        .users()
        .into_iter()
        .map(|(name, password, _)| format!("{name}/{password}"))
        .collect();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "l42-dev: open {}/ and log in as {} (Ctrl-C stops)",
            stack.url(),
            users.join(", ")
        );
        let _ = out.flush();
    }
    eprintln!(
        "l42-dev: identity provider {}, sessions in {}; /_auth = token handler + refresh, /api = demo API behind the authorizer",
        stack.idp().base_url(),
        stack.session_backend()
    );
    stop_signal().await;
    eprintln!("l42-dev: stopping");
    stack.shutdown().await;
    eprintln!("l42-dev: stopped");
    Ok(())
}

/// Logs for a person at a terminal: the stack's own progress lines (each API decision,
/// start and stop) and every part's warnings and errors, on standard error. `RUST_LOG`
/// overrides the filter (`RUST_LOG=info` shows every part's security events too).
fn stack_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("warn,l42_dev=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cmd = match parse_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("l42-dev: error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stack_config = match &cmd {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Stack => match StackConfig::from_env() {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("l42-dev: error: {e}");
                return ExitCode::FAILURE;
            }
        },
        Command::Idp(_) => None,
    };
    if stack_config.is_some() {
        stack_logging();
    } else {
        l42_core::telemetry::init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("l42-dev: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match (cmd, stack_config) {
        (Command::Idp(a), _) => runtime.block_on(run_idp(a)).map_err(DevError::from),
        (_, Some(config)) => runtime.block_on(run_stack(config)),
        _ => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let hint = match &e {
                DevError::Bind { .. } => {
                    " (another program uses the port: set L42_DEV_PORT, or L42_DEV_PORT=0 for a free one)"
                }
                _ => "",
            };
            eprintln!("l42-dev: error: {e}{hint}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_the_idp_subcommand() {
        let Command::Idp(a) =
            parse_args(&args("idp --port 0 --users u.json --issuer=http://x")).unwrap()
        else {
            panic!("not idp");
        };
        assert_eq!(a.port, 0);
        assert_eq!(a.users.unwrap(), PathBuf::from("u.json"));
        assert_eq!(a.issuer.unwrap(), "http://x");
        assert!(matches!(
            parse_args(&args("idp --help")).unwrap(),
            Command::Help
        ));
    }

    #[test]
    fn no_arguments_run_the_stack() {
        assert!(matches!(parse_args(&[]).unwrap(), Command::Stack));
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (a, want) in [
            ("serve", "unknown subcommand"),
            ("idp --port", "needs a value"),
            ("idp --port 70000", "not a port"),
            ("idp --bogus 1", "unknown option"),
        ] {
            let e = parse_args(&args(a)).err().unwrap();
            assert!(e.contains(want), "{a}: {e}");
        }
    }
}
