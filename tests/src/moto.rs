//! The `moto_server` emulator and the Python environment it runs from.
//!
//! `scripts/test-all` creates `.venv/`, starts `moto_server` on a free loopback port for the
//! whole test run and exports two variables to every test process:
//!
//! | variable | value |
//! |---|---|
//! | [`ENDPOINT_VAR`] (`L42_MOTO_ENDPOINT`) | `http://127.0.0.1:<port>`: DynamoDB and `cognito-idp` |
//! | [`PYTHON_VAR`] (`L42_PYTHON`) | the absolute path of `.venv/bin/python` (moto, boto3, PyJWT) |
//!
//! One server holds every service; tests share it, so each test makes its own tables and
//! user pools (see [`crate::fresh_table`] and [`crate::MotoUserPool`]).

use std::path::PathBuf;

use crate::Error;

/// The variable naming the emulator's endpoint.
pub const ENDPOINT_VAR: &str = "L42_MOTO_ENDPOINT";

/// The variable naming the virtual environment's Python interpreter.
pub const PYTHON_VAR: &str = "L42_PYTHON";

/// The emulator's endpoint, `http://127.0.0.1:<port>`, without a trailing slash.
///
/// Fails with [`Error::NotRunning`] when `L42_MOTO_ENDPOINT` is not set (the test was not
/// started by `scripts/test-all`), so a test that needs the emulator fails instead of
/// passing without it.
pub fn moto_endpoint() -> Result<String, Error> {
    let value = std::env::var(ENDPOINT_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(Error::NotRunning { var: ENDPOINT_VAR })?;
    let endpoint = value.trim().trim_end_matches('/').to_string();
    let loopback = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"];
    if !loopback.iter().any(|p| endpoint.starts_with(p)) {
        return Err(Error::BadEnv {
            var: ENDPOINT_VAR,
            value,
            message: "expected http://127.0.0.1:<port> (the emulator runs on loopback only)".into(),
        });
    }
    Ok(endpoint)
}

/// The Python interpreter of `.venv/` (with moto, boto3 and PyJWT), from `L42_PYTHON`.
pub fn python() -> Result<PathBuf, Error> {
    let value = std::env::var(PYTHON_VAR).map_err(|_| Error::BadEnv {
        var: PYTHON_VAR,
        value: String::new(),
        message: "not set: run scripts/test-all, which creates .venv/ and exports it".into(),
    })?;
    let path = PathBuf::from(&value);
    if !path.is_absolute() || !path.exists() {
        return Err(Error::BadEnv {
            var: PYTHON_VAR,
            value,
            message: "is not an existing absolute path".into(),
        });
    }
    Ok(path)
}
