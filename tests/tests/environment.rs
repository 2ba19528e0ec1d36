//! What `scripts/test-all` hands every test: the emulator's endpoint and the Python of
//! `.venv/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::process::Command;

use l42_tests::Error;
use l42_tests::moto::ENDPOINT_VAR;

#[test]
fn endpoint_is_loopback_http() -> Result<(), Error> {
    let endpoint = l42_tests::moto_endpoint()?;
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(!endpoint.ends_with('/'));
    Ok(())
}

#[test]
fn missing_emulator_is_explained() {
    let msg = Error::NotRunning { var: ENDPOINT_VAR }.to_string();
    assert!(
        msg.starts_with("AWS emulator (moto_server) not running: run scripts/test-all"),
        "{msg}"
    );
    // Debug (what `unwrap` and a failing `Result` test print) is the same message.
    assert_eq!(
        format!("{:?}", Error::NotRunning { var: ENDPOINT_VAR }),
        msg
    );
}

#[test]
fn venv_python_has_pyjwt_with_rsa() -> Result<(), Error> {
    let python = l42_tests::python()?;
    let out = Command::new(&python)
        .args([
            "-c",
            "import jwt, jwt.algorithms; jwt.algorithms.RSAAlgorithm; print(jwt.__version__)",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    Ok(())
}
