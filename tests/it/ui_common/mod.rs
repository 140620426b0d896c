//! Headless driver for the till window: the real iced program (the same one
//! `kasse` runs) inside `iced_test`'s Emulator, with the real engine and the
//! demo simulator and relay on loopback. Clicks and typing go through the
//! widget tree; keys the window takes from its global keyboard listener
//! (barcode scanner, Enter/F12/Esc) are sent as the messages that listener
//! produces.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use iced::keyboard::{self, key::Named};
use iced::{Point, Settings, Size};
use iced_test::emulator::{self, Emulator, Mode};
use iced_test::instruction::{Interaction, Keyboard, Mouse, Target};
use iced_test::runtime::futures::futures::channel::mpsc;
use iced_test::simulator::Simulator;
use iced_test::{Instruction, Selector};

use kasse::cli::demo::DemoPhone;
use kasse::core::money::{Currency, Locale, format_minor};
use kasse::ui::i18n::I18n;
use kasse::ui::screen::KeyPress;
use kasse::ui::{App, Boot, Message, RunOptions, theme};

/// Generous deadline for anything that crosses the engine, simulator and relay.
pub const DEADLINE: Duration = Duration::from_secs(30);

const VIEWPORT: Size = Size::new(1280.0, 800.0);

/// The till's iced program (what `kasse::ui::program` returns).
pub trait TillProgram:
    iced::Program<State = App, Message = Message, Theme = iced::Theme> + 'static
{
}

impl<P> TillProgram for P where
    P: iced::Program<State = App, Message = Message, Theme = iced::Theme> + 'static
{
}

/// A running till window with its demo environment.
pub struct Harness<P: iced::Program + 'static> {
    program: P,
    emulator: Emulator<P>,
    events: mpsc::Receiver<emulator::Event<P>>,
    /// The simulated customer (same simulator the window uses).
    pub phone: DemoPhone,
    /// Translations, to find texts the way the cashier reads them.
    pub i18n: I18n,
    /// Keeps the engine, simulator and relay running.
    pub runtime: tokio::runtime::Runtime,
    /// The till's database (the window keeps its catalogue there).
    pub database: std::path::PathBuf,
    /// How many times the emulator said it was ready (one per interaction).
    ready: usize,
    _dir: tempfile::TempDir,
    /// Where the admin screen saves the configuration (nothing there at start).
    pub config_path: std::path::PathBuf,
}

fn settings() -> Settings {
    Settings {
        fonts: vec![
            theme::FONT_REGULAR_BYTES.into(),
            theme::FONT_BOLD_BYTES.into(),
        ],
        default_font: theme::FONT,
        ..Settings::default()
    }
}

/// Demo mode, started exactly as `kasse` starts without a configuration.
pub fn demo() -> Harness<impl TillProgram> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let options = RunOptions {
        config_path: Some(dir.path().join("kasse.toml")),
        demo: false,
        // The texts the tests look for are Norwegian, whatever the machine speaks.
        language: Some(Locale::Nb),
    };
    let boot = runtime
        .block_on(kasse::ui::app::start(options))
        .expect("the till starts in demo mode");
    let database = boot.config.database_path().expect("database path");
    let phone = boot
        .demo
        .as_ref()
        .expect("no configuration means demo mode")
        .phone
        .clone();
    let config_path = dir.path().join("kasse.toml");
    let mut harness = start(boot, phone, runtime, dir);
    harness.database = database;
    harness.config_path = config_path;
    // Demo mode starts at the log-in with its one cashier chosen: type the PIN, Enter.
    harness.wait_for_text(&harness.t("login-who"));
    harness.scan(kasse::ui::screen::login::DEMO_PIN);
    harness.wait_until("logged in", |h| !h.has_text(&h.t("login-who")));
    harness
}

/// Runs the window for `boot`.
pub fn start(
    boot: Boot,
    phone: DemoPhone,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
) -> Harness<impl TillProgram> {
    {
        // The emulator does not load fonts itself; the simulator does (globally).
        drop(Simulator::<()>::with_settings(
            settings(),
            iced::widget::text(""),
        ));
        let program = kasse::ui::program(boot);
        let (sender, events) = mpsc::channel(1024);
        // Patient: after each interaction the emulator reports Ready once the
        // tasks it started (focus moves, simulator calls) have finished.
        let emulator = Emulator::new(sender, &program, Mode::Patient, VIEWPORT);
        let mut harness = Harness {
            program,
            emulator,
            events,
            phone,
            i18n: I18n::new(Locale::Nb),
            runtime,
            database: std::path::PathBuf::new(),
            ready: 0,
            config_path: std::path::PathBuf::new(),
            _dir: dir,
        };
        harness.pump();
        harness
    }
}

