//! Runs `tests/conformance/conformance.py` (PyJWT, standard library) against an in-process
//! provider: an independent client checks the flow, the tokens and the refusals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

use l42_idp::{Idp, IdpConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_conformance_script_passes() {
    let Ok(python) = std::env::var("L42_PYTHON") else {
        panic!(
            "L42_PYTHON is not set: it must name a Python 3.11+ interpreter with PyJWT[crypto]. \
             Run `scripts/test-all`, which creates the project's virtual environment and sets it."
        );
    };
    let idp = Idp::start(IdpConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/conformance.py"
    );
    let base = idp.base_url().to_string();
    let out =
        tokio::task::spawn_blocking(move || Command::new(python).arg(script).arg(base).output())
            .await
            .unwrap()
            .expect("the interpreter named by L42_PYTHON starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "conformance script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    // The script's calls were counted.
    assert!(idp.stats().grant("authorization_code") >= 6);
    assert!(idp.stats().grant("client_credentials") >= 3);
}
