//! Opening the till database: fresh, reopened, corrupt, foreign and newer files.

use kasse::store::{SCHEMA_VERSION, Store, StoreError};
use rusqlite::Connection;

#[test]
fn creates_a_wal_database_and_reopening_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mode: String = store
        .conn()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = store
        .conn()
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let install_id = store.install_id().unwrap();
    let schema = |s: &Store| -> Vec<String> {
        let mut stmt = s
            .conn()
            .prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = schema(&store);
    store
        .append_journal(
            kasse::store::kind::ITEM_ADDED,
            &serde_json::json!({"kept": true}),
        )
        .unwrap();
    drop(store);

    // Opening again (migrating an already migrated file) changes nothing.
    let again = Store::open(&path).unwrap();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(schema(&again), before);
    assert_eq!(again.install_id().unwrap(), install_id);
    assert_eq!(again.verify_journal().unwrap().rows, 1);
    drop(again);
    let third = Store::open(&path).unwrap();
    assert_eq!(schema(&third), before);
}

#[test]
fn garbage_file_is_reported_by_name_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("backup"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "file untouched");
}

#[test]
fn damaged_pages_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    {
        let store = Store::open(&path).unwrap();
        for i in 0..200 {
            store
                .append_journal(
                    kasse::store::kind::ITEM_ADDED,
                    &serde_json::json!({ "i": i, "pad": "x".repeat(200) }),
                )
                .unwrap();
        }
        // Fold the WAL into the main file so the damage below hits real pages.
        store
            .conn()
            .pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 16 * 4096);
    // Keep the 100-byte header valid; smash the middle of the file.
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle - 8192..middle + 8192] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn newer_schema_version_is_refused_without_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    drop(Store::open(&path).unwrap());
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    match &err {
        StoreError::NewerVersion {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 5);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected NewerVersion, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("Update Kasse"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "file untouched");
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 5);
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::NotKasse { found: 0, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("other.sqlite"));
}

#[test]
fn unreadable_location_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("till.sqlite");
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("missing-dir"));
}

/// A database written by the build before the one payment model (schema 3: three completed,
/// declined, refunded and cancelled sales through the real engine) opens after migration 4
/// with every sale, attempt, operation, check-in, event and journal row intact.
#[test]
fn a_schema_3_database_is_carried_forward_intact() {
    use kasse::core::payment::{AttemptStatus, Decision, OpKind, OpStatus};
    use kasse::store::attempts as pay;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/fixtures/till-schema3.sqlite"
    );
    std::fs::copy(fixture, &path).unwrap();
    let (before_head, install_id) = {
        let c = Connection::open(&path).unwrap();
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3, "the fixture is a schema 3 database");
        let head: (i64, String) = c
            .query_row("SELECT seq, hash FROM journal_head", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let install: String = c
            .query_row("SELECT value FROM meta WHERE key = 'install_id'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (head, install)
    };

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let c = store.conn();
    let count = |table: &str| -> i64 {
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count("sale"), 3);
    assert_eq!(count("payment_attempt"), 4);
    assert_eq!(count("payment_operation"), 8);
    assert_eq!(count("checkin"), 4);
    assert_eq!(count("payment_event"), 6);
    assert_eq!(count("journal"), before_head.0);
    for gone in [
        "engine_attempts",
        "engine_operations",
        "engine_checkins",
        "engine_payment_events",
        "engine_meta",
        "refund",
    ] {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
                [gone],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 0, "{gone} is gone");
    }
    // engine_meta folded into meta; the install id (part of every reference) kept.
    assert_eq!(store.install_id().unwrap(), install_id);
    assert!(pay::relay_cursor(c).unwrap().is_some());
    assert!(pay::meta_get(c, pay::META_QR_CONTENT).unwrap().is_some());

    let attempts: Vec<_> = (1..=3)
        .flat_map(|sale| pay::attempts_of_sale(c, sale).unwrap())
        .collect();
    let summary: Vec<_> = attempts
        .iter()
        .map(|a| (a.status, a.decision, a.captured_amount, a.refunded_amount))
        .collect();
    assert_eq!(
        summary,
        [
            (
                AttemptStatus::Completed,
                Some(Decision::Capture),
                12_900,
                2_000
            ),
            (AttemptStatus::Declined, None, 0, 0),
            (AttemptStatus::Completed, Some(Decision::Capture), 12_900, 0),
            (AttemptStatus::Cancelled, Some(Decision::Cancel), 0, 0),
        ]
    );
    for a in &attempts {
        assert!(a.reference.contains(&install_id), "{}", a.reference);
        assert!(a.resolved);
    }
    let ops = pay::operations_of_attempt(c, attempts[0].id).unwrap();
    let kinds: Vec<_> = ops.iter().map(|o| (o.kind, o.status)).collect();
    assert_eq!(
        kinds,
        [
            (OpKind::Create, OpStatus::Succeeded),
            (OpKind::Capture, OpStatus::Succeeded),
            (OpKind::Refund, OpStatus::Succeeded),
        ]
    );
    assert_eq!(
        ops[1].idempotency_key,
        format!("{}-capture-1", attempts[0].reference)
    );
    assert!(pay::attempts_needing_reconcile(c).unwrap().is_empty());
    // The history reads the one model: references and refunds.
    let all = store.sales_between(0, i64::MAX).unwrap();
    assert_eq!(all.len(), 3);
    let first = all.iter().find(|s| s.id == 1).unwrap();
    assert_eq!(
        first.reference.as_deref(),
        Some(attempts[0].reference.as_str())
    );
    assert_eq!((first.refunded, first.attempts), (2_000, 1));
    // The hash chain is untouched and still verifies.
    let report = store.verify_journal().unwrap();
    assert_eq!(
        (report.head_seq, report.head_hash.as_str()),
        (before_head.0, before_head.1.as_str())
    );
    // The tables are STRICT now: a wrong type is refused.
    assert!(
        c.execute(
            "UPDATE payment_attempt SET amount = 'lots' WHERE id = 1",
            []
        )
        .is_err()
    );
}

