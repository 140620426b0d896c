//! The coded journal: every kind Kasse writes has its SAF-T codes, the codes are the official
//! ones, no code path edits or deletes the journal, and rows written before codes existed
//! still verify after the migration that added them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kasse::core::journal_code::{self, codes_of};
use kasse::store::{HASH_V1, JournalError, MIGRATIONS, Store};
use rusqlite::Connection;
use serde_json::json;
use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without its `#[cfg(test)]` module (tests tamper on purpose) and without
/// comment lines.
fn production_source(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `pub const NAME: &str = "value";` inside `pub mod <module> { ... }` of `file`.
fn kind_constants(file: &str, module: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let start = text
        .find(&format!("pub mod {module} {{"))
        .unwrap_or_else(|| panic!("{file} has no `pub mod {module}`"));
    let body = &text[start..];
    let end = body.find("\n}").unwrap();
    let mut consts = BTreeMap::new();
    for line in body[..end].lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("pub const ") {
            let (name, value) = rest.split_once(": &str = ").unwrap();
            let value = value.trim_end_matches(';').trim_matches('"');
            consts.insert(name.to_string(), value.to_string());
        }
    }
    assert!(!consts.is_empty(), "no constants found in {file}::{module}");
    consts
}

#[test]
fn every_kind_the_code_base_writes_has_a_code() {
    let mut kinds = kind_constants("src/store/journal.rs", "kind");
    kinds.extend(kind_constants("src/engine/db.rs", "jk"));
    let missing: Vec<_> = kinds
        .iter()
        .filter(|(_, value)| codes_of(value).is_none())
        .collect();
    assert!(missing.is_empty(), "kinds without a code: {missing:?}");
    // And the table lists nothing the code base does not define.
    let defined: std::collections::BTreeSet<&str> = kinds.values().map(String::as_str).collect();
    let stale: Vec<_> = journal_code::TABLE
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !defined.contains(k))
        .collect();
    assert!(
        stale.is_empty(),
        "codes for kinds nobody defines: {stale:?}"
    );
}

#[test]
fn every_journal_write_names_a_kind_constant() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut calls = 0;
    let mut bad = Vec::new();
    for file in &files {
        let text = production_source(file);
        for call in ["append_journal(", "append_journal_paid(", "db::journal("] {
            for (i, _) in text.match_indices(call) {
                let before = &text[..i];
                // Skip the definitions themselves.
                if before.ends_with("fn ") || before.ends_with("pub fn ") {
                    continue;
                }
                let args = &text[i + call.len()..];
                let first = args
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<String>();
                // db::journal(c, KIND, ..): the kind is the second argument.
                let kind_arg = if call == "db::journal(" {
                    args.split(',').nth(1).unwrap_or("").trim().to_string()
                } else {
                    first
                };
                calls += 1;
                let ok = kind_arg.contains("kind::")
                    || kind_arg.contains("jk::")
                    || kind_arg == "kind"
                    || kind_arg == "journal_kind";
                if !ok {
                    bad.push(format!("{}: {call}{kind_arg}", file.display()));
                }
            }
        }
    }
    assert!(
        calls > 20,
        "found only {calls} journal writes: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "journal writes with a literal kind: {bad:#?}"
    );
}

#[test]
fn no_code_path_updates_or_deletes_the_journal() {
    let pattern = edits_journal_table();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = production_source(file);
        for (n, line) in text.lines().enumerate() {
            if pattern(line) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "statements editing the journal: {found:#?}"
    );

    // Migrations: only inside triggers, plus the one-time fill of the code columns of rows
    // written before codes existed (0005), which lifts and restores the append-only trigger.
    for (name, sql) in MIGRATIONS {
        let mut in_trigger = false;
        for (n, line) in sql.lines().enumerate() {
            let l = line.trim().to_ascii_uppercase();
            if l.starts_with("CREATE TRIGGER") {
                in_trigger = true;
            }
            if !in_trigger && pattern(line) {
                // 0006 rebuilds signed_transaction for its return_id column: rows copied
                // unchanged, its append-only triggers restored (tested in store_open).
                let allowed = (*name == "0005_journal_codes_signatures.sql"
                    && (l.starts_with("ALTER TABLE JOURNAL ADD COLUMN")
                        || l == "DROP TRIGGER JOURNAL_NO_UPDATE;"
                        || l == "UPDATE JOURNAL SET"))
                    || (*name == "0006_till_day.sql"
                        && (l.starts_with("DROP TRIGGER SIGNED_TRANSACTION_")
                            || l == "ALTER TABLE SIGNED_TRANSACTION RENAME TO SIGNED_TRANSACTION_V5;"
                            || l == "DROP TABLE SIGNED_TRANSACTION_V5;"));
                assert!(allowed, "{name}:{}: {}", n + 1, line.trim());
            }
            if l.starts_with("END;") {
                in_trigger = false;
            }
        }
    }
}

