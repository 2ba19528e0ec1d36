//! Start-up measurement: from exec to the first Runtime API request (`GET
//! /2018-06-01/runtime/invocation/next`), for the `l42-authorizer` release binary (embedded
//! JWKS, `JWKS_URL=off`, no network) and for the hello-world `lambda_runtime` function
//! `l42-hello-lambda`, spawned alternately against a Runtime API endpoint on loopback.
//!
//! ```text
//! cargo build --release -p l42-authorizer -p l42-hello-lambda
//! cargo run --release -p l42-authorizer --example startup            # 50 runs each
//! cargo run --release -p l42-authorizer --example startup -- --runs 200 --parts
//! ```
//!
//! Options: `--runs N` (default 50), `--authorizer PATH` and `--hello PATH` (default: the
//! binaries beside this example's `target/<profile>/` folder), `--parts` (also times each
//! step of the authorizer's start-up, each in a fresh process, in this example's own
//! release build of the same code). The time is taken from just before `spawn` (so it
//! includes fork and exec) to the moment the endpoint reads the request line of the first
//! `next`. Numbers and how they were taken: `BENCHMARKS.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use l42_core::SigningKey;
use l42_runtime_api::RuntimeApi;

const POOL: &str = "us-east-1_BenchPool1";
const CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut runs = 50usize;
    let mut authorizer = None;
    let mut hello = None;
    let mut parts = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--authorizer" => authorizer = args.next().map(PathBuf::from),
            "--hello" => hello = args.next().map(PathBuf::from),
            "--parts" => parts = true,
            "--one-parts" => return one_parts(),
            "--one-cedar" => return one_cedar(),
            "--one-schema" => return one_schema(args.next().as_deref()),
            other => panic!("unknown argument {other}"),
        }
    }
    let dir = bin_dir();
    let authorizer = authorizer.unwrap_or_else(|| dir.join("l42-authorizer"));
    let hello = hello.unwrap_or_else(|| dir.join("l42-hello-lambda"));
    for b in [&authorizer, &hello] {
        assert!(
            b.is_file(),
            "{} is missing: cargo build --release -p l42-authorizer -p l42-hello-lambda",
            b.display()
        );
    }
    let jwks = jwks();

    println!("machine: {} ({} cores)", cpu_model(), cores());
    for b in [&hello, &authorizer] {
        println!(
            "binary: {} ({} bytes)",
            b.display(),
            std::fs::metadata(b).map(|m| m.len()).unwrap_or(0)
        );
    }
    // One unmeasured run of each, so that both start from a warm page cache.
    measure(&hello, &[]);
    measure(&authorizer, &authorizer_env(&jwks));

    let mut h = Vec::with_capacity(runs);
    let mut a = Vec::with_capacity(runs);
    for i in 0..runs {
        // Alternate which goes first, so drift in the machine's load hits both alike.
        if i % 2 == 0 {
            h.push(measure(&hello, &[]));
            a.push(measure(&authorizer, &authorizer_env(&jwks)));
        } else {
            a.push(measure(&authorizer, &authorizer_env(&jwks)));
            h.push(measure(&hello, &[]));
        }
    }
    let diffs: Vec<Duration> = a
        .iter()
        .zip(&h)
        .map(|(a, h)| a.saturating_sub(*h))
        .collect();
    println!();
    println!("exec → first `next`, {runs} runs each, interleaved (µs)");
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8}",
        "binary", "min", "median", "p90", "max"
    );
    row("l42-hello-lambda", &mut h.clone());
    row("l42-authorizer", &mut a.clone());
    let (hm, am) = (pct(&mut h.clone(), 50), pct(&mut a.clone(), 50));
    let (h90, a90) = (pct(&mut h.clone(), 90), pct(&mut a.clone(), 90));
    println!(
        "difference of medians: {:.0} µs; of p90s: {:.0} µs; median of paired differences: {:.0} µs",
        us(am) - us(hm),
        us(a90) - us(h90),
        us(pct(&mut diffs.clone(), 50)),
    );

    if parts {
        parts_table(runs, &jwks);
        cedar_table(runs);
    }
}

/// `target/<profile>/`, where cargo puts the binaries (this example runs from
/// `target/<profile>/examples/`).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .expect("the example runs from target/<profile>/examples")
        .to_path_buf()
}

/// A JWKS of two RSA-2048 keys, as Cognito publishes.
fn jwks() -> String {
    let a = SigningKey::generate("startup-key-1").unwrap();
    let b = SigningKey::generate("startup-key-2").unwrap();
    serde_json::json!({ "keys": [a.jwk(), b.jwk()] }).to_string()
}

