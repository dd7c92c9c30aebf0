//! The Avro event log on its own: the schema does not change by accident, segments read
//! back, and damage is reported with the file and the offset, never skipped.

use parterre_core::events::Event;
use parterre_pipelines::log::{replay, schema, segment_name, EventLog, EventRecord};
use parterre_pipelines::PipelineError;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("parterre-log-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn record(seq: i64) -> EventRecord {
    EventRecord {
        seq,
        event_id: format!("00000000-0000-4000-8000-{seq:012}"),
        occurred_at: "2026-10-01T18:00:00.000000Z".into(),
        actor: "guichet".into(),
        actor_id: Some(3),
        schema_version: 1,
        event: Event::TicketIssued {
            ticket_id: seq,
            order_id: 1,
            number: format!("S01-{seq:06}"),
            performance_id: 2,
            seat_id: Some(seq),
            price_category_id: Some(1),
            product_id: None,
            promo_code_id: None,
            amount_cents: 2800,
            vat_rate_bp: 550,
            channel: parterre_core::sales::Channel::Counter,
            state: parterre_core::seating::PlaceState::Sold,
            family: None,
            spectator_named: None,
        },
    }
}

fn all(dir: &std::path::Path) -> Result<Vec<i64>, PipelineError> {
    let ck = EventLog::read_checkpoint(dir)?;
    let mut seqs = Vec::new();
    replay(dir, &ck, 0, |r| {
        seqs.push(r.seq);
        Ok(())
    })?;
    Ok(seqs)
}