/// Matches a line with `UPDATE`, `DELETE FROM`, `REPLACE INTO`, `INSERT OR REPLACE INTO`,
/// `DROP TABLE`, `DROP TRIGGER` or `ALTER TABLE` followed by a journal table (any case).
fn edits_journal_table() -> impl Fn(&str) -> bool {
    const VERBS: [&[&str]; 7] = [
        &["update"],
        &["delete", "from"],
        &["replace", "into"],
        &["insert", "or", "replace", "into"],
        &["drop", "table"],
        &["drop", "trigger"],
        &["alter", "table"],
    ];
    const TABLES: [&str; 4] = [
        "journal",
        "journal_head",
        "signed_transaction",
        "signing_key",
    ];
    move |line: &str| {
        let words: Vec<String> = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        VERBS.iter().any(|verb| {
            words.windows(verb.len() + 1).any(|w| {
                w[..verb.len()].iter().zip(verb.iter()).all(|(a, b)| a == b)
                    && TABLES.contains(&w[verb.len()].as_str())
            })
        })
    }
}

#[test]
fn the_matcher_finds_edits() {
    let m = edits_journal_table();
    assert!(m("UPDATE journal SET payload = 1"));
    assert!(m("  \"DELETE FROM signed_transaction WHERE nr = 1\""));
    assert!(m("update journal_head set seq = 0"));
    assert!(m("INSERT OR REPLACE INTO signing_key VALUES"));
    assert!(!m("UPDATE journal_headlines SET x"));
    assert!(!m("SELECT * FROM journal"));
    assert!(!m("INSERT INTO journal (seq) VALUES (1)"));
}

#[test]
fn codes_are_in_the_official_code_lists() {
    let mut lists: BTreeMap<u16, String> = BTreeMap::new();
    for name in [
        "PredefinedBasicID-11",
        "PredefinedBasicID-12",
        "PredefinedBasicID-13",
    ] {
        let Some(path) = kasse::reference::for_test(
            &format!("cash-register-rules/no/code-lists/{name}.csv"),
            "codes_are_in_the_official_code_lists",
        ) else {
            return;
        };
        for line in std::fs::read_to_string(path).unwrap().lines().skip(1) {
            let mut parts = line.split(';');
            let code: u16 = parts.next().unwrap().trim().parse().unwrap();
            lists.insert(code, parts.next().unwrap_or("").trim().to_string());
        }
    }
    for (kind, codes) in journal_code::TABLE {
        for code in [
            codes.event.map(|c| c.0),
            codes.transaction.map(|c| c.0),
            codes.payment.map(|c| c.0),
        ]
        .into_iter()
        .flatten()
        {
            let official = lists
                .get(&code)
                .unwrap_or_else(|| panic!("{kind}: {code} is not an official code"));
            let ours = journal_code::description(code).unwrap();
            assert!(
                official.starts_with(ours.trim_end_matches(" (cash register)")),
                "{code}: ours {ours:?}, official {official:?}"
            );
        }
    }
    assert_eq!(lists[&12011], "Mobile phone apps");
}

/// The format-1 hash (rows written before codes existed), as documented in store::journal.
fn v1_hash(prev: &[u8], seq: i64, at_ms: i64, kind: &str, payload: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kasse-journal-v1");
    h.update(prev);
    for field in [
        &seq.to_be_bytes()[..],
        &at_ms.to_be_bytes()[..],
        kind.as_bytes(),
        payload.as_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.finalize().into()
}

/// A schema-4 database (before codes) with one format-1 row per old kind, plus one row of a
/// kind Kasse never defined.
fn schema4_journal(path: &Path, kinds: &[&str]) {
    let conn = Connection::open(path).unwrap();
    for (_, sql) in &MIGRATIONS[..4] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 4).unwrap();
    let mut prev = [0u8; 32];
    for (i, kind) in kinds.iter().enumerate() {
        let seq = i as i64 + 1;
        let payload = json!({ "n": seq }).to_string();
        let hash = v1_hash(&prev, seq, 1_000 + seq, kind, &payload);
        conn.execute(
            "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                seq,
                1_000 + seq,
                kind,
                payload,
                hex::encode(prev),
                hex::encode(hash)
            ],
        )
        .unwrap();
        conn.execute(
            "UPDATE journal_head SET seq = ?1, hash = ?2 WHERE id = 1",
            rusqlite::params![seq, hex::encode(hash)],
        )
        .unwrap();
        prev = hash;
    }
}

