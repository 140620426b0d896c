//! Parts of a sale's payment taken at the till (cash, card on a terminal that is not
//! integrated, gift card, credit note), beside Vipps. Each part is committed (tender row and
//! journal) before the cashier is told; the Vipps part, if any, is whatever is left when the
//! customer scans. A sale the parts cover completes here; a cancelled sale gives its parts
//! back.

use rusqlite::Connection;

use super::actor::Till;
use super::api::{EngineEvent, MessageId};
use super::crash;
use super::db::{self, DbError, SaleRec};
use crate::compliance::{self, ComplianceError};
use crate::core::sale::SaleState;
use crate::core::tender::{Part, Split, TenderKind};
use crate::core::vat::Country;
use crate::store::day::{DrawerReason, TenderPurpose};
use crate::store::{Store, StoreError};

/// The split of a sale as stored: its total and the parts paid towards it.
pub(super) fn stored_split(
    c: &Store<&Connection>,
    country: Country,
    sale: &SaleRec,
) -> Result<Split, DbError> {
    let parts = c
        .tenders_of_sale(sale.id)?
        .into_iter()
        .filter(|t| t.purpose == TenderPurpose::Payment)
        .map(Part::from)
        .collect();
    Ok(Split::with_parts(country, sale.total, parts))
}

/// What is left for Vipps to pay on `sale` (its total when nothing else was taken).
pub(super) fn vipps_due(
    c: &Store<&Connection>,
    country: Country,
    sale: &SaleRec,
) -> Result<i64, DbError> {
    Ok(stored_split(c, country, sale)?.remaining().max(0))
}

/// Records the captured Vipps part of a completed sale and concludes the sale in the open
/// reporting period (both idempotent: recovery may settle a sale twice).
pub(super) fn conclude_vipps_sale(
    c: &Store<&Connection>,
    sale_id: i64,
    reference: &str,
    captured: i64,
    cashier: Option<i64>,
) -> Result<(), DbError> {
    let s = c;
    let recorded = s
        .tenders_of_sale(sale_id)?
        .iter()
        .any(|t| t.kind == TenderKind::Vipps && t.reference.as_deref() == Some(reference));
    if !recorded && captured > 0 {
        s.record_tender(
            sale_id,
            &Part {
                kind: TenderKind::Vipps,
                amount: captured,
                tendered: captured,
                change: 0,
                rounding: 0,
                reference: Some(reference.to_string()),
            },
            cashier,
        )?;
    }
    s.conclude_in_period(sale_id, cashier)?;
    Ok(())
}

/// Records a completed Vipps refund as money paid back (idempotent by its key).
pub(super) fn record_vipps_refund(
    c: &Store<&Connection>,
    sale_id: i64,
    idempotency_key: &str,
    amount: i64,
    return_id: Option<i64>,
    cashier: Option<i64>,
) -> Result<(), DbError> {
    let s = c;
    let recorded = s.tenders_of_sale(sale_id)?.iter().any(|t| {
        t.purpose == TenderPurpose::Return && t.reference.as_deref() == Some(idempotency_key)
    });
    if !recorded {
        s.record_return_tender(
            sale_id,
            TenderKind::Vipps,
            amount,
            Some(idempotency_key),
            return_id,
            cashier,
        )?;
    }
    Ok(())
}

impl Till {
    pub(super) fn country(&self) -> Country {
        Country::of_currency(self.config.till.currency)
    }

