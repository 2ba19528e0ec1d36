//! DynamoDB behaviour l42's session store relies on, checked against the real emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TimeToLiveStatus,
};
use l42_tests::dynamo::{SESSION_KEY, TTL_ATTRIBUTE, n, s};
use l42_tests::{Error, fresh_table};

#[tokio::test]
async fn fresh_tables_are_isolated() -> Result<(), Error> {
    let a = fresh_table().await?;
    let b = fresh_table().await?;
    assert_ne!(a.name(), b.name());

    a.client()
        .put_item()
        .table_name(a.name())
        .item(SESSION_KEY, s("only-in-a"))
        .send()
        .await
        .map_err(Error::dynamo("PutItem"))?;

    let in_b = b
        .client()
        .get_item()
        .table_name(b.name())
        .key(SESSION_KEY, s("only-in-a"))
        .send()
        .await
        .map_err(Error::dynamo("GetItem"))?;
    assert!(in_b.item().is_none());
    let scan_b = b
        .client()
        .scan()
        .table_name(b.name())
        .send()
        .await
        .map_err(Error::dynamo("Scan"))?;
    assert_eq!(scan_b.count(), 0);

    let in_a = a
        .client()
        .get_item()
        .table_name(a.name())
        .key(SESSION_KEY, s("only-in-a"))
        .send()
        .await
        .map_err(Error::dynamo("GetItem"))?;
    assert!(in_a.item().is_some());
    Ok(())
}

#[tokio::test]
async fn table_has_the_session_shape_and_ttl_on_ttl() -> Result<(), Error> {
    let t = fresh_table().await?;
    let ttl = t
        .client()
        .describe_time_to_live()
        .table_name(t.name())
        .send()
        .await
        .map_err(Error::dynamo("DescribeTimeToLive"))?;
    let desc = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(desc.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(desc.attribute_name(), Some(TTL_ATTRIBUTE));

    let table = t
        .client()
        .describe_table()
        .table_name(t.name())
        .send()
        .await
        .map_err(Error::dynamo("DescribeTable"))?;
    let table = table.table().expect("a table description");
    let keys = table.key_schema();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].attribute_name(), SESSION_KEY);
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );
    Ok(())
}

#[tokio::test]
async fn conditional_put_succeeds_once() -> Result<(), Error> {
    let t = fresh_table().await?;
    let put = || {
        t.client()
            .put_item()
            .table_name(t.name())
            .item(SESSION_KEY, s("sess-1"))
            .item("data", s("{}"))
            .condition_expression("attribute_not_exists(session_id)")
            .send()
    };
    put().await.map_err(Error::dynamo("PutItem"))?;
    let second = put()
        .await
        .expect_err("the second put must fail its condition");
    let service = second.into_service_error();
    assert!(
        service.is_conditional_check_failed_exception(),
        "unexpected error: {service:?}"
    );
    Ok(())
}

#[tokio::test]
async fn failed_version_update_returns_the_current_item() -> Result<(), Error> {
    let t = fresh_table().await?;
    t.client()
        .put_item()
        .table_name(t.name())
        .item(SESSION_KEY, s("sess-v"))
        .item("data", s("v1"))
        .item("version", n(1))
        .send()
        .await
        .map_err(Error::dynamo("PutItem"))?;

    // Writer A moves version 1 to 2.
    let update = |expected: u32, data: &str| {
        t.client()
            .update_item()
            .table_name(t.name())
            .key(SESSION_KEY, s("sess-v"))
            .update_expression("SET #d = :d, version = :next")
            .condition_expression("version = :expected")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":d", s(data))
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":next", n(expected + 1))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
    };
    update(1, "v2").await.map_err(Error::dynamo("UpdateItem"))?;

    // Writer B still believes version 1: it fails and learns the current item without a read.
    let err = update(1, "stale")
        .await
        .expect_err("a stale version must fail");
    let service = err.into_service_error();
    let aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
        ccf,
    ) = service
    else {
        panic!("expected ConditionalCheckFailed, got {service:?}");
    };
    let item = ccf.item().expect("ALL_OLD returns the current item");
    assert_eq!(item.get("version"), Some(&AttributeValue::N("2".into())));
    assert_eq!(item.get("data"), Some(&AttributeValue::S("v2".into())));
    assert_eq!(
        item.get(SESSION_KEY),
        Some(&AttributeValue::S("sess-v".into()))
    );
    Ok(())
}

#[tokio::test]
async fn expired_items_are_still_returned_by_reads() -> Result<(), Error> {
    let t = fresh_table().await?;
    let now = l42_core::unix_now();
    let past = now - 3600;
    t.client()
        .put_item()
        .table_name(t.name())
        .item(SESSION_KEY, s("sess-old"))
        .item(TTL_ATTRIBUTE, n(past))
        .send()
        .await
        .map_err(Error::dynamo("PutItem"))?;

    // TTL deletion is lazy (days on AWS, never on the emulator): a read must check expiry.
    let got = t
        .client()
        .get_item()
        .table_name(t.name())
        .key(SESSION_KEY, s("sess-old"))
        .consistent_read(true)
        .send()
        .await
        .map_err(Error::dynamo("GetItem"))?;
    let item = got.item().expect("an expired item is still returned");
    assert_eq!(
        item.get(TTL_ATTRIBUTE),
        Some(&AttributeValue::N(past.to_string()))
    );
    Ok(())
}
