//! The till's payment engine: owns the sale in progress, persists intent before
//! every Vipps call, reacts to relay events and poll results.
