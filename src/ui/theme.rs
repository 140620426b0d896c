//! Look of the till: high contrast, big touch targets, one embedded font.
//!
//! Colours are chosen for a contrast ratio of at least 7:1 between text and
//! its background (WCAG AAA) on every button and banner, so the screen reads
//! at arm's length under shop lighting.

use iced::border::Radius;
use iced::font::Weight;
use iced::widget::{button, container, text_input};
use iced::{Background, Border, Color, Font, Shadow, Theme, color};

/// Inter, regular and bold (SIL Open Font License 1.1, `assets/fonts/Inter-OFL.txt`).
pub const FONT_REGULAR_BYTES: &[u8] = include_bytes!("../../assets/fonts/Inter-Regular.ttf");
/// Inter bold.
pub const FONT_BOLD_BYTES: &[u8] = include_bytes!("../../assets/fonts/Inter-Bold.ttf");

/// The default font of every text in the window.
pub const FONT: Font = Font::with_name("Inter");
/// Bold variant for amounts and headings.
pub const BOLD: Font = Font {
    weight: Weight::Bold,
    ..FONT
};

/// Text sizes (logical pixels).
pub mod size {
    /// Body text.
    pub const BODY: f32 = 20.0;
    /// Small print (status bar, hints).
    pub const SMALL: f32 = 16.0;
    /// Section headings.
    pub const HEADING: f32 = 28.0;
    /// The amount to pay.
    pub const AMOUNT: f32 = 56.0;
    /// Minimum height of anything the cashier taps (≥ 48 px touch target).
    pub const TOUCH: f32 = 64.0;
}

/// Near-black text.
pub const INK: Color = color!(0x111111);
/// Page background.
pub const PAPER: Color = color!(0xFFFFFF);
/// Panel background, a little off-white to group things.
pub const PANEL: Color = color!(0xF0F0F0);
/// Lines between things.
pub const RULE: Color = color!(0x6B6B6B);
/// Primary actions (dark blue, 10:1 with white).
pub const PRIMARY: Color = color!(0x0B3D91);
/// Pay / success (dark green, 7.4:1 with white).
pub const GO: Color = color!(0x0A5C2B);
/// Destructive / errors (dark red, 8:1 with white).
pub const STOP: Color = color!(0x9B0A0A);
/// Test environment marker: black on yellow.
pub const TEST_YELLOW: Color = color!(0xFFD400);
/// Demo marker: white on purple.
pub const DEMO_PURPLE: Color = color!(0x4B1F87);
/// Warning background (amber, black text).
pub const AMBER: Color = color!(0xFFB000);

/// The window's theme.
pub fn theme() -> Theme {
    Theme::custom(
        "Kasse high contrast",
        iced::theme::Palette {
            background: PAPER,
            text: INK,
            primary: PRIMARY,
            success: GO,
            warning: AMBER,
            danger: STOP,
        },
    )
}

fn solid_button(background: Color, foreground: Color, status: button::Status) -> button::Style {
    let background = match status {
        button::Status::Active => background,
        button::Status::Hovered => mix(background, Color::WHITE, 0.12),
        button::Status::Pressed => mix(background, Color::BLACK, 0.25),
        button::Status::Disabled => color!(0xBDBDBD),
    };
    let text_color = match status {
        button::Status::Disabled => color!(0x3A3A3A),
        _ => foreground,
    };
    button::Style {
        background: Some(Background::Color(background)),
        text_color,
        border: Border {
            color: INK,
            width: 2.0,
            radius: Radius::new(8.0),
        },
        shadow: Shadow::default(),
        snap: true,
    }
}

fn mix(a: Color, b: Color, t: f32) -> Color {
    Color {
        r: a.r + (b.r - a.r) * t,
        g: a.g + (b.g - a.g) * t,
        b: a.b + (b.b - a.b) * t,
        a: 1.0,
    }
}

/// The Pay / confirm button.
pub fn go_button(_: &Theme, status: button::Status) -> button::Style {
    solid_button(GO, Color::WHITE, status)
}

/// Ordinary primary actions.
pub fn primary_button(_: &Theme, status: button::Status) -> button::Style {
    solid_button(PRIMARY, Color::WHITE, status)
}

/// Cancel, remove, refund.
pub fn stop_button(_: &Theme, status: button::Status) -> button::Style {
    solid_button(STOP, Color::WHITE, status)
}

/// Neutral buttons (quantity, keypad, tabs): black on white with a strong border.
pub fn plain_button(_: &Theme, status: button::Status) -> button::Style {
    solid_button(PAPER, INK, status)
}

/// A tab or filter that is currently selected.
pub fn selected_button(_: &Theme, status: button::Status) -> button::Style {
    solid_button(INK, Color::WHITE, status)
}

/// Catalogue tiles.
pub fn tile_button(_: &Theme, status: button::Status) -> button::Style {
    let mut style = solid_button(PANEL, INK, status);
    style.border.width = 2.0;
    style
}

/// Text inputs: thick border, white field.
pub fn input(_: &Theme, status: text_input::Status) -> text_input::Style {
    let border_color = match status {
        text_input::Status::Focused { .. } => PRIMARY,
        _ => INK,
    };
    text_input::Style {
        background: Background::Color(PAPER),
        border: Border {
            color: border_color,
            width: match status {
                text_input::Status::Focused { .. } => 3.0,
                _ => 2.0,
            },
            radius: Radius::new(6.0),
        },
        icon: INK,
        placeholder: color!(0x555555),
        value: INK,
        selection: color!(0x9EC5FF),
    }
}

/// A grouped panel.
pub fn panel(_: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(PANEL)),
        border: Border {
            color: RULE,
            width: 1.0,
            radius: Radius::new(8.0),
        },
        text_color: Some(INK),
        ..container::Style::default()
    }
}

/// A solid banner with the given colours.
pub fn banner(background: Color, foreground: Color) -> impl Fn(&Theme) -> container::Style {
    move |_| container::Style {
        background: Some(Background::Color(background)),
        text_color: Some(foreground),
        ..container::Style::default()
    }
}

/// The white box around the QR code (its quiet zone must stay white).
pub fn qr_frame(_: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(Color::WHITE)),
        border: Border {
            color: INK,
            width: 3.0,
            radius: Radius::new(0.0),
        },
        ..container::Style::default()
    }
}

/// The simulated phone: dark bezel so it cannot be mistaken for part of the till.
pub fn phone(_: &Theme) -> container::Style {
    container::Style {
        background: Some(Background::Color(color!(0xF7F2FF))),
        border: Border {
            color: DEMO_PURPLE,
            width: 6.0,
            radius: Radius::new(24.0),
        },
        text_color: Some(INK),
        ..container::Style::default()
    }
}
