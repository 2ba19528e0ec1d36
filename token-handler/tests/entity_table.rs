//! `ENTITY_TABLE` on the DynamoDB emulator (moto_server, started by `scripts/test-all`):
//! the owner comes from the table, never from the caller, and a failing table fails closed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use axum::http::StatusCode;
use common::*;
use l42_token_handler::owners::{DynamoOwnerLookup, ENTITY_KEY, OWNER_ATTRIBUTE, OwnerLookup};
use l42_token_handler::{AppState, router};
use serde_json::json;

/// The emulator's client. Without the emulator the test fails (it never skips): run it
/// through `scripts/test-all`, which starts moto_server.
fn emulator() -> Client {
    l42_tests::dynamo::moto_client().unwrap()
}

async fn entity_table(client: &Client) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("l42-entities-{}-{nanos}", std::process::id());
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(ENTITY_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(ENTITY_KEY)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for (id, owner) in [
        ("bobs-doc", AttributeValue::S("bob".into())),
        ("alices-doc", AttributeValue::S("alice".into())),
        ("odd-doc", AttributeValue::N("5".into())),
    ] {
        client
            .put_item()
            .table_name(&name)
            .item(ENTITY_KEY, AttributeValue::S(id.into()))
            .item(OWNER_ATTRIBUTE, owner)
            .send()
            .await
            .unwrap();
    }
    name
}

#[tokio::test]
async fn owners_come_from_the_dynamodb_table() {
    let client = emulator();
    let table = entity_table(&client).await;
    let lookup = DynamoOwnerLookup::new(client.clone(), table.clone());
    assert_eq!(
        lookup.owner("bobs-doc").await.unwrap().as_deref(),
        Some("bob")
    );
    assert_eq!(lookup.owner("unknown").await.unwrap(), None);
    assert!(lookup.owner("odd-doc").await.is_err());

    let mut vars = base_vars();
    vars.push(("ENTITY_TABLE", "placeholder"));
    let app = router(
        AppState::builder(config_from(&vars).unwrap())
            .cedar(Some(Arc::clone(&ENGINE)))
            .identity(Arc::new(FixedIdentity(Some(user("alice", &["users"])))))
            .owner_lookup(Arc::new(lookup))
            .build(),
    );
    let write = |id: &str, claimed: &str| json!({"action": "write:own", "resource": {"id": id, "owner": claimed}});
    let a = post(&app, "/auth/authorize", &write("bobs-doc", "alice")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    let a = post(&app, "/auth/authorize", &write("alices-doc", "bob")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = post(&app, "/auth/authorize", &write("unknown", "bob")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = post(&app, "/auth/authorize", &write("odd-doc", "alice")).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);

    // A table that does not exist fails closed.
    let missing = DynamoOwnerLookup::new(client, format!("{table}-missing"));
    assert!(missing.owner("bobs-doc").await.is_err());
}
