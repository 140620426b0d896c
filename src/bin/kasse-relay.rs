//! `kasse-relay`: public webhook relay for Kasse tills.
//!
//! Thin entry: argument parsing and printing; the work is in `kasse::relay`.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use kasse::relay::server::{RelayConfig, spawn};
use kasse::relay::store::{EventFilter, RelayAdmin, RelayDatabase, ReplayOutcome, Synchronous};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Durable, authenticated Vipps MobilePay webhook relay for Kasse tills.";

const LONG_ABOUT: &str = "\
Durable, authenticated Vipps MobilePay webhook relay for Kasse tills.

Vipps delivers webhooks only to a public HTTPS URL, and a store (MSN) may have only one
user.checked-in.v1 registration, so one relay feeds every till of a store. Tills sit behind NAT
and connect out to the relay.

Endpoints (serve):
  POST /v1/webhooks/vipps/{msn}   Vipps webhooks: HMAC verified over the raw body, stored
                                  (committed) before the 2xx. 401 bad/missing signature,
                                  404 unknown MSN, 413 body over 64 KiB, 200 for a body it
                                  cannot parse (kept as rejected; `events replay ID` after an
                                  upgrade), 503 check-in for a till offline too long,
                                  404 check-in for an unknown merchantQrId.
  GET  /v1/till/stream?after=SEQ  WebSocket for tills (Authorization: Bearer TOKEN): one JSON
                                  frame per event with a sequence number, an ack per event,
                                  pings both ways.
  GET  /v1/till/poll?after=SEQ    Long-poll with the same cursor; POST /v1/till/ack {\"seqs\":[..]}.
  GET  /healthz, GET /metrics     Health (JSON) and Prometheus metrics.

Typical set-up:
  kasse-relay --db relay.db store add --msn 123456 --name \"Shop\"
  kasse-relay --db relay.db webhooks register --msn 123456 --public-url https://relay.example.com \\
      --vipps-base-url https://apitest.vipps.no --client-id .. --client-secret .. --subscription-key ..
  kasse-relay --db relay.db till add --msn 123456 --till t1 --merchant-qr-id <qr id>   # prints the token once
  kasse-relay --db relay.db serve --listen 127.0.0.1:8080 --public-url https://relay.example.com

--db takes a SQLite file (the default, one instance) or a postgres:// URL (several instances
on one PostgreSQL; wake-ups through LISTEN/NOTIFY).

See docs/relay.md for TLS (reverse proxy), durability, several instances and operations.";

#[derive(Parser)]
#[command(name = "kasse-relay", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// The relay's database (created and migrated on first use): a SQLite file, or a
    /// postgres://user:password@host/db URL shared by several relay instances.
    #[arg(long, global = true, env = "KASSE_RELAY_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay server.
    Serve(ServeArgs),
    /// Stores (Vipps sales units, by MSN) and their webhook secrets.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Partners: one webhook registration made with partner keys (no MSN) feeds all the
    /// partner's stores through POST /v1/webhooks/vipps/partner/<id>, routed by the body's msn.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Tills of a store and their tokens.
    #[command(subcommand)]
    Till(TillCommand),
    /// Webhook registrations at Vipps.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Filed events, for operators.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Measure webhook throughput and delivery latency on loopback (use --release).
    ///
    /// Starts its own relay process on a temporary database and prints: signed webhooks
    /// accepted per second (each 2xx committed), and the latency from webhook POST to
    /// till receipt with many tills connected over WebSocket.
    ///
    /// With --sustained DURATION it instead POSTs webhooks as fast as they are answered
    /// for that long and prints, per --window, the throughput and the sizes of the
    /// database and its write-ahead log, then how the log shrinks once the load stops.
    Bench(BenchArgs),
}