/// Schema 6 rebuilds `signed_transaction` (for returns paid back at the till): every signed
/// row of a schema 5 database is carried over unchanged, and the table stays append-only.
#[test]
fn signed_transactions_survive_the_schema_6_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    let mut conn = Connection::open(&path).unwrap();
    let v5: Vec<_> = kasse::store::MIGRATIONS[..5]
        .iter()
        .map(|(_, sql)| rusqlite_migration::M::up(sql))
        .collect();
    rusqlite_migration::Migrations::new(v5)
        .to_latest(&mut conn)
        .unwrap();
    conn.execute_batch(
        "INSERT INTO sale (id, currency, state, total, excluding_tax, tax, discount, basket_json,
                           receipt_json, created_ms, updated_ms)
         VALUES (1, 'NOK', 'completed', 12900, 10529, 2371, 0, '{}', '{}', 1, 2);
         INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, trans_code,
                              payment_code, hash_version)
         VALUES (1, 2, 'sale_signed', '{}', (SELECT hash FROM journal_head), 'aa', 11001, 12011,
                 2);
         INSERT INTO signing_key (key_version, scheme, public_key_pem, test_key, first_used_ms)
         VALUES ('K1', 'NO-RSA-SHA1', 'PEM', 1, 2);
         INSERT INTO signed_transaction (register_id, nr, trans_id, trans_type, sale_id, emp_id,
             trans_date, trans_time, amount_in, amount_ex, currency, company_ident, key_version,
             signature, journal_seq, signed_ms)
         VALUES ('demo1', 1, '1', 11001, 1, '0', '2026-11-30', '08:00:00', 12900, 10529, 'NOK',
                 '999999999', 'K1', 'c2lnbmF0dXJl', 1, 2);",
    )
    .unwrap();
    let before: String = conn
        .query_row(
            "SELECT json_array(register_id, nr, trans_id, trans_type, sale_id, refund_op_id,
                    emp_id, trans_date, trans_time, amount_in, amount_ex, currency,
                    company_ident, key_version, signature, journal_seq, signed_ms)
             FROM signed_transaction",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let after: String = store
        .conn()
        .query_row(
            "SELECT json_array(register_id, nr, trans_id, trans_type, sale_id, refund_op_id,
                    emp_id, trans_date, trans_time, amount_in, amount_ex, currency,
                    company_ident, key_version, signature, journal_seq, signed_ms)
             FROM signed_transaction",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(before, after);
    let t = store.signed_sale(1).unwrap().unwrap();
    assert_eq!((t.nr, t.return_id), (1, None));
    for sql in [
        "UPDATE signed_transaction SET amount_in = 1",
        "DELETE FROM signed_transaction",
    ] {
        let e = store.conn().execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // The chain continues in order only.
    let e = store
        .conn()
        .execute(
            "INSERT INTO signed_transaction (register_id, nr, trans_id, trans_type, sale_id,
                 emp_id, trans_date, trans_time, amount_in, amount_ex, currency, company_ident,
                 key_version, signature, journal_seq, signed_ms)
             VALUES ('demo1', 3, '3', 11001, 1, '0', 'd', 't', 1, 1, 'NOK', 'x', 'K1', 's', 1, 2)",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("in order"), "{e}");
    // A completed sale of the old schema is in the first period, paid by Vipps.
    let period: Option<i64> = store
        .conn()
        .query_row("SELECT period FROM sale WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(period, Some(1));
}
