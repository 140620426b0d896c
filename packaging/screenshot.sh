#!/usr/bin/env bash
# Screenshot of the Pay screen from the real till window.
#
# Starts `kasse` under Xvfb with no configuration (so: demo mode, with its
# in-process simulator and relay), logs in as the demo cashier, scans two items
# with the keyboard the way a barcode scanner does, presses Enter to pay, waits
# until the screen shows a QR code that zbarimg can read, and saves the screen.
#
# Usage: packaging/screenshot.sh [--binary PATH] [--out PNG] [--xwd FILE]
#                                [--log FILE] [--hold FILE]
#   --binary  the kasse binary (default: target/release/kasse, built if missing)
#   --out     PNG to write (default: docs/screenshot-pay.png; `-`: none)
#   --xwd     also keep the raw X window dump here
#   --log     the till's log (stderr) goes here
#   --hold    once the screenshot is saved, create this file and keep the till
#             running until the file is deleted (tests use it to ask the
#             simulator what it minted while the window is still up)
#
# Needs: xvfb-run (xvfb, xauth), xdotool, xwd (x11-apps), zbarimg (zbar-tools),
# and python3 or ImageMagick for the PNG.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
binary="$root/target/release/kasse"
out="$root/docs/screenshot-pay.png"
xwd_file=""
log=""
hold=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --xwd) xwd_file="$2"; shift 2 ;;
        --log) log="$2"; shift 2 ;;
        --hold) hold="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

for tool in xvfb-run xdotool xwd zbarimg; do
    command -v "$tool" >/dev/null || {
        echo "screenshot.sh: $tool is missing (apt-get install xvfb xauth xdotool x11-apps zbar-tools)" >&2
        exit 3
    }
done

# Outside Xvfb: start one (1280x800, the till's window size) and run again inside it.
if [ -z "${KASSE_SCREENSHOT_INNER:-}" ]; then
    if [ ! -x "$binary" ]; then
        (cd "$root" && cargo build --release --bin kasse)
    fi
    exec xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
        env KASSE_SCREENSHOT_INNER=1 "$0" --binary "$binary" --out "$out" \
        ${xwd_file:+--xwd "$xwd_file"} ${log:+--log "$log"} ${hold:+--hold "$hold"}
fi

work="$(mktemp -d)"
[ -n "$log" ] || log="$work/kasse.log"
[ -n "$xwd_file" ] || xwd_file="$work/screen.xwd"
mkdir -p "$work/home" "$work/config" "$work/data"
[ "$out" = "-" ] || mkdir -p "$(dirname "$out")"

# A fresh home: no configuration anywhere, so the till opens in demo mode.
HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" \
    RUST_LOG="warn,kasse=info" NO_COLOR=1 KASSE_TILL_LANGUAGE=nb \
    "$binary" 2>"$log" &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until the till's log contains $1 (deadline $2 seconds).
wait_for_log() {
    local pattern="$1" deadline=$((SECONDS + $2))
    until grep -qs "$pattern" "$log"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "screenshot.sh: the till exited; its log:" >&2
            cat "$log" >&2
            exit 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "screenshot.sh: timed out waiting for '$pattern'; the till's log:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

wait_for_log "till ready" 60
window="$(xdotool search --sync --onlyvisible --name '^Kasse' | head -n 1)"
# No window manager under Xvfb: focus follows the pointer.
xdotool mousemove --window "$window" 640 400
xdotool windowfocus --sync "$window" 2>/dev/null || true

# Demo mode starts at the log-in with the demo cashier chosen: PIN, Enter.
xdotool type --delay 15 1234
xdotool key Return
wait_for_log "cashier logged in" 30

# Two items by barcode (Kaffe, Kanelbolle), as a scanner types them, then Enter = Pay.
xdotool type --delay 15 2000000000015
xdotool key Return
xdotool type --delay 15 2000000000060
xdotool key Return
xdotool key Return
wait_for_log "pay screen" 30

# Capture until the QR on screen reads back (the frame after the switch).
deadline=$((SECONDS + 30))
until xwd -root -silent >"$xwd_file" && zbarimg -q --raw "$xwd_file" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
        echo "screenshot.sh: no readable QR on screen" >&2
        exit 1
    fi
    sleep 0.2
done

to_png() {
    if command -v python3 >/dev/null; then
        python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
h = struct.unpack(">25I", data[:100])
header_size, width, height = h[0], h[4], h[5]
byte_order, bpp, bpl = h[7], h[11], h[12]
masks, ncolors = h[14:17], h[19]
if bpp not in (24, 32):
    sys.exit(f"unsupported xwd: {bpp} bits per pixel")
pixels = data[header_size + 12 * ncolors:]
endian = "<" if byte_order == 0 else ">"
shift = lambda m: (m & -m).bit_length() - 1
shifts = [shift(m) for m in masks]
step = bpp // 8
rows = []
for y in range(height):
    line = pixels[y * bpl:(y + 1) * bpl]
    row = bytearray(b"\0")
    for x in range(width):
        chunk = line[x * step:(x + 1) * step]
        v = int.from_bytes(chunk, "little" if endian == "<" else "big")
        row += bytes(((v & m) >> s) & 0xFF for m, s in zip(masks, shifts))
    rows.append(bytes(row))
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
open(sys.argv[2], "wb").write(png)
PY
    elif convert -version 2>/dev/null | grep -q ImageMagick; then
        convert "xwd:$1" "png:$2"
    else
        echo "screenshot.sh: python3 or ImageMagick is needed for the PNG" >&2
        return 1
    fi
}
if [ "$out" != "-" ]; then
    to_png "$xwd_file" "$out"
    echo "screenshot.sh: saved $out"
fi

if [ -n "$hold" ]; then
    : >"$hold"
    deadline=$((SECONDS + 120))
    while [ -e "$hold" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
fi
