//! The real `kasse` window under Xvfb (via `packaging/screenshot.sh`): the QR
//! on the Pay screen, cut out of the screenshot, must decode with `zbarimg` to
//! exactly the `qrContent` the simulator minted for the till.
//!
//! Needs xvfb-run, xdotool, xwd and zbarimg (CI installs them). Without them
//! the test says so and passes, unless `KASSE_REQUIRE_XVFB=1` asks for it.

#![cfg(feature = "gui")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kasse::vipps::{Client, Environment, QrImageFormat, VippsConfig};

const DEADLINE: Duration = Duration::from_secs(180);

fn tool(name: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tools_present() -> bool {
    ["xvfb-run", "xdotool", "xwd", "zbarimg"]
        .into_iter()
        .all(tool)
}

/// An RGB image read from an X window dump (ZPixmap, 24 or 32 bits per pixel).
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

fn read_xwd(path: &Path) -> Image {
    let data = std::fs::read(path).expect("xwd file");
    let field = |i: usize| u32::from_be_bytes(data[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
    let (header_size, width, height) = (field(0), field(4), field(5));
    let (byte_order, bits_per_pixel, bytes_per_line) = (field(7), field(11), field(12));
    let masks = [field(14) as u32, field(15) as u32, field(16) as u32];
    let ncolors = field(19);
    assert!(
        matches!(bits_per_pixel, 24 | 32),
        "xwd with {bits_per_pixel} bits per pixel"
    );
    let step = bits_per_pixel / 8;
    let pixels = &data[header_size + 12 * ncolors..];
    let mut rgb = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let at = y * bytes_per_line + x * step;
            let bytes = &pixels[at..at + step];
            let mut value: u32 = 0;
            for (i, b) in bytes.iter().enumerate() {
                value |= if byte_order == 0 {
                    u32::from(*b) << (8 * i)
                } else {
                    u32::from(*b) << (8 * (step - 1 - i))
                };
            }
            rgb.push(masks.map(|m| ((value & m) >> m.trailing_zeros()) as u8));
        }
    }
    Image { width, height, rgb }
}

/// Cuts the QR out of the screen: the modules are the only pure black pixels
/// the till draws (its text and borders are #111111). The crop keeps four
/// modules' worth of white around it.
fn cut_qr(image: &Image) -> Image {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..image.height {
        for x in 0..image.width {
            if image.rgb[y * image.width + x] == [0, 0, 0] {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    assert!(x0 < x1 && y0 < y1, "no QR modules on screen");
    let side = (x1 - x0).max(y1 - y0) + 1;
    assert!(
        side > 150,
        "the QR is {side} px: too small to be the Pay screen's"
    );
    let margin = side / 6;
    let size = side + 2 * margin;
    let mut rgb = vec![[255, 255, 255]; size * size];
    for y in y0..=y1 {
        for x in x0..=x1 {
            rgb[(y - y0 + margin) * size + (x - x0 + margin)] = image.rgb[y * image.width + x];
        }
    }
    Image {
        width: size,
        height: size,
        rgb,
    }
}

fn write_png(image: &Image, path: &Path) {
    let file = std::fs::File::create(path).expect("png file");
    let mut encoder = png::Encoder::new(file, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    let bytes: Vec<u8> = image.rgb.iter().flatten().copied().collect();
    writer.write_image_data(&bytes).expect("png data");
}

/// The log without terminal colour codes.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `key=value` from the till's log line that contains `marker`.
fn log_value(log: &str, marker: &str, key: &str) -> Option<String> {
    let log = plain(log);
    let line = log.lines().find(|line| line.contains(marker))?;
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[start..];
    let value = rest.split_whitespace().next()?;
    Some(value.trim_matches('"').to_owned())
}

async fn minted_qr_content(simulator: &str, merchant_qr_id: &str) -> String {
    let config = VippsConfig::new(
        Environment::Custom(simulator.parse().expect("simulator URL")),
        kasse::sim::TEST_CLIENT_ID,
        kasse::sim::TEST_CLIENT_SECRET,
        kasse::sim::TEST_SUBSCRIPTION_KEY,
        kasse::sim::TEST_MSN,
    );
    let client = Client::new(config).expect("client");
    client
        .qr_get(merchant_qr_id, QrImageFormat::Svg)
        .await
        .expect("the simulator knows the till's QR")
        .qr_content
        .expect("the simulator returns qrContent")
}

#[test]
fn pay_screen_qr_decodes_to_the_simulators_qr_content() {
    if !tools_present() {
        assert!(
            std::env::var_os("KASSE_REQUIRE_XVFB").is_none(),
            "KASSE_REQUIRE_XVFB is set but xvfb-run, xdotool, xwd or zbarimg is missing"
        );
        eprintln!("skipped: xvfb-run, xdotool, xwd and zbarimg are needed");
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let png = dir.path().join("pay.png");
    let xwd = dir.path().join("pay.xwd");
    let log_path = dir.path().join("kasse.log");
    let hold = dir.path().join("hold");
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "packaging", "screenshot.sh"]
        .iter()
        .collect();
    // The PNG needs python3 (or ImageMagick); the check itself reads the raw dump.
    let with_png = tool("python3");
    let mut child = Command::new("bash")
        .arg(&script)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_kasse"))
        .arg("--out")
        .arg(if with_png {
            png.as_os_str()
        } else {
            "-".as_ref()
        })
        .arg("--xwd")
        .arg(&xwd)
        .arg("--log")
        .arg(&log_path)
        .arg("--hold")
        .arg(&hold)
        .spawn()
        .expect("screenshot.sh runs");

    let start = Instant::now();
    while !hold.exists() {
        if let Some(status) = child.try_wait().expect("script status") {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("screenshot.sh ended with {status} before the screenshot; log:\n{log}");
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for the screenshot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // While the till still runs: what did its simulator mint?
    let log = std::fs::read_to_string(&log_path).expect("till log");
    let simulator = log_value(&log, "demo mode", "simulator").expect("simulator URL in the log");
    let merchant_qr_id =
        log_value(&log, "demo mode", "merchant_qr_id").expect("merchant QR id in the log");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let minted = runtime.block_on(minted_qr_content(&simulator, &merchant_qr_id));
    std::fs::remove_file(&hold).expect("release the till");
    let status = child.wait().expect("script exit");
    assert!(status.success(), "screenshot.sh failed: {status}");
    if with_png {
        let size = png.metadata().map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 10_000,
            "a PNG of the screen was written ({size} bytes)"
        );
    }

    let screen = read_xwd(&xwd);
    assert_eq!((screen.width, screen.height), (1280, 800));
    let qr = cut_qr(&screen);
    let crop = dir.path().join("qr.png");
    write_png(&qr, &crop);
    let output = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&crop)
        .output()
        .expect("zbarimg runs");
    assert!(
        output.status.success(),
        "zbarimg read no QR from the cut-out"
    );
    let decoded = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(decoded.trim_end_matches('\n'), minted);
    assert!(minted.starts_with("https://qr.vipps.no/"), "{minted}");
}
