//! The till window (iced 0.14, CPU renderer tiny-skia).
//!
//! Structure (after halloy/icebreaker): [`app::App`] is the root. It alone
//! holds shared state (catalogue, basket, engine handle, status) and starts
//! I/O, through typed async functions that live outside `ui/` (configuration,
//! catalogue store, PIN, connection test) run with `Task::perform`; it never
//! opens the database or builds an HTTP client itself. Each screen in [`screen`] owns its local state and `Message` enum and
//! returns an `Action` that the root carries out; screens never talk to the
//! engine, Vipps or the database themselves.

pub mod app;
mod error;
pub mod i18n;
pub mod screen;
pub mod theme;
pub mod widget;

use std::path::PathBuf;

pub use app::{App, Boot, Message};
pub use error::Error;

/// How `kasse` (no subcommand) opens the window.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Configuration file; `None` means the platform default path.
    pub config_path: Option<PathBuf>,
    /// Open in demo mode even if a configuration exists.
    pub demo: bool,
    /// Language of the window, over the configuration and the system's.
    pub language: Option<crate::core::money::Locale>,
}

/// The iced program of the till: used by [`run`] and by the UI tests, which
/// drive the very same program headless.
pub fn program(
    boot: Boot,
) -> iced::Daemon<impl iced::Program<State = App, Message = Message, Theme = iced::Theme>> {
    let boot = std::sync::Mutex::new(Some(boot));
    // A daemon: the till's window, and the customer display as a second window when asked.
    iced::daemon(
        move || {
            // iced boots the program once; the till's window is opened by `App::new`.
            let boot = boot
                .lock()
                .ok()
                .and_then(|mut slot| slot.take())
                .expect("the till window boots once");
            App::new(boot)
        },
        App::update,
        App::view_window,
    )
    .title(App::title_window)
    .theme(|app: &App, _| app.theme())
    .subscription(App::subscription)
    .font(theme::FONT_REGULAR_BYTES)
    .font(theme::FONT_BOLD_BYTES)
    .default_font(theme::FONT)
    .antialiasing(true)
}

/// Opens the till window and blocks until it is closed.
///
/// With no configuration (or `demo`), the till starts in demo mode: an
/// in-process simulator and relay, the demo catalogue and a simulated
/// customer phone.
pub fn run(options: RunOptions) -> anyhow::Result<()> {
    // The local UTC offset can only be read safely while the process has one
    // thread (see `time`'s docs), so before the runtime starts its workers.
    let utc_offset = time::UtcOffset::current_local_offset().ok();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("kasse-engine")
        .build()?;
    let mut boot = runtime.block_on(app::start(options))?;
    if let Some(offset) = utc_offset {
        boot.utc_offset = offset;
    }
    let result = program(boot).run();
    // Stop the engine (and the demo servers) with the window.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result.map_err(anyhow::Error::from)
}
