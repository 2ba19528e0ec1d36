//! Fuzzes token verification: `Verifier::verify_blocking` on arbitrary text, and on tokens
//! built from arbitrary header and payload bytes (so the fuzzer reaches the JSON parsing
//! and the claim checks without having to discover base64url first). The verifier holds
//! a fixed embedded JWKS (`fuzz/jwks.json`), built once; it never does I/O.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use l42_core::{Verifier, VerifierConfig};
use libfuzzer_sys::fuzz_target;

/// The pool whose issuer the dictionary and seeds use.
const POOL: &str = "us-east-1_FuzzPool";
const CLIENT: &str = "fuzzclient";

fn verifier() -> Option<&'static Verifier> {
    static VERIFIER: OnceLock<Option<Verifier>> = OnceLock::new();
    VERIFIER
        .get_or_init(|| {
            let config = VerifierConfig::builder(POOL, CLIENT)
                .jwks_json(include_str!("../jwks.json"))
                .jwks_url("off")
                // A cache hit would skip the code under test for repeated inputs.
                .claims_cache_size(0)
                .build()
                .ok()?;
            Verifier::new(config).ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    // An unusable set-up is a harness bug, not a finding: fail loudly.
    let Some(verifier) = verifier() else {
        std::process::abort();
    };
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = verifier.verify_blocking(token);
    }
    // `header NUL payload NUL signature`, each part base64url-encoded.
    let mut parts = data.splitn(3, |b| *b == 0);
    let (header, payload, signature) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    );
    let _ = verifier.verify_blocking(&token);
});
