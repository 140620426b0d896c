//! The layers hold (DESIGN.md): a plain scan of the source.
//!
//! - `src/core/` names nothing of ours outside `core` and does no I/O (no `std::fs`,
//!   `std::net`, `std::io`, `std::process`, `std::env`, `std::thread`, no tokio, rusqlite,
//!   reqwest, axum, hyper, iced, ...);
//! - `src/engine/`, `src/store/` and `src/core/` never name `ui`, `cli`, `demo`, `sim` or
//!   `relay::server`: the engine does not know who drives it;
//! - `src/ui/` opens no database, file or socket and builds no HTTP client itself: it starts
//!   typed async functions that live outside `ui/`;
//! - nothing but `src/clock.rs` reads the wall clock (`SystemTime::now`, `now_utc`, ...):
//!   everything else takes the injected `crate::clock::Clock`.
//!
//! Every path is resolved before it is judged: `use` trees with braces are expanded, and
//! `super::` is resolved against the file's module and any inline `mod` it sits in. Comments and
//! string literals are ignored.

use std::path::{Path, PathBuf};

/// Crates (and parts of `std`) that do I/O: never in `core`.
const IO_PATHS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::io",
    "std::process",
    "std::env",
    "std::thread",
    "tokio",
    "tokio_tungstenite",
    "rusqlite",
    "rusqlite_migration",
    "reqwest",
    "axum",
    "hyper",
    "iced",
    "directories",
];

/// What the engine, the store and the core must not name.
const DRIVERS: &[&str] = &[
    "crate::ui",
    "crate::cli",
    "crate::demo",
    "crate::sim",
    "crate::relay::server",
];

/// What the window must not use itself.
const WINDOW_IO: &[&str] = &[
    "std::fs",
    "std::net",
    "tokio::fs",
    "tokio::net",
    "rusqlite",
    "reqwest",
    "crate::store::Store",
    "crate::vipps::Client",
];

/// Roots a path can start from that the scan resolves.
const ROOTS: &[&str] = &[
    "crate",
    "super",
    "std",
    "tokio",
    "tokio_tungstenite",
    "rusqlite",
    "rusqlite_migration",
    "reqwest",
    "axum",
    "hyper",
    "iced",
    "directories",
];

/// The source with comments, string and character literals blanked (line breaks kept).
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string r"..." / r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match chars.get(j) {
                    None => break,
                    Some('"') if (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) => {
                        j += 1 + hashes;
                        break;
                    }
                    _ => j += 1,
                }
            }
            for &ch in &chars[i..j.min(chars.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Parses a path (tree) starting at `chars[i]`, expanding `{a, b::{c}}`. Returns the full paths
/// and where parsing stopped.
fn parse_tree(chars: &[char], mut i: usize, prefix: &str, out: &mut Vec<String>) -> usize {
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    let mut path = prefix.to_string();
    loop {
        skip_ws(&mut i);
        if chars.get(i) == Some(&'{') {
            i += 1;
            loop {
                skip_ws(&mut i);
                match chars.get(i) {
                    Some('}') => return i + 1,
                    Some(',') => i += 1,
                    None => return i,
                    _ => {
                        let before = i;
                        i = parse_tree(chars, i, &path, out);
                        if i == before {
                            i += 1;
                        }
                    }
                }
            }
        }
        let start = i;
        while i < chars.len() && (is_ident(chars[i]) || chars[i] == '*') {
            i += 1;
        }
        if i == start {
            out.push(path);
            return i;
        }
        let segment: String = chars[start..i].iter().collect();
        if path.is_empty() {
            path = segment;
        } else {
            path = format!("{path}::{segment}");
        }
        skip_ws(&mut i);
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// `a::b::super::c` → `a::c`; `self` segments dropped.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split("::") {
        match segment {
            "super" => {
                parts.pop();
            }
            "self" => {}
            other => parts.push(other),
        }
    }
    parts.join("::")
}

/// Every path the source names from one of [`ROOTS`], resolved to an absolute path
/// (`crate::...`, `std::...`, `tokio::...`), with the line it is on. `module` is the file's
/// module path (`["engine", "actor"]`).
fn paths(source: &str, module: &[String]) -> Vec<(usize, String)> {
    let stripped = strip(source);
    let chars: Vec<char> = stripped.chars().collect();
    let mut found = Vec::new();
    // Inline modules: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => line += 1,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            _ => {}
        }
        let boundary = i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':');
        if !(boundary && is_ident(c)) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        if word == "mod" {
            // `mod name {` opens an inline module.
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let name_start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            let name: String = chars[name_start..j].iter().collect();
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            if !name.is_empty() && chars.get(j) == Some(&'{') {
                inline.push((name, depth + 1));
            }
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let is_path = chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':');
        if !(is_path && ROOTS.contains(&word.as_str())) {
            continue;
        }
        let mut tree = Vec::new();
        let end = parse_tree(&chars, start, "", &mut tree);
        for path in tree {
            let absolute = if path.starts_with("super") {
                let mut here: Vec<String> = vec!["crate".into()];
                here.extend(module.iter().cloned());
                here.extend(inline.iter().map(|(name, _)| name.clone()));
                normalise(&format!("{}::{path}", here.join("::")))
            } else {
                normalise(&path)
            };
            found.push((line, absolute));
        }
        // The lines the path itself spanned (its braces are balanced).
        line += chars[i..end.max(i)].iter().filter(|c| **c == '\n').count();
        i = end.max(i);
    }
    found
}

