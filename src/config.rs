//! Till configuration (TOML, every key overridable by a `KASSE_...` variable).