    /// Takes a part of `sale`'s payment at the till. Returns true when the sale is now paid in
    /// full (and completed).
    pub(super) fn take_tender(
        &mut self,
        sale: &SaleRec,
        tender: TenderKind,
        amount: i64,
        reference: Option<String>,
    ) -> bool {
        if tender == TenderKind::Vipps {
            self.problem(
                MessageId::TenderRefused,
                Some("the Vipps part is paid by the customer's app, not recorded by hand".into()),
                false,
            );
            return false;
        }
        let reference = reference
            .map(|r| r.trim().chars().take(64).collect::<String>())
            .filter(|r| !r.is_empty());
        let country = self.country();
        let cashier = self.cashier;
        let taken = self.db.tx(|c| {
            let state = db::sale_state(c, sale.id)?;
            if state != SaleState::AwaitingCheckIn && !state.can_retry() {
                return Err(DbError::Store(StoreError::Refused(format!(
                    "the sale is {state}: wait for the Vipps payment to end first"
                ))));
            }
            let mut split = stored_split(c, country, sale)?;
            let part = split
                .add(tender, amount, reference.clone())
                .map_err(|e| DbError::Store(StoreError::Refused(e.to_string())))?
                .clone();
            let s = c;
            s.record_tender(sale.id, &part, cashier)?;
            if tender == TenderKind::Cash {
                s.record_drawer_opening(DrawerReason::Sale, Some(sale.id), cashier)?;
            }
            Ok((part, split.remaining(), split.rounding()))
        });
        let (part, remaining, rounding) = match taken {
            Ok(t) => t,
            Err(DbError::Store(StoreError::Refused(why))) => {
                self.problem(MessageId::TenderRefused, Some(why), false);
                return false;
            }
            Err(e) => {
                self.storage_failed(&e);
                return false;
            }
        };
        crash::point("tender_taken");
        self.emit(EngineEvent::TenderTaken {
            sale_id: sale.id,
            tender,
            amount: part.amount,
            change: part.change,
            rounding: part.rounding,
            remaining: remaining.max(0),
        });
        if remaining > 0 {
            self.emit(EngineEvent::AwaitingCheckIn {
                sale_id: sale.id,
                amount: remaining,
                qr_content: self.qr_content.clone(),
            });
            return false;
        }
        self.complete_paid(sale, part.change, rounding)
    }

    /// Concludes a sale the parts taken at the till cover: completed, in the period, journalled
    /// with its payment code, signed. Returns true when it completed.
    fn complete_paid(&mut self, sale: &SaleRec, change: i64, rounding: i64) -> bool {
        let cashier = self.cashier;
        let now = self.now_ms();
        let done = self.db.tx(|c| {
            db::set_sale_state(c, sale.id, SaleState::Completed)?;
            let s = c;
            s.conclude_in_period(sale.id, cashier)?;
            s.journal_sale_completed(sale.id, cashier)?;
            let signer = self.signer.as_deref().ok_or(ComplianceError::NoSigner)?;
            compliance::conclude_sale(c, signer, sale.id, now)?;
            Ok(())
        });
        if let Err(e) = done {
            self.storage_failed(&e);
            return false;
        }
        crash::point("paid_without_vipps");
        self.emit(EngineEvent::Paid {
            sale_id: sale.id,
            receipt: sale.receipt.clone(),
            change,
            rounding,
        });
        true
    }

    /// Gives back the parts taken for a sale that is cancelled or abandoned, and says so.
    pub(super) fn give_back_tenders(&mut self, sale_id: i64) {
        let cashier = self.cashier;
        let given = self.db.tx(|c| {
            let s = c;
            let given = s.give_back_tenders(sale_id, cashier)?;
            if given.iter().any(|(k, _)| *k == TenderKind::Cash) {
                s.record_drawer_opening(DrawerReason::Sale, Some(sale_id), cashier)?;
            }
            Ok(given)
        });
        match given {
            Ok(parts) if !parts.is_empty() => {
                tracing::info!(sale_id, ?parts, "parts of a cancelled sale given back");
                self.emit(EngineEvent::GivenBack { sale_id, parts });
            }
            Ok(_) => {}
            Err(e) => self.storage_failed(&e),
        }
    }

    /// Gives back the parts of sales the till left in the middle (it stopped, or was killed,
    /// after taking cash for a sale whose rest was never paid): the cashier is told to hand
    /// them back, and the day's cash stays right.
    pub(super) fn give_back_interrupted_sales(&mut self) {
        let current = self.current_sale;
        let sales = match self.db.read(|c| Ok(c.sales_holding_parts()?)) {
            Ok(s) => s,
            Err(e) => return self.storage_failed(&e),
        };
        for sale_id in sales.into_iter().filter(|id| Some(*id) != current) {
            tracing::warn!(
                sale_id,
                "a sale left in the middle held parts paid at the till"
            );
            self.give_back_tenders(sale_id);
        }
    }

    /// Records who works the till.
    pub(super) fn set_cashier(&mut self, cashier_id: Option<i64>) {
        self.cashier = cashier_id;
    }
}