#[test]
fn the_event_schema_matches_the_golden_file() {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/event_record.avsc");
    let current = serde_json::to_string_pretty(&schema()).unwrap() + "\n";
    if std::env::var_os("PARTERRE_BLESS").is_some() {
        std::fs::write(&golden, &current).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert!(
        current == expected,
        "the Avro schema of the event log changed: old segments must stay readable. Add only \
         optional fields or new variants, bump SCHEMA_VERSION, then run with PARTERRE_BLESS=1"
    );
}

#[test]
fn batches_read_back_in_order_and_a_torn_write_is_cut_off() {
    let dir = scratch("torn");
    let mut log = EventLog::open(&dir).unwrap();
    log.append(&(1..=3).map(record).collect::<Vec<_>>()).unwrap();
    log.append(&(4..=5).map(record).collect::<Vec<_>>()).unwrap();
    assert!(log.append(&[record(5)]).is_err(), "a seq already logged is refused");
    drop(log);
    assert_eq!(all(&dir).unwrap(), vec![1, 2, 3, 4, 5]);
    // A batch written but never checkpointed (a crash): garbage past the recorded length.
    let seg = dir.join(segment_name(1));
    let mut bytes = std::fs::read(&seg).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[7u8; 300]);
    std::fs::write(&seg, &bytes).unwrap();
    let mut log = EventLog::open(&dir).unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len() as usize, good, "cut back to the checkpoint");
    log.append(&[record(6)]).unwrap();
    drop(log);
    assert_eq!(all(&dir).unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_or_damaged_segment_is_named_with_its_offset() {
    let dir = scratch("damaged");
    let mut log = EventLog::open(&dir).unwrap();
    for b in 0..4 {
        log.append(&((b * 10 + 1)..=(b * 10 + 10)).map(record).collect::<Vec<_>>()).unwrap();
    }
    drop(log);
    let seg = dir.join(segment_name(1));
    let bytes = std::fs::read(&seg).unwrap();

    // Truncated below the checkpoint: the drain refuses to start and says where.
    std::fs::write(&seg, &bytes[..bytes.len() - 40]).unwrap();
    match EventLog::open(&dir) {
        Err(PipelineError::Corrupt { file, offset, .. }) => {
            assert!(file.ends_with("segment-000001.avro"), "{file}");
            assert_eq!(offset as usize, bytes.len() - 40);
        }
        other => panic!("expected a corrupt segment, got {other:?}"),
    }
    assert!(all(&dir).is_err(), "replay refuses a truncated segment too");

    // A damaged byte in the third block: events before it are delivered, none after, and
    // the error names the file and the block's offset.
    let mut damaged = bytes.clone();
    let third = damaged.len() * 5 / 8;
    for b in &mut damaged[third..third + 8] {
        *b ^= 0xFF;
    }
    std::fs::write(&seg, &damaged).unwrap();
    let ck = EventLog::read_checkpoint(&dir).unwrap();
    let mut seen = Vec::new();
    let err = replay(&dir, &ck, 0, |r| {
        seen.push(r.seq);
        Ok(())
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("segment-000001.avro") && text.contains("octet"), "{text}");
    assert!(seen.len() < 40 && seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Drops the fields a v1 record did not have from a value of the current schema.
fn as_v1(v: apache_avro::types::Value) -> apache_avro::types::Value {
    use apache_avro::types::Value;
    match v {
        Value::Record(fields) => Value::Record(
            fields
                .into_iter()
                .filter(|(name, _)| name != "postal_code" && name != "city")
                .map(|(n, v)| (n, as_v1(v)))
                .collect(),
        ),
        Value::Union(i, inner) => Value::Union(i, Box::new(as_v1(*inner))),
        other => other,
    }
}

/// Writes `values` as segment 1 of `dir` with the golden schema `version` (`v1`, `v3`…) and
/// reads them back with the current one.
fn write_and_read_back(dir: &std::path::Path, version: &str, values: Vec<apache_avro::types::Value>) -> Vec<EventRecord> {
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/event_record.{version}.avsc"));
    let schema = apache_avro::Schema::parse_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
    let path = dir.join(segment_name(1));
    let mut w = apache_avro::Writer::with_codec(&schema, std::fs::File::create(&path).unwrap(), apache_avro::Codec::Snappy).unwrap();
    let n = values.len();
    for v in values {
        w.append_value(v).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let ck = parterre_pipelines::log::Checkpoint {
        segment: 1,
        length: std::fs::metadata(&path).unwrap().len(),
        last_seq: n as i64,
        events: n as u64,
        ..Default::default()
    };
    std::fs::write(dir.join("drain.json"), serde_json::to_vec(&ck).unwrap()).unwrap();
    let mut back = Vec::new();
    replay(dir, &ck, 0, |r| {
        back.push(r);
        Ok(())
    })
    .unwrap();
    back
}

#[test]
fn segments_written_with_the_first_schema_still_read() {
    let dir = scratch("v1");
    let mut contact = record(1);
    contact.event = Event::ContactCreated {
        contact_id: 7,
        postal_code: None,
        city: None,
    };
    let records = vec![contact, record(2)];
    let back = write_and_read_back(
        &dir,
        "v1",
        records.iter().map(|r| as_v1(apache_avro::to_value(r).unwrap())).collect(),
    );
    assert_eq!(back, records, "v1 events read with the current schema, new fields empty");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A record as schema 2 wrote it: the fields schema 3 dropped (the login of a new user, the
/// text of a promo code, the id of a token) put back where schema 2 had them.
fn as_v2(r: &EventRecord, kinds: &[String]) -> apache_avro::types::Value {
    use apache_avro::types::Value;
    let mut v = apache_avro::to_value(r).unwrap();
    let dropped: Option<(usize, &str, Value)> = match r.event {
        Event::UserCreated { .. } => Some((1, "login", Value::String("marie.dupont".into()))),
        Event::PromoCodeCreated { .. } => Some((1, "code", Value::String("SESAME-SECRET".into()))),
        Event::ApiTokenCreated { .. } => Some((0, "token_id", Value::Long(77))),
        _ => None,
    };
    let Value::Record(fields) = &mut v else { panic!("a record") };
    let (_, Value::Record(event)) = fields.iter_mut().find(|(n, _)| n == "event").unwrap() else {
        panic!("event")
    };
    let kind = kinds.iter().position(|k| k == r.event.kind()).unwrap() as u32;
    let (_, data) = event.iter_mut().find(|(n, _)| n == "data").unwrap();
    let mut inner = match std::mem::replace(data, Value::Null) {
        Value::Union(_, b) => *b,
        other => other,
    };
    if let (Some((at, name, value)), Value::Record(data_fields)) = (dropped, &mut inner) {
        data_fields.insert(at, (name.into(), value));
    }
    // Fields schema 4 added were not there.
    if let Value::Record(data_fields) = &mut inner {
        data_fields.retain(|(n, _)| n != "family" && n != "spectator_named");
    }
    // The branch of the variant's own record (the log's writer picks it by name; a bare value
    // would go to the first record whose fields it covers).
    *data = Value::Union(kind, Box::new(inner));
    v
}

#[test]
fn segments_written_with_schema_2_still_read_and_their_dropped_fields_are_not() {
    let dir = scratch("v2");
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/event_record.v2.avsc");
    let text = std::fs::read_to_string(golden).unwrap();
    let v2 = apache_avro::Schema::parse_str(&text).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let field = |v: &serde_json::Value, name: &str| v["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
    let kinds: Vec<String> = field(&field(&json, "event")["type"], "type")["type"]["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let with = |seq: i64, event: Event| EventRecord {
        event,
        schema_version: 2,
        ..record(seq)
    };
    let records = vec![
        with(1, Event::UserCreated { user_id: 4 }),
        with(2, Event::UserUpdated { user_id: 4, active: false }),
        with(
            3,
            Event::UserRolesSet {
                user_id: 4,
                role_ids: vec![1, 2],
            },
        ),
        with(4, Event::ApiTokenCreated { user_id: 4 }),
        with(
            5,
            Event::PromoCodeCreated {
                promo_code_id: 9,
                batch: Some("lot-0a1b2c3d".into()),
            },
        ),
        with(
            6,
            Event::PromoCodeApplied {
                cart_id: 3,
                promo_code_id: 9,
            },
        ),
        with(7, Event::OrderCancelled { order_id: 8 }),
        record(8),
    ];
    let path = dir.join(segment_name(1));
    let mut w = apache_avro::Writer::with_codec(&v2, std::fs::File::create(&path).unwrap(), apache_avro::Codec::Snappy).unwrap();
    for r in &records {
        w.append_value(as_v2(r, &kinds)).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let bytes = std::fs::read(&path).unwrap();
    let ck = parterre_pipelines::log::Checkpoint {
        segment: 1,
        length: bytes.len() as u64,
        last_seq: 8,
        events: 8,
        ..Default::default()
    };
    let mut back = Vec::new();
    let read = replay(&dir, &ck, 0, |r| {
        back.push(r);
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    read.unwrap();
    let kinds: Vec<&str> = back.iter().map(|r| r.event.kind()).collect();
    assert_eq!(
        kinds,
        [
            "user_created",
            "user_updated",
            "user_roles_set",
            "api_token_created",
            "promo_code_created",
            "promo_code_applied",
            "order_cancelled",
            "ticket_issued"
        ],
        "each event read as its own kind, none taken for a smaller look-alike"
    );
    assert_eq!(back, records, "v2 events read with the current types, the dropped fields gone");
}

/// A record as schema 3 wrote it: `TicketIssued` without `family` and `spectator_named`.
fn as_v3(r: &EventRecord) -> apache_avro::types::Value {
    use apache_avro::types::Value;
    let mut v = apache_avro::to_value(r).unwrap();
    let Value::Record(fields) = &mut v else { panic!("a record") };
    let (_, Value::Record(event)) = fields.iter_mut().find(|(n, _)| n == "event").unwrap() else {
        panic!("event")
    };
    let (_, data) = event.iter_mut().find(|(n, _)| n == "data").unwrap();
    let inner = match data {
        Value::Union(_, b) => b.as_mut(),
        other => other,
    };
    if let Value::Record(data_fields) = inner {
        data_fields.retain(|(n, _)| n != "family" && n != "spectator_named");
    }
    v
}

#[test]
fn segments_written_with_schema_3_still_read_and_say_nothing_of_quota_or_spectator() {
    let dir = scratch("v3");
    let records = vec![record(1), record(2)];
    let back = write_and_read_back(&dir, "v3", records.iter().map(as_v3).collect());
    assert_eq!(
        back, records,
        "v3 tickets read with the current schema, family and spectator unknown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