/// Kinds that came after journal codes (migration 5): never in a format 1 row.
const NEW_KINDS: [&str; 29] = [
    "sale_signed",
    "return_signed",
    "journal_exported",
    "cashier_saved",
    "cashier_logged_in",
    "cashier_logged_out",
    "cashier_login_refused",
    "tender_taken",
    "tender_given_back",
    "drawer_opened",
    "cash_float",
    "cash_pay_in",
    "cash_pay_out",
    "cash_counted",
    "line_voided",
    "sale_voided",
    "x_report",
    "z_report",
    "sale_completed",
    "return_recorded",
    "sales_receipt_issued",
    "return_receipt_issued",
    "copy_receipt_issued",
    "provisional_receipt_issued",
    "training_receipt_issued",
    "training_mode_on",
    "training_mode_off",
    "training_sale_concluded",
    "engine_stopped",
];

#[test]
fn rows_from_before_codes_get_their_codes_and_still_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let mut kinds: Vec<&str> = journal_code::TABLE
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !NEW_KINDS.contains(k))
        .collect();
    kinds.push("a_kind_from_a_test");
    schema4_journal(&path, &kinds);

    let store = Store::open(&path).unwrap();
    let report = store.verify_journal().unwrap();
    assert_eq!(report.rows, kinds.len() as i64);
    let rows = store.journal_since(0, 1_000).unwrap();
    for row in &rows {
        assert_eq!(
            row.codes,
            codes_of(&row.kind),
            "row {} ({})",
            row.seq,
            row.kind
        );
    }
    let version: i64 = store
        .conn()
        .query_row("SELECT max(hash_version) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, HASH_V1);

    // New rows are format 2 and the whole chain verifies across the change.
    let added = store
        .append_journal(kasse::store::kind::SALE_FROZEN, &json!({ "sale_id": 1 }))
        .unwrap();
    assert_eq!(added.seq, kinds.len() as i64 + 1);
    let report = store.verify_journal().unwrap();
    assert_eq!(report.head_hash, added.hash);
    drop(store);

    // An old row's codes edited (triggers dropped) is caught: the mapping is checked.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_no_update;
         UPDATE journal SET event_code = 13001 WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap().verify_journal().unwrap_err();
    assert!(
        matches!(err, JournalError::CodeMismatch { seq: 2, .. }),
        "{err}"
    );
}

#[test]
fn new_rows_cover_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let store = Store::open(&path).unwrap();
    store
        .append_journal(
            kasse::store::kind::PAYMENT_CAPTURED,
            &json!({ "sale_id": 1 }),
        )
        .unwrap();
    store
        .append_journal(kasse::store::kind::SALE_STATE, &json!({ "sale_id": 1 }))
        .unwrap();
    assert!(matches!(
        store.append_journal("made_up_kind", &json!({})),
        Err(kasse::store::StoreError::UnknownJournalKind(_))
    ));
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER journal_no_update;
         UPDATE journal SET trans_code = 11006 WHERE seq = 1;",
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap().verify_journal().unwrap_err();
    assert!(matches!(err, JournalError::Edited { seq: 1, .. }), "{err}");

    // A format-1 row slipped in after format-2 rows is refused by the verifier too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.db");
    let store = Store::open(&path).unwrap();
    store
        .append_journal(kasse::store::kind::SALE_STATE, &json!({}))
        .unwrap();
    let (head_seq, head): (i64, String) = store
        .conn()
        .query_row("SELECT seq, hash FROM journal_head", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    drop(store);
    let prev = hex::decode(&head).unwrap();
    let hash = hex::encode(v1_hash(&prev, head_seq + 1, 5, "sale_state", "{}"));
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER journal_new_rows_coded;")
        .unwrap();
    conn.execute(
        "INSERT INTO journal (seq, at_ms, kind, payload, prev_hash, hash, event_code, hash_version)
         VALUES (?1, 5, 'sale_state', '{}', ?2, ?3, 13999, 1)",
        rusqlite::params![head_seq + 1, head, hash],
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap().verify_journal().unwrap_err();
    assert!(
        matches!(err, JournalError::FormatDowngrade { seq: 2, .. }),
        "{err}"
    );
}
