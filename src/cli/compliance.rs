//! The compliance commands: `kasse journal verify`, `kasse journal export`,
//! `kasse signing public-key`, `kasse compliance saft export` (also `kasse saft export`). One small function per command, each returning the exit code;
//! [`super::run`] dispatches. The work itself is in `crate::compliance`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::compliance::export::{self, Bound};
use crate::compliance::saft::{self, Address, Company, Dialect, SaftOptions};
use crate::compliance::signing::scheme_of;
use crate::compliance::signing::{Signer, parse_public_key};
use crate::compliance::verify::{self, Verdict};
use crate::config::Config;
use crate::store::Store;

/// Exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    /// The journal or a signature chain is broken.
    pub const BROKEN: i32 = 1;
    /// Bad arguments or configuration, unreadable files.
    pub const USAGE: i32 = 2;
}

/// `kasse journal ...`
#[derive(Debug, clap::Args)]
pub struct JournalArgs {
    #[command(subcommand)]
    pub command: JournalCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain and every register's signature chain; print the first break.
    Verify(VerifyArgs),
    /// Write the journal as JSON lines (one row per line, oldest first).
    Export(ExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Till database (default: the configured one).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// Check every signature with this public key (PEM) instead of the keys stored with the
    /// journal, e.g. the key given in the product declaration.
    #[arg(long, value_name = "PEM")]
    pub public_key: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Till database (default: the configured one).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// First day (YYYY-MM-DD, local time) or instant (RFC 3339) to export.
    #[arg(long, value_name = "DATE|TIME")]
    pub from: Option<Bound>,
    /// Last day (included whole) or instant (excluded) to export.
    #[arg(long, value_name = "DATE|TIME")]
    pub to: Option<Bound>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `kasse signing ...`
#[derive(Debug, clap::Args)]
pub struct SigningArgs {
    #[command(subcommand)]
    pub command: SigningCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SigningCommand {
    /// Print the public key (PEM) of the configured signing key, for the product declaration.
    PublicKey,
}

/// `kasse compliance ...`
#[derive(Debug, clap::Args)]
pub struct ComplianceArgs {
    #[command(subcommand)]
    pub command: ComplianceCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ComplianceCommand {
    /// The SAF-T Cash Register file for the tax authority.
    Saft(SaftArgs),
}

/// `kasse compliance saft ...`
#[derive(Debug, clap::Args)]
pub struct SaftArgs {
    #[command(subcommand)]
    pub command: SaftCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SaftCommand {
    /// Write the SAF-T Cash Register XML of a period (every event and signed transaction).
    Export(SaftExportArgs),
}

#[derive(Debug, clap::Args)]
pub struct SaftExportArgs {
    /// Till database (default: the configured one).
    #[arg(long, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// First day of the period (YYYY-MM-DD, local time).
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub from: time::Date,
    /// Last day of the period, included whole.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub to: time::Date,
    /// The file to write, or a folder to write it in under the official name
    /// (`SAF-T Cash Register_<org nr>_<YYYYMMDDhhmmss>_1_1.xml`). Default: that name here.
    #[arg(long, value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// Whose schema (default: the signing country).
    #[arg(long, value_enum)]
    pub country: Option<Dialect>,
    /// Organisation (CVR) number (default: signing.company_ident).
    #[arg(long, value_name = "NUMBER")]
    pub company_ident: Option<String>,
    /// The business's name (default: shop.name, else till.name).
    #[arg(long, value_name = "NAME")]
    pub company_name: Option<String>,
    /// Street of the business's address (required for Denmark, with the three below).
    /// Default: the shop's address from Admin (`shop.address`), when it reads as a street line
    /// with a house number and a line of postal code and city.
    #[arg(long, value_name = "STREET")]
    pub street: Option<String>,
    /// House number of the address.
    #[arg(long, value_name = "NUMBER")]
    pub street_number: Option<String>,
    /// Postal code of the address.
    #[arg(long, value_name = "CODE")]
    pub postal_code: Option<String>,
    /// City of the address.
    #[arg(long, value_name = "CITY")]
    pub city: Option<String>,
}

fn parse_day(s: &str) -> Result<time::Date, String> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &day).map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn load_config(config_path: Option<&Path>) -> Result<Config, i32> {
    Config::load(config_path).map_err(|e| {
        eprintln!("kasse: {e}");
        exit::USAGE
    })
}

fn database(config_path: Option<&Path>, given: Option<PathBuf>) -> Result<PathBuf, i32> {
    if let Some(path) = given {
        return Ok(path);
    }
    load_config(config_path)?.database_path().ok_or_else(|| {
        eprintln!("kasse: no database path: set store.database or pass --database");
        exit::USAGE
    })
}

fn open_existing(path: &Path) -> Result<Store, i32> {
    if !path.exists() {
        eprintln!("kasse: {} does not exist", path.display());
        return Err(exit::USAGE);
    }
    Store::open(path).map_err(|e| {
        eprintln!("kasse: {e}");
        exit::USAGE
    })
}

/// `kasse journal verify|export`.
pub fn journal(config_path: Option<PathBuf>, args: JournalArgs) -> anyhow::Result<i32> {
    Ok(match args.command {
        JournalCommand::Verify(a) => {
            journal_verify(config_path.as_deref(), a, &mut std::io::stdout())?
        }
        JournalCommand::Export(a) => journal_export(config_path.as_deref(), a)?,
    })
}

/// `kasse journal verify`: prints what was checked, or the first break (row, expected, found).
pub fn journal_verify(
    config_path: Option<&Path>,
    args: VerifyArgs,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let path = match database(config_path, args.database) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let external = match &args.public_key {
        None => None,
        Some(file) => {
            let pem = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            match parse_public_key(&pem) {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("kasse: {}: {e}", file.display());
                    return Ok(exit::USAGE);
                }
            }
        }
    };
    let store = match open_existing(&path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let verdict = verify::verify(&store, external.as_ref())
        .with_context(|| format!("verifying {}", path.display()))?;
    writeln!(out, "database: {}", path.display())?;
    match verdict {
        Verdict::Intact(r) => {
            writeln!(
                out,
                "journal: {} rows, hash chain intact, head {} {}",
                r.journal.rows, r.journal.head_seq, r.journal.head_hash
            )?;
            for k in &r.keys {
                writeln!(
                    out,
                    "key {}: {} sha256:{}{}",
                    k.key_version,
                    k.scheme,
                    k.fingerprint,
                    if k.test_key {
                        "  TEST KEY (demo/training only, not a declared key)"
                    } else {
                        ""
                    }
                )?;
            }
            if let Some(fp) = &r.external_key {
                writeln!(
                    out,
                    "signatures checked with the given public key sha256:{fp}"
                )?;
            }
            if r.registers.is_empty() {
                writeln!(out, "signatures: no signed transactions")?;
            }
            for reg in &r.registers {
                writeln!(
                    out,
                    "register {}: {} signed transactions, signature chain intact",
                    reg.register_id, reg.transactions
                )?;
            }
            writeln!(out, "OK")?;
            Ok(exit::OK)
        }
        Verdict::Broken(b) => {
            writeln!(out, "BROKEN at {}", b.row)?;
            writeln!(out, "  expected: {}", b.expected)?;
            writeln!(out, "  found:    {}", b.found)?;
            writeln!(out, "  {}", b.detail)?;
            Ok(exit::BROKEN)
        }
    }
}

/// `kasse journal export`: JSON lines to `--out` or standard output; the export is journalled.
pub fn journal_export(config_path: Option<&Path>, args: ExportArgs) -> anyhow::Result<i32> {
    let path = match database(config_path, args.database) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let store = match open_existing(&path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let (from, to) = export::range_ms(args.from, args.to);
    let summary = match &args.out {
        Some(file) => {
            let f = std::fs::File::create(file)
                .with_context(|| format!("creating {}", file.display()))?;
            let mut w = std::io::BufWriter::new(f);
            let s = export::export(&store, from, to, &file.display().to_string(), &mut w)?;
            w.into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("writing {}", file.display()))?;
            s
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            export::export(&store, from, to, "standard output", &mut w)?
        }
    };
    eprintln!(
        "kasse: exported {} journal rows{}",
        summary.rows,
        match (summary.first_seq, summary.last_seq) {
            (Some(a), Some(b)) => format!(" ({a} to {b})"),
            _ => String::new(),
        }
    );
    Ok(exit::OK)
}

/// `kasse compliance saft export`.
pub fn compliance(config_path: Option<PathBuf>, args: ComplianceArgs) -> anyhow::Result<i32> {
    match args.command {
        ComplianceCommand::Saft(a) => saft(config_path, a),
    }
}

/// `kasse saft export` (and `kasse compliance saft export`).
pub fn saft(config_path: Option<PathBuf>, args: SaftArgs) -> anyhow::Result<i32> {
    match args.command {
        SaftCommand::Export(a) => saft_export(config_path.as_deref(), a, &mut std::io::stdout()),
    }
}

/// `kasse saft export`: writes the file, prints one JSON line (file, counts, totals, bytes,
/// seconds); the export is journalled (13020).
pub fn saft_export(
    config_path: Option<&Path>,
    args: SaftExportArgs,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let path = match args.database.clone().or_else(|| config.database_path()) {
        Some(p) => p,
        None => {
            eprintln!("kasse: no database path: set store.database or pass --database");
            return Ok(exit::USAGE);
        }
    };
    let dialect = match args.country {
        Some(d) => d,
        None => match scheme_of(&config) {
            Ok(s) => Dialect::of_scheme(s),
            Err(e) => {
                eprintln!("kasse: {e}");
                return Ok(exit::USAGE);
            }
        },
    };
    let address = match (
        &args.street,
        &args.street_number,
        &args.postal_code,
        &args.city,
    ) {
        // The shop's address as set in Admin, when it has a street line and a postal line.
        (None, None, None, None) => Address::from_lines(&config.shop.address),
        (Some(street), Some(number), Some(postal_code), Some(city)) => Some(Address {
            street: street.clone(),
            number: number.clone(),
            postal_code: postal_code.clone(),
            city: city.clone(),
        }),
        _ => {
            eprintln!(
                "kasse: give the whole address: --street, --street-number, --postal-code, --city"
            );
            return Ok(exit::USAGE);
        }
    };
    let store = match open_existing(&path) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let ident = args
        .company_ident
        .unwrap_or_else(|| config.signing.company_ident.clone());
    let now_ms = store.now_ms();
    let file = match &args.out {
        Some(p) if p.is_dir() => p.join(saft::file_name(&ident, now_ms)),
        Some(p) => p.clone(),
        None => PathBuf::from(saft::file_name(&ident, now_ms)),
    };
    let options = SaftOptions {
        dialect,
        from: args.from,
        to: args.to,
        company: Company {
            ident,
            name: args.company_name.unwrap_or_else(|| {
                if config.shop.name.trim().is_empty() {
                    config.till.name.clone()
                } else {
                    config.shop.name.trim().to_string()
                }
            }),
            address,
        },
        currency: config.till.currency,
        register_id: config.till.id.clone(),
        register_desc: format!("Kasse till {} ({})", config.till.id, config.till.name),
        now_ms,
        destination: file.display().to_string(),
    };
    let started = std::time::Instant::now();
    let f = std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?;
    let result = saft::export(
        &store,
        &options,
        std::io::BufWriter::with_capacity(1 << 16, f),
    );
    let (summary, w) = match result {
        Ok(done) => done,
        Err(crate::compliance::ComplianceError::Saft(e)) => {
            let _ = std::fs::remove_file(&file);
            eprintln!("kasse: {e}");
            return Ok(exit::USAGE);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&file);
            return Err(e).with_context(|| format!("exporting to {}", file.display()));
        }
    };
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", file.display()))?;
    writeln!(
        out,
        "{}",
        serde_json::json!({
            "file": file.display().to_string(),
            "country": dialect.country(),
            "from": options.from.to_string(),
            "to": options.to.to_string(),
            "registers": summary.registers,
            "transactions": summary.transactions,
            "events": summary.events,
            "amount_in": crate::compliance::saft::amount(summary.amount_in),
            "amount_ex": crate::compliance::saft::amount(summary.amount_ex),
            "bytes": summary.bytes,
            "seconds": started.elapsed().as_secs_f64(),
        })
    )?;
    Ok(exit::OK)
}

/// `kasse signing public-key`: the public key (PEM) on standard output; key version, scheme,
/// fingerprint and whether it is the test key on standard error.
pub fn signing(config_path: Option<PathBuf>, args: SigningArgs) -> anyhow::Result<i32> {
    match args.command {
        SigningCommand::PublicKey => {
            signing_public_key(config_path.as_deref(), &mut std::io::stdout())
        }
    }
}

/// See [`signing`].
pub fn signing_public_key(config_path: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<i32> {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let database = config.database_path();
    let signer = match Signer::for_till(&config, database.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kasse: {e}");
            return Ok(exit::USAGE);
        }
    };
    write!(out, "{}", signer.public_key_pem())?;
    eprintln!(
        "key version {} ({}, {} bits) sha256:{}",
        signer.key_version(),
        signer.scheme(),
        signer.bits(),
        signer.fingerprint()
    );
    if signer.is_test_key() {
        eprintln!(
            "THIS IS KASSE'S TEST KEY: for demo, training and tests only. Do not declare it; \
             a till with production Vipps settings refuses it."
        );
    }
    Ok(exit::OK)
}