/// `path` is `prefix` or below it.
fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}::"))
}

/// The layering problems of one file (`relative`: its path under `src/`).
fn problems(relative: &str, source: &str) -> Vec<String> {
    let module: Vec<String> = {
        let without = relative.trim_end_matches(".rs");
        let mut parts: Vec<String> = without.split('/').map(str::to_owned).collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        parts
    };
    let layer = module.first().map(String::as_str).unwrap_or_default();
    let mut found = Vec::new();
    for (line, path) in paths(source, &module) {
        let at = format!("src/{relative}:{line}");
        if matches!(layer, "core" | "engine" | "store")
            && let Some(driver) = DRIVERS.iter().find(|d| under(&path, d))
        {
            found.push(format!("{at}: {layer} names {driver} ({path})"));
        }
        if layer == "ui"
            && let Some(io) = WINDOW_IO.iter().find(|io| under(&path, io))
        {
            found.push(format!("{at}: the window uses {io} itself ({path})"));
        }
        if layer == "core" {
            if under(&path, "crate") && !under(&path, "crate::core") {
                found.push(format!(
                    "{at}: core imports {path} (core depends on nothing of ours)"
                ));
            }
            if let Some(io) = IO_PATHS.iter().find(|io| under(&path, io)) {
                found.push(format!("{at}: core does I/O through {io} ({path})"));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_engine_and_store_keep_their_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in ["core", "engine", "store", "ui"] {
        rust_files(&src.join(layer), &mut files);
    }
    assert!(
        files.len() > 20,
        "the scan found only {} files",
        files.len()
    );
    let mut found = Vec::new();
    let mut scanned_paths = 0;
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(file).unwrap();
        let module: Vec<String> = relative
            .trim_end_matches(".rs")
            .split('/')
            .map(str::to_owned)
            .collect();
        scanned_paths += paths(&source, &module).len();
        found.extend(problems(&relative, &source));
    }
    assert!(
        scanned_paths > 200,
        "only {scanned_paths} paths seen: is the scan broken?"
    );
    assert!(
        found.is_empty(),
        "the layers are broken:\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_scan_finds_what_breaks_a_layer() {
    // Grouped imports, super chains out of core, an inline path, an I/O crate.
    let core = "use crate::core::money::Money;\n\
                use crate::{config::Config, core::vat};\n\
                use super::super::store::Store;\n\
                fn f() { let _ = std::fs::read(\"x\"); tokio::spawn(async {}); }\n\
                use std::{collections::HashMap, net::TcpStream};\n";
    let found = problems("core/basket.rs", core);
    let joined = found.join("\n");
    assert!(
        joined.contains("core imports crate::config::Config"),
        "{joined}"
    );
    assert!(
        joined.contains("core imports crate::store::Store"),
        "{joined}"
    );
    assert!(joined.contains("std::fs"), "{joined}");
    assert!(joined.contains("through tokio"), "{joined}");
    assert!(joined.contains("std::net::TcpStream"), "{joined}");
    assert!(!joined.contains("crate::core::money"), "{joined}");
    assert!(!joined.contains("HashMap"), "{joined}");
    assert_eq!(found.len(), 5, "{joined}");

    let engine = "use crate::relay::{client::RelayClient, server::RelayError};\n\
                  use super::super::cli::demo;\n\
                  fn g() { crate::sim::spawn(); let _ = crate::ui::app::start; }\n\
                  use crate::relay::client;\n";
    let found = problems("engine/actor.rs", engine).join("\n");
    for driver in [
        "crate::relay::server",
        "crate::cli",
        "crate::sim",
        "crate::ui",
    ] {
        assert!(
            found.contains(&format!("names {driver} ")),
            "{driver}: {found}"
        );
    }
    assert!(!found.contains("client::RelayClient"), "{found}");

    let window =
        "use crate::store::{WindowStore, Store};\nfn s() { let _ = std::fs::read(\"x\"); }\n";
    let found = problems("ui/app.rs", window).join("\n");
    assert!(found.contains("uses crate::store::Store itself"), "{found}");
    assert!(found.contains("uses std::fs itself"), "{found}");
    assert!(!found.contains("WindowStore"), "{found}");

    // Within core, `super` from a nested file or an inline test module stays in core.
    let fine =
        "use super::money::Money;\nmod tests {\n use super::*;\n use super::super::vat;\n}\n";
    assert_eq!(problems("core/basket.rs", fine), Vec::<String>::new());
    // From core/mod.rs one `super` is already the crate.
    assert_eq!(problems("core/mod.rs", "use super::config;\n").len(), 1);
    // Comments and strings do not count.
    let quiet = "// use crate::ui::App;\n/* crate::cli */ const S: &str = \"crate::sim::x\";\n\
                 const R: &str = r#\"tokio::spawn\"#; fn l<'a>(c: char) -> bool { c == '{' }\n";
    assert_eq!(problems("engine/x.rs", quiet), Vec::<String>::new());
    assert_eq!(problems("core/x.rs", quiet), Vec::<String>::new());
}

/// The modules of `src/sim/` (one file each) and which of them each names.
fn sim_module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let mut graph = std::collections::BTreeMap::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "mod" {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        let module = vec!["sim".to_string(), name.clone()];
        let named = paths(&source, &module)
            .into_iter()
            .filter_map(|(_, p)| {
                let rest = p.strip_prefix("crate::sim::")?;
                let first = rest.split("::").next()?.to_string();
                (first != name).then_some(first)
            })
            .collect();
        graph.insert(name, named);
    }
    graph
}

#[test]
fn the_simulators_modules_name_each_other_without_cycles() {
    let graph = sim_module_graph();
    assert!(
        graph.len() > 10,
        "only {} simulator modules seen",
        graph.len()
    );
    // Depth-first search for a module that reaches itself again.
    fn reaches(
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        from: &str,
        target: &str,
        path: &mut Vec<String>,
    ) -> bool {
        for next in graph.get(from).into_iter().flatten() {
            if next == target {
                return true;
            }
            if !path.contains(next) && graph.contains_key(next) {
                path.push(next.clone());
                if reaches(graph, next, target, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    for module in graph.keys() {
        let mut path = vec![module.clone()];
        assert!(
            !reaches(&graph, module, module, &mut path),
            "an import cycle in src/sim: {} -> {module}",
            path.join(" -> ")
        );
    }
}

/// Wall-clock reads that bypass the injected clock.
const WALL_CLOCK_READS: &[&str] = &[
    "SystemTime::now",
    "OffsetDateTime::now_utc",
    "OffsetDateTime::now_local",
    "Utc::now",
    "Local::now",
];

/// The places a wall-clock read found in `source` (comments and strings ignored).
fn wall_clock_reads(source: &str) -> Vec<(usize, &'static str)> {
    let stripped = strip(source);
    let mut found = Vec::new();
    for (n, line) in stripped.lines().enumerate() {
        let flat: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        for read in WALL_CLOCK_READS {
            if flat.contains(read) {
                found.push((n + 1, *read));
            }
        }
    }
    found
}

#[test]
fn only_the_clock_module_reads_the_wall_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "clock.rs" {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap();
        for (line, read) in wall_clock_reads(&source) {
            found.push(format!(
                "{relative}:{line} reads {read}: take a crate::clock::Clock"
            ));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(
        wall_clock_reads(
            "let a = std::time::SystemTime::now();\n// SystemTime::now()\n\
             let b = time::OffsetDateTime::now_utc();\nlet s = \"Utc::now\";\n"
        ),
        vec![(1, "SystemTime::now"), (3, "OffsetDateTime::now_utc")]
    );
}
