//! The `l42-authorizer` binary: a Lambda function inside AWS Lambda, and a line-oriented
//! local mode (`--stdin`) for people and benchmarks. Both run the same decision code.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use l42_authorizer::{Authorizer, Outcome};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::value::RawValue;

const USAGE: &str = "\
usage: l42-authorizer [--stdin] [--explain]

Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves authorizer events.
--stdin     read one event JSON per line from standard input and write one response
            JSON per line to standard output ({\"error\":\"Unauthorized\"} for a 401)
--explain   with --stdin, add an \"explain\" member: which check decided, and which policies
Configuration is read from the environment; see the README.";

fn main() -> ExitCode {
    let mut stdin_mode = false;
    let mut explain = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--stdin" => stdin_mode = true,
            "--explain" => explain = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("l42-authorizer {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("l42-authorizer: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    l42_core::telemetry::init();
    let authorizer = match Authorizer::from_env() {
        Ok(a) => a,
        Err(e) => {
            // One line: in Lambda every line of standard error is its own log record.
            eprintln!("l42-authorizer: {}", one_line(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("l42-authorizer: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if stdin_mode || !l42_core::telemetry::in_lambda() {
        if !stdin_mode {
            eprintln!(
                "l42-authorizer: not inside AWS Lambda; use --stdin for the local mode\n{USAGE}"
            );
            return ExitCode::from(2);
        }
        return runtime.block_on(serve_stdin(&authorizer, explain));
    }
    // The handler borrows the authorizer, which outlives the runtime loop (as in the
    // runtime's shared-resource example): sequential `run` needs no `'static` handler.
    let authorizer = &authorizer;
    let result = runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| lambda_handler(authorizer, event),
    )));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("l42-authorizer: runtime error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn lambda_handler(
    authorizer: &Authorizer,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Diagnostic> {
    match authorizer.handle(event.payload.get().as_bytes()).await {
        Outcome::Respond { body, .. } => String::from_utf8(body)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .ok_or_else(unauthorized),
        Outcome::Unauthorized { .. } => Err(unauthorized()),
        // Any error but `Unauthorized` is a 500 at API Gateway: nothing is allowed.
        Outcome::Failed { .. } => Err(Diagnostic {
            error_type: "DecisionUnavailable".into(),
            error_message: "no decision could be made".into(),
        }),
    }
}

/// `text` on one line: its lines trimmed and joined with `; ` (with a space after a
/// line ending in `:`).
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(line);
    }
    out
}

/// API Gateway turns exactly this error message into a 401.
fn unauthorized() -> Diagnostic {
    Diagnostic {
        error_type: "Unauthorized".into(),
        error_message: "Unauthorized".into(),
    }
}

/// One response line per input line. Lines are read as bytes, not text: a line that is
/// not UTF-8 is answered like any other bad event (`{"error":"Unauthorized"}`, with the
/// reason under `--explain`), and the lines after it are still read.
async fn serve_stdin(authorizer: &Authorizer, explain: bool) -> ExitCode {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().split(b'\n') {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("l42-authorizer: cannot read standard input: {e}");
                return ExitCode::from(1);
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let outcome = authorizer.handle(&line).await;
        let mut value: serde_json::Value = match &outcome {
            Outcome::Unauthorized { .. } => serde_json::json!({"error": "Unauthorized"}),
            Outcome::Failed { .. } => serde_json::json!({"error": "DecisionUnavailable"}),
            Outcome::Respond { body, .. } => serde_json::from_slice(body)
                .unwrap_or_else(|_| serde_json::json!({"error": "Unauthorized"})),
        };
        if explain && let serde_json::Value::Object(m) = &mut value {
            m.insert(
                "explain".into(),
                serde_json::to_value(outcome.explain()).unwrap_or_default(),
            );
        }
        let written = serde_json::to_writer(&mut out, &value)
            .map_err(std::io::Error::other)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if written.is_err() {
            // Standard output closed: nothing more to do.
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::SUCCESS
}
