//! The journal detects rows edited, deleted from the middle or cut off the end
//! with raw SQL, even with the protective triggers dropped.

use kasse::store::{JournalError, JournalReport, Store};
use rusqlite::Connection;
use serde_json::json;

/// A file database with five journal rows; returns its path holder and path.
fn journal_with_rows() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.sqlite");
    let store = Store::open(&path).unwrap();
    for (i, kind) in [
        "item_added",
        "item_added",
        "sale_frozen",
        "payment_requested",
        "payment_captured",
    ]
    .iter()
    .enumerate()
    {
        store
            .append_journal(kind, &json!({ "sale_id": 1, "n": i, "amount": 4990 }))
            .unwrap();
    }
    let report = store.verify_journal().unwrap();
    assert_eq!((report.rows, report.head_seq), (5, 5));
    (dir, path, report.head_hash)
}

/// Raw access as an attacker would have it: triggers dropped.
fn tamper(path: &std::path::Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_no_update; DROP TRIGGER journal_no_delete;
         DROP TRIGGER journal_head_forward; DROP TRIGGER journal_head_no_delete;
         DROP TRIGGER journal_append_in_order; DROP TRIGGER journal_new_rows_coded;
         DROP TRIGGER journal_move_head;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Verify the five-row journal after `sql` ran with the triggers dropped.
fn verify_tampered(sql: &str) -> Result<JournalReport, JournalError> {
    let (_dir, path, _) = journal_with_rows();
    tamper(&path, sql);
    Store::open(&path).unwrap().verify_journal()
}

#[test]
fn untouched_journal_verifies() {
    let (_dir, path, head) = journal_with_rows();
    let store = Store::open(&path).unwrap();
    let report = store.verify_journal().unwrap();
    assert_eq!(report.head_hash, head);
    store.verify_journal_anchor(5, &head).unwrap();
}

#[test]
fn triggers_refuse_raw_edits() {
    let (_dir, path, _) = journal_with_rows();
    let conn = Connection::open(&path).unwrap();
    assert!(
        conn.execute("UPDATE journal SET payload = '{}' WHERE seq = 2", [])
            .is_err()
    );
    assert!(
        conn.execute("DELETE FROM journal WHERE seq = 5", [])
            .is_err()
    );
    drop(conn);
    Store::open(&path).unwrap().verify_journal().unwrap();
}

#[test]
fn edited_payload_is_detected() {
    assert!(matches!(
        verify_tampered(
            r#"UPDATE journal SET payload = replace(payload, '4990', '499') WHERE seq = 3"#
        ),
        Err(JournalError::Edited { seq: 3, .. })
    ));
}

#[test]
fn edited_kind_or_time_is_detected() {
    assert!(matches!(
        verify_tampered("UPDATE journal SET at_ms = at_ms + 1 WHERE seq = 1"),
        Err(JournalError::Edited { seq: 1, .. })
    ));
}

#[test]
fn deleted_middle_row_is_detected() {
    assert!(matches!(
        verify_tampered("DELETE FROM journal WHERE seq = 3"),
        Err(JournalError::Gap {
            expected: 3,
            found: 4
        })
    ));
}

#[test]
fn deleted_and_renumbered_middle_row_is_detected() {
    assert!(matches!(
        verify_tampered(
            "DELETE FROM journal WHERE seq = 3;
             UPDATE journal SET seq = seq - 1 WHERE seq > 3;
             UPDATE journal_head SET seq = 4;"
        ),
        Err(JournalError::BrokenLink {
            seq: 3,
            previous: 2
        })
    ));
}

#[test]
fn deleted_last_row_is_detected_by_the_head() {
    assert!(matches!(
        verify_tampered("DELETE FROM journal WHERE seq = 5"),
        Err(JournalError::Truncated { last: 4, head: 5 })
    ));
}

#[test]
fn deleted_head_row_is_detected() {
    assert!(matches!(
        verify_tampered("DELETE FROM journal_head"),
        Err(JournalError::HeadMissing)
    ));
}

#[test]
fn truncation_with_a_rewound_head_needs_an_anchor() {
    // The documented limit: cut the tail AND rewind the head consistently and
    // the file alone looks fine; a head hash kept elsewhere catches it.
    let (_dir, path, head) = journal_with_rows();
    tamper(
        &path,
        "DELETE FROM journal WHERE seq = 5;
         UPDATE journal_head SET seq = 4, hash = (SELECT hash FROM journal WHERE seq = 4);",
    );
    let store = Store::open(&path).unwrap();
    assert_eq!(store.verify_journal().unwrap().rows, 4);
    assert!(matches!(
        store.verify_journal_anchor(5, &head),
        Err(JournalError::Truncated { .. })
    ));
}

#[test]
fn row_added_behind_the_heads_back_is_detected() {
    assert!(matches!(
        verify_tampered(
            "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, event_code,
                                  trans_code, payment_code, hash_version)
             SELECT 6, at_ms, kind, payload, hash, hash, event_code, trans_code, payment_code,
                    hash_version
             FROM journal WHERE seq = 5"
        ),
        Err(JournalError::Edited { seq: 6, .. })
    ));
}

#[test]
fn appending_continues_after_reopen() {
    let (_dir, path, _) = journal_with_rows();
    let store = Store::open(&path).unwrap();
    let entry = store
        .append_journal("refund_requested", &json!({"amount": 100}))
        .unwrap();
    assert_eq!(entry.seq, 6);
    assert_eq!(store.verify_journal().unwrap().head_hash, entry.hash);
}
