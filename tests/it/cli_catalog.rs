//! `kasse catalog import` / `export`: the CSV the admin screen imports, headless, all or nothing.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kasse");

struct Till {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

fn till() -> Till {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kasse.toml");
    let db = dir.path().join("data").join("kasse.db");
    std::fs::write(
        &config,
        format!(
            "[till]\ncurrency = \"nok\"\n[store]\ndatabase = {:?}\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    Till { dir, config }
}

fn kasse(till: &Till, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--config")
        .arg(&till.config)
        .args(args)
        .env_remove("KASSE_CONFIG")
        .env_remove("KASSE_STORE_DATABASE")
        .output()
        .unwrap()
}

fn lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn import_then_export_round_trips_names_with_quotes_and_line_breaks() {
    let till = till();
    let csv = till.dir.path().join("items.csv");
    std::fs::write(
        &csv,
        "id;name;price;vat;barcodes;category\n\
         brod;\"Brød \"\"grovt\"\"\nskivet\";42,50;15;7040000000011;Bakeri\n\
         kopp;Termokopp;199;25;;\n",
    )
    .unwrap();
    let out = kasse(&till, &["catalog", "import", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out)[0]["items"], 2);

    let out = kasse(&till, &["catalog", "export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = String::from_utf8(out.stdout).unwrap();
    let catalog = kasse::core::catalog_csv::parse(&exported, None).unwrap();
    assert_eq!(
        catalog.by_id("brod").unwrap().name,
        "Brød \"grovt\"\nskivet"
    );
    assert_eq!(
        catalog.by_barcode("7040000000011").unwrap().unit_price,
        4250
    );
    assert_eq!(catalog.by_id("kopp").unwrap().vat.basis_points(), 2500);

    // Exported to a file, the same catalogue imports again unchanged.
    let file = till.dir.path().join("export.csv");
    let out = kasse(&till, &["catalog", "export", file.to_str().unwrap()]);
    assert!(out.status.success());
    let out = kasse(&till, &["catalog", "import", file.to_str().unwrap()]);
    assert!(out.status.success());
    let out = kasse(&till, &["catalog", "export"]);
    assert_eq!(
        kasse::core::catalog_csv::parse(&String::from_utf8(out.stdout).unwrap(), None).unwrap(),
        catalog
    );
}

#[test]
fn a_bad_file_names_every_problem_and_keeps_the_old_catalogue() {
    let till = till();
    let good = till.dir.path().join("good.csv");
    std::fs::write(&good, "id;name;price;vat\nkaffe;Kaffe;35;15\n").unwrap();
    assert!(
        kasse(&till, &["catalog", "import", good.to_str().unwrap()])
            .status
            .success()
    );

    let bad = till.dir.path().join("bad.csv");
    // Line 3: not a price; line 4: 17 % is no Norwegian VAT rate.
    std::fs::write(&bad, "id;name;price;vat\na;A;10;25\nb;B;ti;25\nc;C;10;17\n").unwrap();
    let out = kasse(&till, &["catalog", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let problems = lines(&out);
    let at: Vec<i64> = problems
        .iter()
        .map(|p| p["line"].as_i64().unwrap())
        .collect();
    assert_eq!(at, vec![3, 4], "{problems:?}");
    assert!(problems.iter().all(|p| p["type"] == "csv_problem"));

    let out = kasse(&till, &["catalog", "export"]);
    let catalog =
        kasse::core::catalog_csv::parse(&String::from_utf8(out.stdout).unwrap(), None).unwrap();
    assert_eq!(catalog.len(), 1);
    assert!(catalog.by_id("kaffe").is_some());

    let missing = kasse(&till, &["catalog", "import", "/nonexistent/items.csv"]);
    assert_eq!(missing.status.code(), Some(2));
}
