//! `kasse-sim`: a local Vipps MobilePay simulator.

fn main() -> anyhow::Result<()> {
    Ok(())
}
