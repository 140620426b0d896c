//! Pure sale domain: money, VAT, catalogue, basket, sale state machine, receipt, the
//! payment model with its one decision function, journal codes and the signed text.
//! No I/O, no async, no iced. The rules are written up in `docs/domain.md`.

pub mod article_group;
pub mod backoff;
pub mod basket;
pub mod cashier;
pub mod catalog;
pub mod catalog_csv;
pub mod journal_code;
pub mod logo;
pub mod loyalty;
pub mod money;
pub mod payment;
pub mod receipt;
pub mod receipt_doc;
pub mod report;
pub mod sale;
pub mod signature_text;
pub mod tender;
pub mod vat;

pub use basket::{Basket, BasketError, Discount, Line, LineId, RateTotal, Totals};
pub use catalog::{Catalog, CatalogError, Item, Unit};
pub use money::{Currency, Locale, Money, MoneyError};
pub use receipt::{Receipt, ReceiptLine};
pub use sale::{Sale, SaleEvent, SaleState, TransitionError, transition};
pub use vat::{Country, LineAmounts, VatError, VatRate};
