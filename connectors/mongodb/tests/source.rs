//! The MongoDB source against SecantusDB: the snapshot and every kind of streamed change,
//! each event compared with JSON written by hand from Debezium's documentation of its
//! MongoDB connector (schema names, field order, `after` / `before` as strict Extended JSON
//! strings, `updateDescription`, the `source` block, keys and tombstones); resuming from a
//! stored resume token; the guided error when the token's history is gone.

mod common;

use common::*;
use mongodb::bson::{doc, oid::ObjectId, Document};
use serde_json::{json, Value as Json};
use sluice_core::plugin::SourceTask;
use sluice_core::record::OffsetMap;
use sluice_testkit::SecantusDb;

fn source(snapshot: &str, coll: &str) -> Json {
    json!({
        "version": sluice_core::VERSION, "connector": "mongodb", "name": "fulfillment",
        "ts_ms": 0, "snapshot": snapshot, "db": "inventory", "sequence": null, "ts_us": 0, "ts_ns": 0,
        "rs": "secantus", "collection": coll, "ord": 0, "lsid": null, "txnNumber": null,
        "wallTime": if snapshot == "false" { json!(0) } else { Json::Null },
    })
}

fn event(op: &str, before: Json, after: Json, update: Json, src: Json) -> Json {
    json!({"before": before, "after": after, "updateDescription": update, "source": src,
           "op": op, "ts_ms": 0, "ts_us": 0, "ts_ns": 0, "transaction": null})
}

fn key_json(id: &str) -> Json {
    json!({
        "schema": {"type": "struct", "optional": false, "name": "fulfillment.inventory.customers.Key",
                   "fields": [{"type": "string", "optional": false, "field": "id"}]},
        "payload": {"id": id},
    })
}