fn authorizer_env(jwks: &str) -> Vec<(&'static str, String)> {
    vec![
        ("COGNITO_USER_POOL_ID", POOL.into()),
        ("COGNITO_CLIENT_ID", CLIENT.into()),
        ("JWKS_JSON", jwks.into()),
        ("JWKS_URL", "off".into()),
    ]
}

/// Spawns `bin` against a fresh endpoint and returns the time to its first `next`.
fn measure(bin: &Path, extra: &[(&str, String)]) -> Duration {
    let api = RuntimeApi::start().unwrap();
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.addr())
        .env("AWS_LAMBDA_FUNCTION_NAME", "startup")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/23/[$LATEST]0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/startup")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let first = api.wait_first_next(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    let first = first.unwrap_or_else(|| panic!("{} never asked for an event", bin.display()));
    first.duration_since(start)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort_unstable();
    let i = ((v.len() - 1) * p).div_ceil(100);
    v[i.min(v.len() - 1)]
}

fn row(name: &str, v: &mut [Duration]) {
    v.sort_unstable();
    println!(
        "{:<28} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
        name,
        us(v[0]),
        us(pct(v, 50)),
        us(pct(v, 90)),
        us(v[v.len() - 1])
    );
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// The steps of `l42-authorizer`'s `main` before `lambda_runtime::run`, in order.
const STEPS: [&str; 6] = [
    "tracing init (JSON)",
    "AuthorizerConfig::from_env",
    "Engine::from_env (embedded)",
    "Authorizer::new (JWKS, cache)",
    "tokio current-thread runtime",
    "total before lambda_runtime::run",
];

/// One fresh process per run: the steps, each timed once, as the binary does them.
fn parts_table(runs: usize, jwks: &str) {
    let me = std::env::current_exe().unwrap();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); STEPS.len()];
    for _ in 0..runs {
        let mut cmd = Command::new(&me);
        cmd.arg("--one-parts")
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .stderr(Stdio::null());
        for (k, v) in authorizer_env(jwks) {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for (i, v) in text.split_whitespace().enumerate() {
            samples[i].push(Duration::from_nanos(v.parse().unwrap()));
        }
    }
    println!();
    println!("authorizer start-up steps, each process timed once, {runs} processes (µs)");
    println!("{:<36} {:>8} {:>8}", "step", "median", "p90");
    for (name, s) in STEPS.iter().zip(&mut samples) {
        println!(
            "{:<36} {:>8.0} {:>8.0}",
            name,
            us(pct(s, 50)),
            us(pct(s, 90))
        );
    }
}

fn one_parts() {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut lap = |from: Instant| {
        let d = from.elapsed();
        out.push(d.as_nanos());
    };
    let s = Instant::now();
    l42_core::telemetry::init();
    lap(s);
    let s = Instant::now();
    let config = l42_authorizer::AuthorizerConfig::from_env().unwrap();
    lap(s);
    let s = Instant::now();
    let engine = l42_cedar::Engine::from_env().unwrap();
    lap(s);
    let s = Instant::now();
    let authorizer = l42_authorizer::Authorizer::new(config, engine).unwrap();
    lap(s);
    let s = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    lap(s);
    lap(t);
    drop((rt, authorizer));
    let line: Vec<String> = out.iter().map(ToString::to_string).collect();
    println!("{}", line.join(" "));
}

const EMBEDDED_SCHEMA: &str = include_str!("../../cedar/schema/app.cedarschema");
const EMBEDDED_POLICIES: [&str; 3] = [
    include_str!("../../cedar/policies/admin.cedar"),
    include_str!("../../cedar/policies/common.cedar"),
    include_str!("../../cedar/policies/orders.cedar"),
];

/// What `Engine::embedded` was made of before the start-up work recorded in
/// BENCHMARKS.md, as the cedar-policy calls the loader then made, in its order (the loader
/// now skips the second schema parse, the validation of the shipped store and most
/// `to_json` calls); then the whole `Engine::embedded` in the same, warmed, process.
const CEDAR_STEPS: [&str; 10] = [
    "Schema::from_cedarschema_str",
    "SchemaFragment parse + to_json_value",
    "PolicySet::from_str (3 files)",
    "Policy::to_cedar + new_id (loader)",
    "PolicySet::from_policies (all)",
    "Validator::validate (strict)",
    "Schema::action_entities",
    "Policy::to_json (context reads)",
    "sum of the above",
    "Engine::embedded, warm process",
];