#[derive(Args)]
struct BenchArgs {
    #[arg(long, default_value = "full")]
    synchronous: Synchronous,
    /// Ingest phase: webhooks in total.
    #[arg(long, default_value_t = 20_000)]
    webhooks: usize,
    /// Ingest phase: concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Delivery phase: connected tills (WebSocket).
    #[arg(long, default_value_t = 1_000)]
    tills: usize,
    /// Delivery phase: webhooks per second.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Delivery phase: seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Also run both phases on this PostgreSQL server (a database is created there and
    /// dropped afterwards), with the relay as several instances; the figures are printed
    /// beside SQLite's.
    #[arg(long, env = "KASSE_RELAY_BENCH_POSTGRES", hide_env_values = true)]
    postgres: Option<String>,
    /// Relay instances on PostgreSQL (tills and webhooks spread over them).
    #[arg(long, default_value_t = 2)]
    instances: usize,
    /// Sustained mode: load the relay this long (e.g. 60s, 5m) instead of the two phases.
    #[arg(long, value_parser = kasse::relay::bench::parse_duration)]
    sustained: Option<Duration>,
    /// Sustained mode: one line of figures per window.
    #[arg(long, default_value = "10s", value_parser = kasse::relay::bench::parse_duration)]
    window: Duration,
    /// Sustained mode: after the load, watch the write-ahead log this long (stops early
    /// once it is empty).
    #[arg(long, default_value = "10s", value_parser = kasse::relay::bench::parse_duration)]
    idle: Duration,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", env = "KASSE_RELAY_LISTEN")]
    listen: String,
    /// The public base URL Vipps calls. Behind a reverse proxy the signed host
    /// and path are taken from it instead of the Host header.
    #[arg(long, env = "KASSE_RELAY_PUBLIC_URL")]
    public_url: Option<url::Url>,
    /// SQLite synchronous mode: full (fsync per group commit; survives power loss)
    /// or normal (survives a crash of the relay, not of the machine).
    #[arg(long, default_value = "full")]
    synchronous: Synchronous,
    /// Ping interval on till connections, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    heartbeat_interval_ms: u64,
    /// A till link silent for this long is dropped, milliseconds.
    #[arg(long, default_value_t = 15_000)]
    heartbeat_timeout_ms: u64,
    /// Longest a long-poll request is held, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    long_poll_max_wait_ms: u64,
    /// A check-in for a till offline longer than this is answered 503, so the
    /// customer's app says "Can't connect to store" at once, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    checkin_offline_grace_ms: u64,
    /// Keep delivered (and unrouted/refused/rejected) events this many hours.
    #[arg(long, default_value_t = 14 * 24)]
    retention_hours: u64,
    /// Keep events never acknowledged this many hours.
    #[arg(long, default_value_t = 30 * 24)]
    undelivered_retention_hours: u64,
    /// How often to prune, seconds.
    #[arg(long, default_value_t = 600)]
    prune_interval_secs: u64,
    /// Vipps credentials of the stores (TOML, chmod 600): `[[store]]` tables with msn,
    /// vipps_base_url, client_id, client_secret, subscription_key. With it the relay checks
    /// the stores' webhook registrations at Vipps (see /metrics and /healthz).
    #[arg(long, env = "KASSE_RELAY_VIPPS_CREDENTIALS")]
    vipps_credentials: Option<PathBuf>,
    /// How often to check the registrations, milliseconds.
    #[arg(long, default_value_t = 3_600_000)]
    registration_check_interval_ms: u64,
    /// Register again when a store's registration is missing at Vipps, and store the new
    /// secret (run it on one instance only when several share a database).
    #[arg(long, requires = "vipps_credentials")]
    reregister: bool,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Add a store (a Vipps sales unit).
    Add {
        #[arg(long)]
        msn: String,
        #[arg(long)]
        name: String,
        /// The partner whose registration delivers this store's events.
        #[arg(long)]
        partner: Option<String>,
    },
    /// Store the secret of a webhook registration (several may be live during a rotation).
    Secret {
        #[arg(long)]
        msn: String,
        #[arg(long)]
        webhook_id: String,
        /// The secret Vipps returned at registration.
        #[arg(long, env = "KASSE_RELAY_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Forget a webhook registration's secret (after deleting it at Vipps).
    RemoveSecret {
        #[arg(long)]
        msn: String,
        #[arg(long)]
        webhook_id: String,
    },
    /// List stores and their webhook registrations.
    List,
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Add a partner.
    Add {
        /// Partner id (letters, digits, '-', '_'), the last segment of its webhook URL.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    /// Store the secret of the partner's webhook registration.
    Secret {
        #[arg(long)]
        id: String,
        #[arg(long)]
        webhook_id: String,
        #[arg(long, env = "KASSE_RELAY_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
    },
}

#[derive(Subcommand)]
enum TillCommand {
    /// Add a till; prints its token once on stdout (only a hash is kept).
    Add {
        #[arg(long)]
        msn: String,
        /// Till id, ^[a-z0-9]{1,16}$. Payment references of this till start with "<till>-".
        #[arg(long)]
        till: String,
        /// The merchantQrId of the till's merchant callback QR.
        #[arg(long)]
        merchant_qr_id: String,
    },
    /// List tills with their pending events.
    List {
        #[arg(long)]
        msn: Option<String>,
    },
    /// Revoke a till's token.
    Revoke {
        #[arg(long)]
        msn: String,
        #[arg(long)]
        till: String,
    },
}

#[derive(Args)]
struct VippsArgs {
    /// The store's MSN (Merchant-Serial-Number).
    #[arg(long)]
    msn: String,
    /// https://apitest.vipps.no, https://api.vipps.no, or a kasse-sim URL.
    #[arg(long, env = "VIPPS_BASE_URL")]
    vipps_base_url: url::Url,
    #[arg(long, env = "VIPPS_CLIENT_ID")]
    client_id: String,
    #[arg(long, env = "VIPPS_CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
    #[arg(long, env = "VIPPS_SUBSCRIPTION_KEY", hide_env_values = true)]
    subscription_key: String,
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Register <public-url>/v1/webhooks/vipps/<msn> at Vipps for the check-in, the
    /// ePayment events and the login ping, and store the returned id and secret.
    Register {
        #[command(flatten)]
        vipps: VippsArgs,
        /// The relay's public base URL (what Vipps calls).
        #[arg(long, env = "KASSE_RELAY_PUBLIC_URL")]
        public_url: url::Url,
        /// Events to register (repeatable); default: user.checked-in.v1, the
        /// authorized, aborted, expired, terminated, captured, cancelled and refunded
        /// ePayment events, and login.merchant-initiated.ping.v1.
        #[arg(long = "event")]
        events: Vec<String>,
        /// Delete registrations for the same URL first (only one user.checked-in.v1
        /// registration is allowed per store).
        #[arg(long)]
        replace: bool,
    },
    /// List the store's registrations at Vipps.
    List {
        #[command(flatten)]
        vipps: VippsArgs,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Events kept without a till to deliver to.
    Unrouted {
        #[arg(long)]
        msn: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Filed events, newest first.
    List {
        #[arg(long)]
        msn: Option<String>,
        /// routed, unrouted, refused, expired or rejected.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Re-classify a kept (rejected, unrouted or refused) event, e.g. after an upgrade that
    /// understands it or after adding its till, and file it again as a new event for its till.
    ///
    /// On PostgreSQL the till is woken at once on whichever instance it is connected to; on
    /// SQLite a running relay's till connection reads it at its next heartbeat.
    Replay {
        /// The event id (first column of `events list`).
        id: i64,
        /// Customer tokens of check-ins live this long after the scan, seconds.
        #[arg(long, default_value_t = 900)]
        checkin_ttl_secs: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                // The bench connects thousands of tills: no line per connection.
                tracing_subscriber::EnvFilter::new(match cli.command {
                    Command::Bench(_) => "info,kasse::relay::client=warn",
                    _ => "info",
                })
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let db = || -> anyhow::Result<RelayDatabase> {
        cli.db
            .as_deref()
            .map(RelayDatabase::from_arg)
            .context("--db PATH or URL (or KASSE_RELAY_DB) is required")
    };
    match &cli.command {
        Command::Serve(args) => serve(db()?, args),
        Command::Store(cmd) => store(&RelayAdmin::open(&db()?)?, cmd),
        Command::Till(cmd) => till(&RelayAdmin::open(&db()?)?, cmd),
        Command::Partner(cmd) => partner(&RelayAdmin::open(&db()?)?, cmd),
        Command::Events(cmd) => events(&RelayAdmin::open(&db()?)?, cmd),
        Command::Webhooks(cmd) => webhooks(cmd, cli.db.as_deref()),
        Command::Bench(args) => bench(args),
    }
}

fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let mut opts = kasse::relay::bench::BenchOptions::new(std::env::current_exe()?);
    opts.synchronous = args.synchronous;
    opts.webhooks = args.webhooks;
    opts.connections = args.connections;
    opts.tills = args.tills;
    opts.rate = args.rate;
    opts.seconds = args.seconds;
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; use --release for meaningful figures");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    if let Some(duration) = args.sustained {
        let sustained = kasse::relay::bench::SustainedOptions {
            duration,
            window: args.window,
            idle: args.idle,
        };
        return bench_sustained(&runtime, &opts, sustained);
    }
    let mut reports = vec![runtime.block_on(kasse::relay::bench::run(&opts))?];
    if let Some(url) = &args.postgres {
        opts.instances = args.instances.max(1);
        reports.push(runtime.block_on(kasse::relay::bench::run_postgres(&opts, url))?);
    }
    println!(
        "kasse-relay bench (loopback, SQLite synchronous={:?}): ingest {} webhooks over {} \
         connections; delivery {} tills, {} webhooks/s for {} s",
        opts.synchronous, opts.webhooks, opts.connections, opts.tills, opts.rate, opts.seconds
    );
    let row = |label: &str, f: &dyn Fn(&kasse::relay::bench::BenchReport) -> String| {
        let cells: Vec<String> = reports.iter().map(|r| format!("{:>24}", f(r))).collect();
        println!("{label:<28}{}", cells.join(""));
    };
    row("", &|r| r.backend.clone());
    row("ingest accepted/s", &|r| {
        format!("{:.0}", r.ingest.per_second)
    });
    row("ingest failed", &|r| r.ingest.failures.to_string());
    row("ingest POST p50/p99 ms", &|r| {
        format!(
            "{:.1} / {:.1}",
            r.ingest.post_latency.p50, r.ingest.post_latency.p99
        )
    });
    row("delivery sent/received", &|r| {
        format!("{} / {}", r.delivery.sent, r.delivery.delivered)
    });
    row("delivery POST->till p50/p99", &|r| {
        format!(
            "{:.1} / {:.1}",
            r.delivery.latency.p50, r.delivery.latency.p99
        )
    });
    row("delivery POST->till max ms", &|r| {
        format!("{:.1}", r.delivery.latency.max)
    });
    Ok(())
}

fn bench_sustained(
    runtime: &tokio::runtime::Runtime,
    opts: &kasse::relay::bench::BenchOptions,
    sustained: kasse::relay::bench::SustainedOptions,
) -> anyhow::Result<()> {
    use kasse::relay::bench::human_bytes;
    println!(
        "kasse-relay bench --sustained (loopback, synchronous={:?}, {} connections, {:.0} s)",
        opts.synchronous,
        opts.connections.max(1),
        sustained.duration.as_secs_f64()
    );
    println!("   time  accepted/s  failed  POST p50/p99 ms       db         WAL");
    let r = runtime.block_on(kasse::relay::bench::run_sustained(opts, sustained, |w| {
        println!(
            "{:>6.1}s  {:>10.0}  {:>6}  {:>6.1} / {:<7.1}  {:>9}  {:>10}",
            w.end.as_secs_f64(),
            w.per_second,
            w.failed,
            w.post_latency.p50,
            w.post_latency.p99,
            human_bytes(w.db_bytes),
            human_bytes(w.wal_bytes)
        );
    }))?;
    println!(
        "total:   {} accepted ({} failed) in {:.1} s: {:.0} accepted/s; largest WAL {}",
        r.accepted,
        r.failed,
        r.elapsed.as_secs_f64(),
        r.accepted as f64 / r.elapsed.as_secs_f64(),
        human_bytes(r.max_wal_bytes)
    );
    println!(
        "idle:    {:.1} s after the load: db {}, WAL {}",
        r.idle.after.as_secs_f64(),
        human_bytes(r.idle.db_bytes),
        human_bytes(r.idle.wal_bytes)
    );
    Ok(())
}

fn vipps_client(args: &VippsArgs) -> anyhow::Result<kasse::vipps::Client> {
    let config = kasse::vipps::VippsConfig::new(
        kasse::vipps::Environment::Custom(args.vipps_base_url.clone()),
        args.client_id.clone(),
        args.client_secret.clone(),
        args.subscription_key.clone(),
        args.msn.clone(),
    );
    Ok(kasse::vipps::Client::new(config)?)
}

fn webhooks(cmd: &WebhooksCommand, db: Option<&std::path::Path>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    match cmd {
        WebhooksCommand::Register {
            vipps,
            public_url,
            events,
            replace,
        } => {
            let db = db.context("--db PATH (or KASSE_RELAY_DB) is required")?;
            let client = vipps_client(vipps)?;
            let events: Vec<&str> = if events.is_empty() {
                kasse::relay::provision::DEFAULT_EVENTS.to_vec()
            } else {
                events.iter().map(String::as_str).collect()
            };
            let r = runtime.block_on(kasse::relay::provision::register_webhooks(
                db, &client, public_url, &vipps.msn, &events, *replace,
            ))?;
            for old in &r.replaced {
                eprintln!("deleted registration {old} for the same URL");
            }
            eprintln!(
                "registered {} for {} ({}); its secret is stored",
                r.url,
                vipps.msn,
                r.events.join(", ")
            );
            println!("{}", r.webhook_id);
        }
        WebhooksCommand::List { vipps } => {
            let client = vipps_client(vipps)?;
            for w in runtime.block_on(client.list_webhooks())? {
                println!("{}\t{}\t{}", w.id, w.url, w.events.join(","));
            }
        }
    }
    Ok(())
}

fn serve(db: RelayDatabase, args: &ServeArgs) -> anyhow::Result<()> {
    let mut config = match db {
        RelayDatabase::Sqlite(path) => RelayConfig::new(path),
        RelayDatabase::Postgres(url) => {
            let mut config = RelayConfig::new(PathBuf::new());
            config.postgres_url = Some(url);
            config
        }
    };
    config.public_url = args.public_url.clone();
    config.synchronous = args.synchronous;
    config.heartbeat_interval = Duration::from_millis(args.heartbeat_interval_ms.max(1));
    config.heartbeat_timeout = Duration::from_millis(args.heartbeat_timeout_ms.max(1));
    config.long_poll_max_wait = Duration::from_millis(args.long_poll_max_wait_ms);
    config.checkin_offline_grace = Duration::from_millis(args.checkin_offline_grace_ms);
    config.retention = Duration::from_secs(args.retention_hours * 3600);
    config.undelivered_retention = Duration::from_secs(args.undelivered_retention_hours * 3600);
    config.prune_interval = Duration::from_secs(args.prune_interval_secs.max(1));
    if let Some(path) = &args.vipps_credentials {
        let stores = kasse::relay::watchdog::load_credentials(path)?;
        config.watchdog = Some(kasse::relay::watchdog::WatchdogConfig {
            stores,
            interval: Duration::from_millis(args.registration_check_interval_ms.max(10)),
            reregister: args.reregister,
        });
    }
    if config.heartbeat_timeout <= config.heartbeat_interval {
        bail!("--heartbeat-timeout-ms must be longer than --heartbeat-interval-ms");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let handle = spawn(config, listener).await?;
        // Scripts and tests read the bound address from this line.
        println!("listening on {}", handle.base_url);
        if let Some(public) = &args.public_url {
            println!("public URL {public}");
        }
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.shutdown().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn store(db: &RelayAdmin, cmd: &StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Add { msn, name, partner } => {
            db.add_store(msn, name)?;
            if let Some(p) = partner {
                db.set_store_partner(msn, Some(p))?;
            }
            eprintln!("store {msn} ({name}) added");
        }
        StoreCommand::Secret {
            msn,
            webhook_id,
            secret,
        } => {
            db.add_secret(msn, webhook_id, secret)?;
            eprintln!("secret of webhook {webhook_id} stored for store {msn}");
        }
        StoreCommand::RemoveSecret { msn, webhook_id } => {
            if !db.remove_secret(msn, webhook_id)? {
                bail!("store {msn} has no webhook {webhook_id}");
            }
            eprintln!("secret of webhook {webhook_id} removed from store {msn}");
        }
        StoreCommand::List => {
            for s in db.list_stores()? {
                println!(
                    "{}\t{}\twebhooks: {}",
                    s.msn,
                    s.name,
                    s.webhook_ids.join(",")
                );
            }
        }
    }
    Ok(())
}

fn partner(db: &RelayAdmin, cmd: &PartnerCommand) -> anyhow::Result<()> {
    match cmd {
        PartnerCommand::Add { id, name } => {
            db.add_partner(id, name)?;
            eprintln!("partner {id} ({name}) added; its URL is /v1/webhooks/vipps/partner/{id}");
        }
        PartnerCommand::Secret {
            id,
            webhook_id,
            secret,
        } => {
            db.add_partner_secret(id, webhook_id, secret)?;
            eprintln!("secret of webhook {webhook_id} stored for partner {id}");
        }
    }
    Ok(())
}

fn till(db: &RelayAdmin, cmd: &TillCommand) -> anyhow::Result<()> {
    match cmd {
        TillCommand::Add {
            msn,
            till,
            merchant_qr_id,
        } => {
            let t = db.add_till(msn, till, merchant_qr_id)?;
            eprintln!(
                "till {} added to store {} (merchantQrId {}). Its token follows; it is shown only once:",
                t.till_id, t.msn, t.merchant_qr_id
            );
            println!("{}", t.token);
        }
        TillCommand::List { msn } => {
            println!("msn\ttill\tmerchantQrId\tstate\tpending\tlast acked");
            for t in db.list_tills(msn.as_deref())? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.msn,
                    t.till_id,
                    t.merchant_qr_id,
                    if t.revoked_at_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    t.pending,
                    t.last_acked_seq.map_or("-".to_string(), |s| s.to_string())
                );
            }
        }
        TillCommand::Revoke { msn, till } => {
            db.revoke_till(msn, till)?;
            eprintln!("till {till} of store {msn} revoked");
        }
    }
    Ok(())
}

fn events(db: &RelayAdmin, cmd: &EventsCommand) -> anyhow::Result<()> {
    let filter = match cmd {
        EventsCommand::Unrouted { msn, limit } => EventFilter {
            msn: msn.clone(),
            status: Some("unrouted".into()),
            limit: *limit,
        },
        EventsCommand::List { msn, status, limit } => EventFilter {
            msn: msn.clone(),
            status: status.clone(),
            limit: *limit,
        },
        EventsCommand::Replay {
            id,
            checkin_ttl_secs,
        } => return replay(db, *id, Duration::from_secs(*checkin_ttl_secs)),
    };
    println!("id\treceived\tmsn\tkind\tstatus\ttill\troute\treason");
    for e in db.events(&filter)? {
        let received = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(e.received_at_ms) * 1_000_000,
        )
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| e.received_at_ms.to_string());
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.id,
            received,
            e.msn,
            e.kind,
            e.status,
            e.till_id.as_deref().unwrap_or("-"),
            e.route_key.as_deref().unwrap_or("-"),
            e.reason.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

fn replay(db: &RelayAdmin, id: i64, checkin_ttl: Duration) -> anyhow::Result<()> {
    match db.replay(id, checkin_ttl)? {
        ReplayOutcome::Filed(o) => {
            let till = match &o.disposition {
                kasse::relay::store::Disposition::Routed { till_id, seq, .. } => {
                    format!(" for till {till_id} (seq {seq})")
                }
                _ => String::new(),
            };
            eprintln!(
                "event {id} filed again as event {}: {}{till}",
                o.event_id,
                o.disposition.status()
            );
            println!("{}\t{}", o.event_id, o.disposition.status());
        }
        ReplayOutcome::StillRejected { reason } => bail!(
            "event {id} is still not understood ({}); it stays kept",
            reason.as_deref().unwrap_or("no reason")
        ),
        ReplayOutcome::Duplicate { event_id } => bail!(
            "event {id} is the same event as {event_id}, which was accepted already; nothing filed"
        ),
    }
    Ok(())
}
