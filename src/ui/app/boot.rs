//! Starting the window: the configuration (or demo mode), the store, the engine and the
//! catalogue, gathered in a [`Boot`] before the first frame.

use super::*;

/// Everything the window needs to start: built by [`start`] (or by a test).
pub struct Boot {
    pub engine: EngineHandle,
    pub events: broadcast::Receiver<EngineEvent>,
    pub config: Config,
    /// Where the admin screen saves the configuration.
    pub config_path: Option<PathBuf>,
    pub catalog: Catalog,
    /// The store the catalogue is kept in (its own connection to the till's database).
    pub window_store: WindowStore,
    pub pin: AdminPin,
    /// Demo mode: the simulated customer and the servers behind it.
    pub demo: Option<DemoEnvironment>,
    /// Local time offset for the history screen (read once at start-up).
    pub utc_offset: UtcOffset,
    /// The till's cashiers: with any, the window starts at the log-in.
    pub cashiers: Vec<crate::core::cashier::Cashier>,
    /// The till is in training mode.
    pub training: bool,
    /// The wall clock (the engine's too): status times, idle lock, the customer-waiting hint.
    pub clock: Clock,
}

impl std::fmt::Debug for Boot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Boot")
            .field("config_path", &self.config_path)
            .field("demo", &self.demo.is_some())
            .finish_non_exhaustive()
    }
}

/// Loads the configuration, starts demo mode when there is none, opens the
/// store and starts the engine. Runs on the caller's tokio runtime, which must
/// outlive the window (the engine and the demo servers run on it).
pub async fn start(options: RunOptions) -> anyhow::Result<Boot> {
    // Only readable while the process has one thread; `ui::run` reads it
    // before starting the runtime and overrides this.
    let utc_offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let config_path = options.config_path.clone().or_else(Config::default_path);
    let loaded = Config::load(options.config_path.as_deref())?;
    let demo_mode = options.demo || !loaded.is_configured();
    let (mut config, demo) = if demo_mode {
        let environment = crate::cli::demo::start().await?;
        tracing::info!(
            simulator = %environment.config.vipps.environment,
            relay = %environment.config.relay.url,
            merchant_qr_id = %environment.config.merchant_qr_id(),
            "demo mode: in-process simulator and relay"
        );
        (environment.config.clone(), Some(environment))
    } else {
        (loaded.clone(), None)
    };
    if demo_mode {
        // The cashier's language choice applies in demo mode too; with none
        // anywhere (a fresh clone), the system's language if the till has it.
        config.till.language = loaded.till.language;
        let config_file = options.config_path.clone().or_else(Config::default_path);
        let chosen = config_file.is_some_and(|path| path.exists())
            || std::env::var_os(crate::config::env_var_name("till.language")).is_some();
        if !chosen && let Some(locale) = system_locale() {
            config.till.language = locale;
        }
    }
    if let Some(locale) = options.language {
        config.till.language = locale;
    }
    config.validate()?;
    let database = config
        .database_path()
        .ok_or_else(|| anyhow::anyhow!("no data directory for the till database"))?;

    // The catalogue's own connection (see `WindowStore`).
    // One clock for the window, its store and the engine.
    let clock = Clock::system();
    let window_store = WindowStore::open(database, clock.clone()).await?;
    let catalog = if demo_mode {
        window_store.clone().replace(demo_catalog()).await?
    } else {
        window_store.clone().load().await?
    };
    // Demo mode has a demo manager to log in as (PIN shown on the log-in screen).
    let cashiers = window_store
        .clone()
        .run(move |s| {
            if demo_mode && s.cashiers()?.is_empty() {
                s.add_cashier(
                    "Demo",
                    crate::core::cashier::Role::Manager,
                    login::DEMO_PIN,
                    None,
                )?;
            }
            s.cashiers()
        })
        .await?;
    let training = window_store
        .clone()
        .run(|s| Ok(s.training_mode()?.is_some()))
        .await?;
    // The engine's connection is opened after the catalogue is in place, so
    // its first transaction never starts from a snapshot older than that write.
    let (engine, events) = Engine::open(
        config.clone(),
        EngineOptions {
            clock: clock.clone(),
            ..EngineOptions::default()
        },
    )?;
    let pin = match (&demo, &config_path) {
        (None, Some(path)) => PinStore::open(&PinStore::path_beside(path))?,
        _ => PinStore::in_memory(),
    };
    Ok(Boot {
        engine,
        events,
        config,
        config_path,
        catalog,
        window_store,
        pin: AdminPin::new(pin),
        demo,
        utc_offset,
        cashiers,
        training,
        clock,
    })
}

/// The system's language (`LC_ALL`, `LC_MESSAGES`, `LANG`), if the till speaks it.
pub(super) fn system_locale() -> Option<Locale> {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .filter_map(std::env::var_os)
        .find(|value| !value.is_empty())
        .and_then(|value| value.to_str()?.parse().ok())
}

/// The demo catalogue from `assets/demo-catalog.csv`.
pub fn demo_catalog() -> Catalog {
    // The file is part of the build and covered by a test; a broken one
    // still opens the till, with an empty grid.
    catalog_csv::parse(DEMO_CATALOG_CSV, Some(Country::No)).unwrap_or_else(|problems| {
        tracing::error!(?problems, "the demo catalogue does not parse");
        Catalog::default()
    })
}

pub(super) fn country_of(currency: Currency) -> Country {
    Country::of_currency(currency)
}

pub(super) fn calling_code(country: Country) -> &'static str {
    country.calling_code()
}