/// The value schema Debezium documents for a collection (without the oplog-era fields).
fn envelope_schema() -> Json {
    let json_field = |f: &str| json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": f});
    let f = |ty: &str, name: &str, optional: bool| json!({"type": ty, "optional": optional, "field": name});
    json!({
        "type": "struct", "optional": false, "name": "fulfillment.inventory.customers.Envelope",
        "fields": [
            json_field("before"),
            json_field("after"),
            {"type": "struct", "optional": true, "name": "io.debezium.connector.mongodb.changestream.updatedescription",
             "version": 1, "field": "updateDescription", "fields": [
                {"type": "array", "items": {"type": "string", "optional": false}, "optional": true, "field": "removedFields"},
                json_field("updatedFields"),
                {"type": "array", "optional": true, "field": "truncatedArrays",
                 "items": {"type": "struct", "optional": false, "name": "io.debezium.connector.mongodb.changestream.truncatedarray",
                           "version": 1, "fields": [f("string", "field", false), f("int32", "size", false)]}},
            ]},
            {"type": "struct", "optional": false, "name": "io.debezium.connector.mongo.Source", "field": "source", "fields": [
                f("string", "version", false), f("string", "connector", false), f("string", "name", false),
                f("int64", "ts_ms", false),
                {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
                 "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
                 "default": "false", "field": "snapshot"},
                f("string", "db", false), f("string", "sequence", true), f("int64", "ts_us", true), f("int64", "ts_ns", true),
                f("string", "rs", false), f("string", "collection", false), f("int32", "ord", false),
                f("string", "lsid", true), f("int64", "txnNumber", true), f("int64", "wallTime", true),
            ]},
            f("string", "op", true), f("int64", "ts_ms", true), f("int64", "ts_us", true), f("int64", "ts_ns", true),
            {"type": "struct", "optional": true, "name": "event.block", "version": 1, "field": "transaction", "fields": [
                f("string", "id", false), f("int64", "total_order", false), f("int64", "data_collection_order", false),
            ]},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_every_change_as_debezium_writes_it() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let customers = c.database("inventory").collection::<Document>("customers");
    let oid = ObjectId::parse_str("596e275826f08b2730779e1f").expect("hex");
    customers
        .insert_many([
            doc! {"_id": 1001_i64, "first_name": "Sally", "last_name": "Thomas", "email": "sally.thomas@acme.com"},
            doc! {"_id": oid, "first_name": "George", "tags": [1, 2], "score": 1.5},
        ])
        .await
        .expect("insert");
    // Not captured: another database.
    c.database("other")
        .collection::<Document>("x")
        .insert_one(doc! {"_id": 1})
        .await
        .expect("insert");

    let mut task = start(&config(&db, &[]), None).await.expect("start");
    let snap = poll_n(&mut task, 2, 30).await;
    assert_eq!(snap.len(), 2);
    let (k0, v0) = render(&snap[0]);
    assert_eq!(k0, key_json("1001"));
    assert_eq!(v0["schema"], envelope_schema());
    assert_eq!(snap[0].record.topic, "fulfillment.inventory.customers");
    assert_eq!(
        payload(&v0),
        event(
            "r",
            Json::Null,
            json!(
                r#"{"_id": {"$numberLong": "1001"},"first_name": "Sally","last_name": "Thomas","email": "sally.thomas@acme.com"}"#
            ),
            Json::Null,
            source("first", "customers")
        )
    );
    let (k1, v1) = render(&snap[1]);
    assert_eq!(k1, key_json(r#"{"$oid": "596e275826f08b2730779e1f"}"#));
    assert_eq!(
        payload(&v1),
        event(
            "r",
            Json::Null,
            json!(
                r#"{"_id": {"$oid": "596e275826f08b2730779e1f"},"first_name": "George","tags": [1,2],"score": 1.5}"#
            ),
            Json::Null,
            source("last", "customers")
        )
    );
    let o0 = snap[0].source_offset.to_map();
    assert_eq!(o0["initsync"], json!(true), "{o0:?}");
    let o1 = snap[1].source_offset.to_map();
    assert!(
        o1.get("initsync").is_none() && o1["resume_token"].is_string(),
        "the last snapshot record's offset streams: {o1:?}"
    );

    // Streaming: insert, update ($set + $unset), replace, delete, and a transaction.
    customers
        .insert_one(doc! {"_id": 1002_i64, "first_name": "Anne", "tags": ["a"]})
        .await
        .expect("insert");
    customers
        .update_one(
            doc! {"_id": 1002_i64},
            doc! {"$set": {"first_name": "Anne Marie", "n": 7_i64}, "$unset": {"tags": ""}},
        )
        .await
        .expect("update");
    customers
        .replace_one(doc! {"_id": 1002_i64}, doc! {"first_name": "Anne", "v": 2})
        .await
        .expect("replace");
    customers
        .delete_one(doc! {"_id": 1002_i64})
        .await
        .expect("delete");
    let streamed = poll_n(&mut task, 5, 30).await;
    let rendered: Vec<(Json, Json)> = streamed.iter().map(render).collect();
    for (k, _) in &rendered {
        assert_eq!(*k, key_json("1002"));
    }
    let stream_src = source("false", "customers");
    assert_eq!(
        payload(&rendered[0].1),
        event(
            "c",
            Json::Null,
            json!(r#"{"_id": {"$numberLong": "1002"},"first_name": "Anne","tags": ["a"]}"#),
            Json::Null,
            stream_src.clone()
        )
    );
    // change_streams_update_full: the looked-up document (already replaced, then deleted by
    // the time of the lookup, so null here — as MongoDB and Debezium document) plus the delta.
    assert_eq!(
        payload(&rendered[1].1),
        event(
            "u",
            Json::Null,
            rendered[1].1["payload"]["after"].clone(),
            json!({"removedFields": ["tags"], "updatedFields": r#"{"first_name": "Anne Marie", "n": 7}"#, "truncatedArrays": null}),
            stream_src.clone()
        )
    );
    assert_eq!(
        payload(&rendered[2].1),
        event(
            "u",
            Json::Null,
            json!(r#"{"_id": {"$numberLong": "1002"},"first_name": "Anne","v": 2}"#),
            Json::Null,
            stream_src.clone()
        )
    );
    assert_eq!(
        payload(&rendered[3].1),
        event("d", Json::Null, Json::Null, Json::Null, stream_src.clone())
    );
    assert_eq!(rendered[4].1, Json::Null, "a tombstone follows the delete");
    assert_eq!(streamed[4].record.key, streamed[3].record.key);
    for r in &streamed {
        let o = r.source_offset.to_map();
        assert!(
            o["resume_token"].is_string() && o["sec"].as_u64().is_some_and(|s| s > 0),
            "{o:?}"
        );
    }
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_after_the_stored_token_with_nothing_lost_or_repeated() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let coll = c.database("inventory").collection::<Document>("customers");
    coll.insert_one(doc! {"_id": 1}).await.expect("insert");
    let cfg = config(&db, &[]);
    let mut task = start(&cfg, None).await.expect("start");
    let snap = poll_n(&mut task, 1, 30).await;
    assert_eq!(snap.len(), 1);
    for i in 2..=4 {
        coll.insert_one(doc! {"_id": i}).await.expect("insert");
    }
    let first = poll_n(&mut task, 3, 30).await;
    task.stop().await.expect("stop");
    drop(task);
    // The runtime commits the last acknowledged record's offset.
    let stored: OffsetMap = first.last().expect("records").source_offset.to_map();
    // Written while the connector is down.
    for i in 5..=7 {
        coll.insert_one(doc! {"_id": i}).await.expect("insert");
    }
    coll.delete_one(doc! {"_id": 2}).await.expect("delete");
    let mut task = start(&cfg, Some(stored)).await.expect("restart");
    let resumed = poll_n(&mut task, 5, 30).await;
    let ids: Vec<(String, String)> = resumed
        .iter()
        .map(|r| {
            let (k, v) = render(r);
            (
                k["payload"]["id"].as_str().unwrap_or("").to_owned(),
                v["payload"]["op"]
                    .as_str()
                    .unwrap_or("tombstone")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("5", "c"),
            ("6", "c"),
            ("7", "c"),
            ("2", "d"),
            ("2", "tombstone")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let extra = poll_for(&mut task, 1).await;
    assert!(
        extra.is_empty(),
        "nothing repeated: {:?}",
        extra.iter().map(render).collect::<Vec<_>>()
    );
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_history_fails_with_the_token_and_the_two_ways_out() {
    init_logging();
    let db = SecantusDb::start_with_config("[oplog]\nmax_entries = 20\n");
    let c = client(&db).await;
    let coll = c.database("inventory").collection::<Document>("customers");
    let cfg = config(&db, &[("snapshot.mode", "no_data")]);
    let mut task = start(&cfg, None).await.expect("start");
    coll.insert_one(doc! {"_id": 0}).await.expect("insert");
    let first = poll_n(&mut task, 1, 30).await;
    task.stop().await.expect("stop");
    let stored = first[0].source_offset.to_map();
    let token = stored["resume_token"].as_str().expect("token").to_owned();
    for i in 1..=50 {
        coll.insert_one(doc! {"_id": i}).await.expect("insert");
    }
    // SecantusDB prunes every 1000 writes; its admin command prunes now (max_entries = 20).
    let pruned = c
        .database("admin")
        .run_command(doc! {"secantusAdmin.pruneOplog": 1})
        .await
        .expect("pruneOplog");
    assert!(
        pruned
            .get_i32("pruned")
            .map(i64::from)
            .or_else(|_| pruned.get_i64("pruned"))
            .unwrap_or(0)
            > 0,
        "{pruned}"
    );
    let err = match start(&cfg, Some(stored.clone())).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("resuming from a pruned token must fail"),
    };
    assert!(err.contains(&token), "names the token: {err}");
    assert!(
        err.contains("snapshot.mode=when_needed") && err.contains("/offsets"),
        "names both ways out: {err}"
    );
    assert!(
        err.contains("286") || err.contains("HistoryLost") || err.contains("no longer"),
        "{err}"
    );

    // snapshot.mode=when_needed takes a new snapshot instead.
    let cfg = config(&db, &[("snapshot.mode", "when_needed")]);
    let mut task = start(&cfg, Some(stored)).await.expect("when_needed starts");
    let snap = poll_n(&mut task, 51, 60).await;
    assert!(snap.iter().all(|r| render(r).1["payload"]["op"] == "r"));
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_images_fill_before() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let inv = c.database("inventory");
    inv.run_command(
        doc! {"create": "customers", "changeStreamPreAndPostImages": {"enabled": true}},
    )
    .await
    .expect("create with pre-images");
    let coll = inv.collection::<Document>("customers");
    let cfg = config(
        &db,
        &[
            ("capture.mode", "change_streams_with_pre_image"),
            ("snapshot.mode", "no_data"),
            ("tombstones.on.delete", "false"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");
    coll.insert_one(doc! {"_id": 1, "v": 1})
        .await
        .expect("insert");
    coll.update_one(doc! {"_id": 1}, doc! {"$set": {"v": 2}})
        .await
        .expect("update");
    coll.delete_one(doc! {"_id": 1}).await.expect("delete");
    let got: Vec<Json> = poll_n(&mut task, 3, 30)
        .await
        .iter()
        .map(|r| payload(&render(r).1))
        .collect();
    let src = source("false", "customers");
    assert_eq!(
        got[0],
        event(
            "c",
            Json::Null,
            json!(r#"{"_id": 1,"v": 1}"#),
            Json::Null,
            src.clone()
        )
    );
    assert_eq!(
        got[1],
        event(
            "u",
            json!(r#"{"_id": 1,"v": 1}"#),
            Json::Null,
            json!({"removedFields": null, "updatedFields": r#"{"v": 2}"#, "truncatedArrays": null}),
            src.clone()
        )
    );
    assert_eq!(
        got[2],
        event(
            "d",
            json!(r#"{"_id": 1,"v": 2}"#),
            Json::Null,
            Json::Null,
            src
        )
    );
    task.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_stream_heartbeats_carry_the_latest_resume_token() {
    init_logging();
    let db = SecantusDb::start();
    let c = client(&db).await;
    let coll = c.database("inventory").collection::<Document>("customers");
    let cfg = config(
        &db,
        &[
            ("snapshot.mode", "no_data"),
            ("heartbeat.interval.ms", "300"),
        ],
    );
    let mut task = start(&cfg, None).await.expect("start");
    coll.insert_one(doc! {"_id": 1}).await.expect("insert");
    // Writes to a collection that is not captured still move the stream's position.
    c.database("other")
        .collection::<Document>("x")
        .insert_one(doc! {"_id": 1})
        .await
        .expect("insert");
    let got = poll_n(&mut task, 3, 30).await;
    assert_eq!(got[0].record.topic, "fulfillment.inventory.customers");
    let beats: Vec<_> = got
        .iter()
        .filter(|r| r.record.topic == "__debezium-heartbeat.fulfillment")
        .collect();
    assert!(
        !beats.is_empty(),
        "{:?}",
        got.iter().map(|r| &r.record.topic).collect::<Vec<_>>()
    );
    let (k, v) = render(beats[0]);
    assert_eq!(k["payload"], json!({"serverName": "fulfillment"}));
    assert!(v["payload"]["ts_ms"].as_i64().is_some_and(|t| t > 0), "{v}");
    let o = beats.last().expect("beat").source_offset.to_map();
    assert!(o["resume_token"].is_string(), "{o:?}");
    // Resuming from a heartbeat's offset repeats nothing.
    task.stop().await.expect("stop");
    let mut task = start(&cfg, Some(o)).await.expect("restart");
    coll.insert_one(doc! {"_id": 2}).await.expect("insert");
    let next = poll_n(&mut task, 1, 30).await;
    let first_change = next
        .iter()
        .find(|r| r.record.topic.ends_with("customers"))
        .map(render);
    assert_eq!(
        first_change.map(|(k, _)| k["payload"]["id"].clone()),
        Some(json!("2"))
    );
    task.stop().await.expect("stop");
}
