//! Fuzzes the authorizer end to end: `Authorizer::handle` on arbitrary event bytes, with
//! the embedded example policies, a fixed embedded JWKS (`fuzz/jwks.json`), every
//! identity source enabled, and a current-thread Tokio runtime built once.
#![no_main]

use std::sync::OnceLock;

use l42_authorizer::{Authorizer, AuthorizerConfig, Outcome};
use libfuzzer_sys::fuzz_target;

struct Harness {
    runtime: tokio::runtime::Runtime,
    authorizer: Authorizer,
}

fn harness() -> Option<&'static Harness> {
    static HARNESS: OnceLock<Option<Harness>> = OnceLock::new();
    HARNESS
        .get_or_init(|| {
            let env = [
                ("COGNITO_USER_POOL_ID", "us-east-1_FuzzPool"),
                ("COGNITO_CLIENT_ID", "fuzzclient"),
                ("JWKS_JSON", include_str!("../jwks.json")),
                ("JWKS_URL", "off"),
                ("TOKEN_USE", "any"),
                ("IDENTITY_SOURCES", "header,query,protocol"),
                ("CLAIMS_CACHE_SIZE", "0"),
            ];
            let config = AuthorizerConfig::from_lookup(|k| {
                env.iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| (*v).to_string())
            })
            .ok()?;
            let engine = l42_cedar::Engine::embedded().ok()?;
            let authorizer = Authorizer::new(config, engine).ok()?;
            let runtime = tokio::runtime::Builder::new_current_thread().build().ok()?;
            Some(Harness {
                runtime,
                authorizer,
            })
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    // An unusable set-up is a harness bug, not a finding: fail loudly.
    let Some(h) = harness() else {
        std::process::abort();
    };
    let outcome = h.runtime.block_on(h.authorizer.handle(data));
    // No input can carry a valid signature (the JWKS's private key is not kept anywhere),
    // so an Allow means a check was skipped.
    if let Outcome::Respond { allowed: true, .. } = outcome {
        std::process::abort();
    }
});
