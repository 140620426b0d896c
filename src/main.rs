//! `kasse`: the till. Opens the window by default; `kasse pay ...` runs a sale headless.

fn main() -> anyhow::Result<()> {
    println!("Kasse till: the window is not built yet.");
    Ok(())
}
