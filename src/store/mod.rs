//! SQLite storage for the till: open (WAL, foreign keys), migrations,
//! repositories and the append-only journal.
