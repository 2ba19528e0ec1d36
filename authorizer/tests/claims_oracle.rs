//! A property test of claims as principal attributes: for random claim sets over a
//! declared `User` shape, the authorizer's decision equals the one `cedar-policy` gives
//! for the same principal built by hand here, with the coercion rules written again,
//! independently, from the README's table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::OnceLock;

use cedar_policy::{
    Authorizer as CedarAuthorizer, Context, Decision, Entities, Entity, EntityUid, PolicySet,
    Request, RestrictedExpression,
};
use l42_authorizer::{Authorizer, Outcome};
use proptest::prelude::*;
use serde_json::{Value, json};

const SCHEMA: &str = r#"
namespace P {
  entity UserGroup;
  entity User in [UserGroup] {
    level?: Long,
    admin?: Bool,
    roles?: Set<String>,
    team?: String,
    "custom:n": Long,
  };
  entity Application;
  action "get /x" appliesTo { principal: [User], resource: [Application] };
}
"#;

const POLICIES: &str = r#"
@id("level")
permit(principal, action == P::Action::"get /x", resource)
when { principal has level && principal.level > 2 && principal["custom:n"] != 13 };
@id("admin")
permit(principal, action == P::Action::"get /x", resource)
when { principal has admin && principal.admin && principal["custom:n"] < 0 };
@id("roles")
permit(principal, action == P::Action::"get /x", resource)
when { principal has roles && principal.roles.contains("ops")
       && principal has team && principal.team like "blue*" };
@id("no-sevens")
forbid(principal, action, resource)
when { principal["custom:n"] == 7 };
"#;

/// The declared attributes: name, type, required.
const DECLARED: [(&str, Kind, bool); 5] = [
    ("level", Kind::Long, false),
    ("admin", Kind::Bool, false),
    ("roles", Kind::Set, false),
    ("team", Kind::Str, false),
    ("custom:n", Kind::Long, true),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    Long,
    Bool,
    Set,
    Str,
}

fn authorizer() -> &'static Authorizer {
    static A: OnceLock<Authorizer> = OnceLock::new();
    A.get_or_init(|| {
        let engine = l42_cedar::Engine::from_sources(
            SCHEMA,
            &[("p.cedar".to_string(), POLICIES.to_string())],
            None,
        )
        .unwrap();
        Authorizer::new(common::config(&[]), engine).unwrap()
    })
}

/// The oracle's reading of one claim as `kind`: `None` when it does not read.
fn read(kind: Kind, v: &Value) -> Option<RestrictedExpression> {
    match (kind, v) {
        (Kind::Str, Value::String(s)) => Some(RestrictedExpression::new_string(s.clone())),
        (Kind::Long, Value::Number(n)) => n.as_i64().map(RestrictedExpression::new_long),
        (Kind::Long, Value::String(s)) => {
            let body = s.strip_prefix('-').unwrap_or(s);
            let digits = !body.is_empty() && body.chars().all(|c| c.is_ascii_digit());
            digits
                .then(|| s.parse::<i64>().ok())
                .flatten()
                .map(RestrictedExpression::new_long)
        }
        (Kind::Bool, Value::Bool(b)) => Some(RestrictedExpression::new_bool(*b)),
        (Kind::Bool, Value::String(s)) if s == "true" => Some(RestrictedExpression::new_bool(true)),
        (Kind::Bool, Value::String(s)) if s == "false" => {
            Some(RestrictedExpression::new_bool(false))
        }
        (Kind::Set, Value::Array(items)) => {
            let strings: Option<Vec<_>> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(|s| RestrictedExpression::new_string(s.to_owned()))
                })
                .collect();
            strings.map(RestrictedExpression::new_set)
        }
        (Kind::Set, Value::String(s)) => Some(RestrictedExpression::new_set(
            s.split_ascii_whitespace()
                .map(|w| RestrictedExpression::new_string(w.to_owned())),
        )),
        _ => None,
    }
}

/// What `cedar-policy` decides for a principal with `claims`, built by hand; `false` when
/// the required attribute does not read (the authorizer denies then).
fn oracle(sub: &str, claims: &HashMap<&str, Value>) -> bool {
    let mut attrs = HashMap::new();
    for (name, kind, required) in DECLARED {
        match claims.get(name).and_then(|v| read(kind, v)) {
            Some(e) => {
                attrs.insert(name.to_owned(), e);
            }
            None if required => return false,
            None => {}
        }
    }
    let uid = EntityUid::from_str(&format!("P::User::{}", json!(sub))).unwrap();
    let user = Entity::new(uid.clone(), attrs, HashSet::new()).unwrap();
    let entities = Entities::from_entities([user], None).unwrap();
    let request = Request::new(
        uid,
        EntityUid::from_str(r#"P::Action::"get /x""#).unwrap(),
        EntityUid::from_str(r#"P::Application::"P""#).unwrap(),
        Context::empty(),
        None,
    )
    .unwrap();
    let policies = PolicySet::from_str(POLICIES).unwrap();
    CedarAuthorizer::new()
        .is_authorized(&request, &policies, &entities)
        .decision()
        == Decision::Allow
}

fn claim_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        any::<i64>().prop_map(|n| Some(json!(n))),
        (-20i64..20).prop_map(|n| Some(json!(n))),
        "-?[0-9]{1,3}".prop_map(|s| Some(json!(s))),
        "[-+ ]?[0-9]{0,21}[. e]?[0-9]?".prop_map(|s| Some(json!(s))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        prop_oneof![Just("true"), Just("false"), Just("TRUE"), Just("yes")]
            .prop_map(|s| Some(json!(s))),
        "(blue|red|ops|dev)[a-z ]{0,6}".prop_map(|s| Some(json!(s))),
        proptest::collection::vec("(ops|dev|blue)", 0..4).prop_map(|v| Some(json!(v))),
        proptest::collection::vec(prop_oneof![Just(json!("ops")), Just(json!(1))], 0..3)
            .prop_map(|v| Some(Value::Array(v))),
        Just(Some(json!(1.5))),
        Just(Some(Value::Null)),
        Just(Some(json!({"ops": true}))),
    ]
}

fn event(token: &str) -> Value {
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/x",
        "routeKey": "GET /x", "rawPath": "/x",
        "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"routeKey": "GET /x",
                           "http": {"method": "GET", "path": "/x", "sourceIp": "203.0.113.7"}},
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_decision_is_cedar_s_for_the_principal_built_by_hand(
        values in proptest::collection::vec(claim_value(), 5),
        user in 0u8..4,
    ) {
        let sub = format!("user-{user}");
        let mut claims = common::claims(&sub, &[]);
        let mut given = HashMap::new();
        for ((name, _, _), value) in DECLARED.iter().zip(values) {
            if let Some(v) = value {
                claims[*name] = v.clone();
                given.insert(*name, v);
            }
        }
        let token = common::key().sign_json(&claims).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let out = rt.block_on(authorizer().handle(event(&token).to_string().as_bytes()));
        let Outcome::Respond { allowed, .. } = out else {
            return Err(TestCaseError::fail(format!("not a decision: {out:?}")));
        };
        prop_assert_eq!(allowed, oracle(&sub, &given), "claims {:?}", given);
    }
}
