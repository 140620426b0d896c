//! Pure sale domain: money, VAT, catalogue, basket, sale state machine, receipt.
//! No I/O, no async, no iced.