fn cedar_table(runs: usize) {
    let me = std::env::current_exe().unwrap();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); CEDAR_STEPS.len()];
    for _ in 0..runs {
        let out = Command::new(&me)
            .arg("--one-cedar")
            .env_clear()
            .stderr(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for (i, v) in text.split_whitespace().enumerate() {
            samples[i].push(Duration::from_nanos(v.parse().unwrap()));
        }
    }
    println!();
    println!("the embedded policy store's loading, as cedar-policy calls, {runs} processes (µs)");
    println!("{:<40} {:>8} {:>8}", "step", "median", "p90");
    for (name, s) in CEDAR_STEPS.iter().zip(&mut samples) {
        println!(
            "{:<40} {:>8.0} {:>8.0}",
            name,
            us(pct(s, 50)),
            us(pct(s, 90))
        );
    }

    // The same schema from its two forms, each in a fresh process.
    let (fragment, _) =
        cedar_policy::SchemaFragment::from_cedarschema_str(EMBEDDED_SCHEMA).unwrap();
    let json = fragment.to_json_string().unwrap();
    println!();
    println!("the embedded schema alone, first use in a process, {runs} processes (µs)");
    println!("{:<40} {:>8} {:>8}", "form", "median", "p90");
    for form in ["text", "json"] {
        let mut v = Vec::with_capacity(runs);
        for _ in 0..runs {
            let out = Command::new(&me)
                .args(["--one-schema", form])
                .env_clear()
                .env("L42_SCHEMA_JSON", &json)
                .stderr(Stdio::null())
                .output()
                .unwrap();
            assert!(out.status.success());
            let text = String::from_utf8(out.stdout).unwrap();
            v.push(Duration::from_nanos(text.trim().parse().unwrap()));
        }
        let name = match form {
            "text" => "cedar schema text → Schema",
            _ => "JSON schema → Schema",
        };
        println!(
            "{:<40} {:>8.0} {:>8.0}",
            name,
            us(pct(&mut v, 50)),
            us(pct(&mut v, 90))
        );
    }
}

/// Builds the embedded schema once from `form` (`text` or `json`), timed.
fn one_schema(form: Option<&str>) {
    use cedar_policy::{Schema, SchemaFragment};
    let json = std::env::var("L42_SCHEMA_JSON").unwrap_or_default();
    let s = Instant::now();
    let fragment = match form {
        Some("json") => SchemaFragment::from_json_str(&json).unwrap(),
        _ => {
            SchemaFragment::from_cedarschema_str(EMBEDDED_SCHEMA)
                .unwrap()
                .0
        }
    };
    let schema = Schema::from_schema_fragments([fragment]).unwrap();
    let took = s.elapsed();
    drop(schema);
    println!("{}", took.as_nanos());
}

fn one_cedar() {
    use cedar_policy::{PolicySet, Schema, SchemaFragment, ValidationMode, Validator};
    use std::str::FromStr;

    let t = Instant::now();
    let mut out = Vec::new();
    let mut lap = |from: Instant| out.push(from.elapsed().as_nanos());
    let s = Instant::now();
    let (schema, _) = Schema::from_cedarschema_str(EMBEDDED_SCHEMA).unwrap();
    lap(s);
    let s = Instant::now();
    let (fragment, _) = SchemaFragment::from_cedarschema_str(EMBEDDED_SCHEMA).unwrap();
    let json = fragment.to_json_value().unwrap();
    lap(s);
    let s = Instant::now();
    let sets: Vec<PolicySet> = EMBEDDED_POLICIES
        .iter()
        .map(|src| PolicySet::from_str(src).unwrap())
        .collect();
    lap(s);
    let s = Instant::now();
    let mut found = 0;
    let mut renamed = Vec::new();
    for (set, src) in sets.iter().zip(EMBEDDED_POLICIES) {
        for p in set.policies() {
            found += p.to_cedar().and_then(|c| src.find(&c)).map_or(0, |_| 1);
            let id = p.annotation("id").unwrap_or("x").to_string();
            renamed.push(p.new_id(cedar_policy::PolicyId::new(id)));
        }
    }
    lap(s);
    let s = Instant::now();
    let all = PolicySet::from_policies(renamed).unwrap();
    lap(s);
    let s = Instant::now();
    let validation = Validator::new(schema.clone()).validate(&all, ValidationMode::Strict);
    assert!(validation.validation_passed());
    lap(s);
    let s = Instant::now();
    let actions = schema.action_entities().unwrap();
    lap(s);
    let s = Instant::now();
    let reads = all.policies().filter_map(|p| p.to_json().ok()).count();
    lap(s);
    lap(t);
    let s = Instant::now();
    let engine = l42_cedar::Engine::embedded().unwrap();
    lap(s);
    drop((json, found, actions, reads, engine));
    let line: Vec<String> = out.iter().map(ToString::to_string).collect();
    println!("{}", line.join(" "));
}
