//! `kasse-sim`: a faithful local Vipps MobilePay for demos, tests and training.
