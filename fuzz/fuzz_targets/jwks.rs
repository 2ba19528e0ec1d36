//! Fuzzes JWKS parsing: `l42_core::jwks::parse_jwks` on arbitrary bytes (documents come
//! from the network on a key refetch, or from `JWKS_JSON` / `JWKS_FILE`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = l42_core::jwks::parse_jwks(data);
});
