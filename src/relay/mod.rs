//! `kasse-relay`: webhook ingest, durable storage, delivery to tills, and the
//! till-side client.
