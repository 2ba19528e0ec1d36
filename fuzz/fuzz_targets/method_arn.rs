//! Fuzzes method and route ARN parsing: `MethodArn::parse` on arbitrary text, checking
//! that what it returns points into its input.
#![no_main]

use l42_authorizer::MethodArn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|arn: &str| {
    if let Some(m) = MethodArn::parse(arn)
        && !(arn.starts_with(m.prefix)
            && arn[m.prefix.len()..].starts_with(m.verb)
            && !m.verb.is_empty()
            && m.path.starts_with('/'))
    {
        std::process::abort();
    }
});
