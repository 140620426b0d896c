//! `kasse-relay`: public webhook relay for Kasse tills.

fn main() -> anyhow::Result<()> {
    Ok(())
}
