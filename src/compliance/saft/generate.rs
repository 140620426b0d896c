//! A store full of signed sales, made quickly for `kasse bench saft`: each sale is frozen,
//! paid (a completed Vipps attempt), completed and signed through the store and compliance
//! layers, a thousand per transaction; every 50th sale is partly refunded and signed as a
//! return. The clock is injected: sales are 10 s apart from `start_ms`.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::params;

use crate::clock::ManualClock;
use crate::compliance::{ComplianceError, Signer, sign_return, sign_sale};
use crate::core::basket::Basket;
use crate::core::catalog::Item;
use crate::core::money::Currency;
use crate::core::sale::SaleState;
use crate::core::tender::{Part, TenderKind};
use crate::core::vat::VatRate;
use crate::store::{Store, StoreError};

/// Sales per database transaction.
const BATCH: u64 = 1_000;
/// Time between two generated sales.
const STEP_MS: i64 = 10_000;

/// What [`fill`] made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    pub sales: u64,
    pub returns: u64,
    pub elapsed: Duration,
    /// Of which spent signing (the RSA operations and their rows).
    pub signing: Duration,
    /// The time of the last sale (Unix ms).
    pub last_ms: i64,
}

/// The generated catalogue: categories and all Norwegian rates.
pub fn catalogue() -> Vec<Item> {
    vec![
        Item::new("1001", "Kaffe & kake", 6_500, VatRate::NO_FOOD).with_category("Kafé"),
        Item::new("1002", "Brus 0,5 l", 3_900, VatRate::NO_FOOD).with_category("Drikke"),
        Item::new("2001", "T-skjorte <logo>", 24_900, VatRate::NO_STANDARD).with_category("Klær"),
        Item::new("3001", "Billett", 12_000, VatRate::NO_REDUCED).with_category("Billetter"),
        Item::new("4001", "Avis", 4_000, VatRate::ZERO),
    ]
}

/// Fills the database at `path` with `sales` signed sales from `start_ms`. `progress` is
/// called after each batch with the sales made so far.
pub fn fill(
    path: &Path,
    signer: &Signer,
    sales: u64,
    start_ms: i64,
    mut progress: impl FnMut(u64),
) -> Result<Filled, ComplianceError> {
    let clock = ManualClock::at_ms(start_ms);
    let store = Store::open(path)?.with_clock(clock.clock());
    let items = catalogue();
    store.replace_catalog(&items)?;
    let started = Instant::now();
    let mut filled = Filled::default();
    let mut made = 0;
    while made < sales {
        let batch = BATCH.min(sales - made);
        store.transaction(|s| -> Result<(), ComplianceError> {
            for i in made..made + batch {
                let now = start_ms + i as i64 * STEP_MS;
                clock.set_ms(now);
                let mut basket = Basket::new(Currency::Nok);
                for k in 0..=(i % 3) {
                    let item = &items[((i + k) % items.len() as u64) as usize];
                    let line = basket.add_item(item).map_err(StoreError::from)?;
                    if k == 1 {
                        basket.set_quantity(line, 2).map_err(StoreError::from)?;
                    }
                }
                let sale_id = s.freeze_sale(&basket)?;
                let total = basket.check_payable().map_err(StoreError::from)?;
                s.conn().execute(
                    "INSERT INTO payment_attempt (sale_id, reference, amount, currency,
                         customer_kind, status, decision, authorized_amount, captured_amount,
                         resolved, created_at_ms, updated_at_ms)
                     VALUES (?1, ?2, ?3, 'NOK', 'token', 'completed', 'capture', ?3, ?3, 1,
                             ?4, ?4)",
                    params![sale_id, format!("bench-{sale_id}"), total, now],
                )?;
                s.set_sale_state(sale_id, SaleState::Completed)?;
                // Paid by Vipps in the open reporting period, as the engine records it.
                s.record_tender(
                    sale_id,
                    &Part {
                        kind: TenderKind::Vipps,
                        amount: total,
                        tendered: total,
                        change: 0,
                        rounding: 0,
                        reference: Some(format!("bench-{sale_id}")),
                    },
                    None,
                )?;
                s.conclude_in_period(sale_id, None)?;
                let signing = Instant::now();
                sign_sale(&Store::on(s.conn(), s.clock()), signer, sale_id, now)?;
                filled.signing += signing.elapsed();
                filled.sales += 1;
                if i % 50 == 49 {
                    let attempt: i64 = s.conn().query_row(
                        "SELECT id FROM payment_attempt WHERE sale_id = ?1",
                        [sale_id],
                        |r| r.get(0),
                    )?;
                    let amount = total / 2;
                    s.conn().execute(
                        "INSERT INTO payment_operation (attempt_id, kind, seq, idempotency_key,
                             amount, status, created_at_ms, finished_at_ms)
                         VALUES (?1, 'refund', 1, ?2, ?3, 'succeeded', ?4, ?4)",
                        params![attempt, format!("bench-{sale_id}-refund-1"), amount, now],
                    )?;
                    let op = s.conn().last_insert_rowid();
                    let signing = Instant::now();
                    sign_return(
                        &Store::on(s.conn(), s.clock()),
                        signer,
                        sale_id,
                        op,
                        amount,
                        now + 1_000,
                    )?;
                    filled.signing += signing.elapsed();
                    filled.returns += 1;
                }
                filled.last_ms = now;
            }
            Ok(())
        })?;
        made += batch;
        progress(made);
    }
    filled.elapsed = started.elapsed();
    Ok(filled)
}