impl<P: TillProgram> Harness<P> {
    /// Performs every action the program produced so far.
    pub fn pump(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(emulator::Event::Action(action)) => self.emulator.perform(&self.program, action),
                Ok(emulator::Event::Failed(instruction)) => {
                    panic!("instruction failed: {instruction}")
                }
                Ok(emulator::Event::Ready) => self.ready += 1,
                Err(_) => break,
            }
        }
    }

    /// Pumps until `condition` holds on the window, or panics at the deadline.
    pub fn wait_until(&mut self, what: &str, mut condition: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        loop {
            self.pump();
            if condition(self) {
                return;
            }
            if start.elapsed() > DEADLINE {
                let shot = std::env::temp_dir().join("kasse-ui-timeout.png");
                self.save_screenshot(&shot.to_string_lossy());
                panic!(
                    "timed out waiting for {what}; the window is in {}",
                    std::env::temp_dir()
                        .join("kasse-ui-timeout-tiny-skia.png")
                        .display()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the window shows exactly this text somewhere.
    pub fn wait_for_text(&mut self, text: &str) {
        let text = text.to_owned();
        self.wait_until(&format!("text {text:?}"), |h| h.has_text(&text));
    }

    fn simulator(&self) -> Simulator<'_, Message, iced::Theme, P::Renderer> {
        Simulator::with_size(settings(), VIEWPORT, self.emulator.view(&self.program))
    }

    /// Whether the window shows exactly this text (a label, or a field's value).
    pub fn has_text(&mut self, text: &str) -> bool {
        self.simulator().find(text).is_ok()
    }

    /// Where a selector's target is (centre of its visible bounds).
    fn centre_of(
        &mut self,
        selector: impl Selector<Output = iced_test::selector::Target> + Send,
    ) -> Option<Point> {
        let mut ui = self.simulator();
        let target = ui.find(selector).ok()?;
        target.visible_bounds().map(|b| b.center())
    }

    /// Runs an interaction and waits until the tasks it started are done.
    fn run(&mut self, instruction: Instruction) {
        let before = self.ready;
        let what = format!("the tasks of `{instruction}`");
        self.emulator.run(&self.program, instruction);
        self.wait_until(&what, |h| h.ready > before);
    }

    /// Whether this text is on screen and not scrolled or clipped away.
    pub fn is_visible(&mut self, text: &str) -> bool {
        self.simulator()
            .find(text)
            .is_ok_and(|target| target.visible_bounds().is_some())
    }

    /// Clicks the widget showing this text (the first one found).
    pub fn click(&mut self, text: &str) {
        assert!(self.is_visible(text), "nothing visible shows {text:?}");
        self.run(Instruction::Interact(Interaction::Mouse(Mouse::Click {
            button: iced::mouse::Button::Left,
            target: Some(Target::Text(text.to_owned())),
        })));
    }

    /// Clicks the widget with this id (catalogue tiles: `item-<id>`).
    pub fn click_id(&mut self, id: &str) {
        let point = self
            .centre_of(iced_test::selector::id(id.to_owned()))
            .unwrap_or_else(|| panic!("no visible widget with id {id:?}"));
        self.run(Instruction::Interact(Interaction::Mouse(Mouse::Click {
            button: iced::mouse::Button::Left,
            target: Some(Target::Point(point)),
        })));
    }

    /// Types text into the focused field.
    pub fn typewrite(&mut self, text: &str) {
        self.run(Instruction::Interact(Interaction::Keyboard(
            Keyboard::Typewrite(text.to_owned()),
        )));
    }

    /// Presses Enter in the focused field.
    pub fn enter_in_field(&mut self) {
        self.run(Instruction::Interact(Interaction::Keyboard(
            Keyboard::Type(iced_test::instruction::Key::Enter),
        )));
    }

    /// A key no widget takes, as the window's global keyboard listener sees it
    /// (a barcode scanner typing while no field has focus, Enter, F12, Esc).
    pub fn global_key(&mut self, key: keyboard::Key, text: Option<&str>) {
        let message = Message::Key(KeyPress {
            key,
            text: text.map(str::to_owned),
            modifiers: keyboard::Modifiers::default(),
        });
        self.emulator.update(&self.program, message);
        self.pump();
    }

    /// A scanner typing `code` and Enter into the global listener.
    pub fn scan(&mut self, code: &str) {
        for c in code.chars() {
            let s = c.to_string();
            self.global_key(keyboard::Key::Character(s.as_str().into()), Some(&s));
        }
        self.global_key(keyboard::Key::Named(Named::Enter), None);
    }

    pub fn named_key(&mut self, key: Named) {
        self.global_key(keyboard::Key::Named(key), None);
    }

    /// Admin on first use: choose `pin` (typed twice); Admin opens unlocked.
    pub fn set_admin_pin(&mut self, pin: &str) {
        use kasse::ui::screen::admin;
        self.click(&self.t("tab-admin"));
        self.wait_for_text(&self.t("admin-set-pin-title"));
        self.click_id(admin::PIN_ID);
        self.typewrite(pin);
        self.click_id(admin::PIN_REPEAT_ID);
        self.typewrite(pin);
        self.click(&self.t("admin-set-pin"));
        self.wait_for_text(&self.t("admin-test-connection"));
    }

    /// Sends a message to the window as if a widget had produced it.
    pub fn send(&mut self, message: Message) {
        self.emulator.update(&self.program, message);
        self.pump();
    }

    /// Writes what the window shows to a PNG (for looking at a failing test).
    /// (`iced_test` adds the renderer's name: `shot.png` becomes `shot-tiny-skia.png`.)
    pub fn save_screenshot(&mut self, path: &str) {
        // An existing file would be compared with, not replaced.
        let stem = path.strip_suffix(".png").unwrap_or(path);
        let _ = std::fs::remove_file(format!("{stem}-tiny-skia.png"));
        let snapshot = self
            .simulator()
            .snapshot(&kasse::ui::theme::theme())
            .expect("snapshot");
        let _ = snapshot.matches_image(path);
    }

    /// Translates like the window does.
    pub fn t(&self, id: &str) -> String {
        self.i18n.t(id)
    }

    pub fn t_args(&self, id: &str, args: &[(&str, kasse::ui::i18n::Arg<'_>)]) -> String {
        self.i18n.t_args(id, args)
    }

    /// Money as the window shows it (NOK, Norwegian).
    pub fn money(&self, minor: i64) -> String {
        format_minor(minor, Currency::Nok, Locale::Nb)
    }

    /// The state of the window (consumes the harness).
    pub fn into_app(self) -> App {
        self.emulator.into_state().0
    }
}
