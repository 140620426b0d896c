//! Two connections to one till database: the window's catalogue edits beside the engine.
//! A store transaction takes the write lock when it begins, so the other writer waits (or, with
//! no busy timeout, is refused) instead of the store's transaction failing half-way on a stale read.

use kasse::store::Store;
use rusqlite::Connection;

#[test]
fn a_store_transaction_holds_the_write_lock_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kasse.db");
    let store = Store::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();

    let result: Result<(), kasse::store::StoreError> = store.transaction(|s| {
        // Read first (a deferred transaction would take its snapshot here) ...
        let before: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
            .unwrap();
        assert_eq!(before, 0);
        // ... then another connection tries to write in between: it must be the one refused.
        let other_write = other.execute_batch("CREATE TABLE probe (x INTEGER)");
        let err = other_write.expect_err("the other writer must not get in");
        assert!(
            err.to_string().contains("locked") || err.to_string().contains("busy"),
            "expected the other writer to meet the lock, got: {err}"
        );
        // ... and our write still commits.
        s.append_journal(
            kasse::store::kind::ITEM_ADDED,
            &serde_json::json!({ "n": 1 }),
        )
        .map(|_| ())
    });
    result.unwrap();
    assert_eq!(store.verify_journal().unwrap().rows, 1);
}
