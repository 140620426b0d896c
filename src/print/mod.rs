//! Receipts on paper and as PDF: the ESC/POS encoder (and its decoder), printer connections,
//! the print queue with the copy rule, and the PDF renderer. The document itself is
//! `core::receipt_doc`; its facts come from the store through [`source`].
//!
//! Printing never runs inside the engine: a caller (the window, `kasse receipt`) plans a job
//! ([`queue::plan`]), renders it, sends it with the async [`connection::send`] and records the
//! outcome ([`queue::finish`]); [`issue`] does all four.

pub mod connection;
pub mod escpos;
pub mod logo;
pub mod pdf;
pub mod queue;
pub mod source;

use std::sync::Arc;

use crate::core::money::Locale;
use crate::core::receipt_doc::{self, Document};
use crate::store::{Store, StoreError};

pub use connection::{PrinterConnection, PrinterError, Timeouts};
pub use queue::{PrintJob, Request, Target};
pub use source::Origin;

/// Why a document was not issued. `Clone` (sources shared) so it can travel in a message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PrintError {
    #[error("sale {0} not found")]
    NoSale(i64),
    #[error("sale {sale_id} is {state}, not completed: it has no receipt yet")]
    NotCompleted { sale_id: i64, state: String },
    #[error("sale {sale_id} has no completed refund {refund_op_id}")]
    NoRefund { sale_id: i64, refund_op_id: i64 },
    #[error(
        "the copy of this receipt (sale {sale_id}) was already printed: only one copy is allowed"
    )]
    CopyAlreadyIssued {
        sale_id: i64,
        refund_op_id: Option<i64>,
    },
    #[error("the receipt of sale {sale_id} is being printed right now")]
    InProgress { sale_id: i64 },
    #[error(transparent)]
    Printer(#[from] PrinterError),
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("printed, but without the logo: {0}")]
    Logo(String),
    #[error("receipt data: {0}")]
    Invalid(String),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: std::path::PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("till database: {0}")]
    Store(Arc<StoreError>),
}

impl From<StoreError> for PrintError {
    fn from(e: StoreError) -> Self {
        PrintError::Store(Arc::new(e))
    }
}

impl From<rusqlite::Error> for PrintError {
    fn from(e: rusqlite::Error) -> Self {
        PrintError::Store(Arc::new(StoreError::Sqlite(e)))
    }
}

/// How the till prints (`[printer]` and `[shop]` of the configuration, resolved).
#[derive(Debug, Clone)]
pub struct PrintSettings {
    pub origin: Origin,
    /// The shop's logo file (`[shop] logo`), read by each document that prints it.
    pub logo: Option<std::path::PathBuf>,
    pub language: Locale,
    pub connection: PrinterConnection,
    pub escpos: escpos::Options,
    pub timeouts: Timeouts,
}

/// A document issued: what it was, and its bytes (ESC/POS or PDF).
#[derive(Debug, Clone)]
pub struct Issued {
    pub job: PrintJob,
    pub document: Document,
    pub bytes: Vec<u8>,
}

/// Where [`issue`] sends a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The configured receipt printer.
    Printer,
    /// A PDF file on `paper`.
    Pdf {
        paper: pdf::Paper,
        path: std::path::PathBuf,
    },
}

impl PrintSettings {
    /// The shop as printed, with its logo read from [`Self::logo`] (scaled to the paper). A
    /// logo that cannot be read is left out and its problem returned beside: the document
    /// still prints.
    pub fn shop_with_logo(&self) -> (receipt_doc::ShopInfo, Option<String>) {
        let mut shop = self.origin.shop.clone();
        let Some(path) = &self.logo else {
            return (shop, None);
        };
        let dots = logo::max_width(u16::try_from(self.escpos.columns).unwrap_or(u16::MAX));
        match logo::load(path, dots) {
            Ok(image) => {
                shop.logo = Some(Arc::new(image));
                (shop, None)
            }
            Err(problem) => {
                tracing::warn!(%problem, "the shop's logo is not printed");
                (shop, Some(problem))
            }
        }
    }
}

/// Plans, renders, sends and records one document for `sale_id`. The store is used only
/// briefly before and after the (async) send, so the caller may share it behind a lock. A
/// printer fault leaves the job queued and is returned as [`PrintError::Printer`].
pub async fn issue(
    store: &std::sync::Mutex<Store>,
    settings: &PrintSettings,
    sale_id: i64,
    request: Request,
    destination: &Destination,
) -> Result<Issued, PrintError> {
    let target = match destination {
        Destination::Printer if settings.connection == PrinterConnection::None => {
            return Err(PrinterError::NotConfigured.into());
        }
        Destination::Printer => Target::Printer,
        Destination::Pdf { .. } => Target::Pdf,
    };
    // The logo file is read before the store is taken (the store is shared with the window).
    let (shop, _) = settings.shop_with_logo();
    let (job, document, receipt_nr) = {
        let store = lock(store)?;
        let job = queue::plan(&store, sale_id, request, target)?;
        let data = source::receipt_data(&store, &settings.origin, sale_id, job.refund_op_id);
        let data = data.map(|mut d| {
            d.shop = shop;
            d
        });
        let data = match data {
            Ok(d) => d,
            Err(e) => {
                queue::finish(&store, &job, None, Err(&e))?;
                return Err(e);
            }
        };
        let document = receipt_doc::build(&data, job.kind, settings.language);
        (job, document, data.receipt_nr)
    };
    let result = match destination {
        Destination::Pdf { paper, path } => match pdf::render(&document, *paper) {
            Ok(bytes) => tokio::fs::write(path, &bytes)
                .await
                .map(|()| bytes)
                .map_err(|e| PrintError::Write {
                    path: path.clone(),
                    source: Arc::new(e),
                }),
            Err(e) => Err(e),
        },
        Destination::Printer => {
            let bytes = escpos::encode(&document, &settings.escpos);
            connection::send(&settings.connection, &bytes, settings.timeouts)
                .await
                .map(|()| bytes)
                .map_err(PrintError::from)
        }
    };
    let store = lock(store)?;
    match result {
        Ok(bytes) => {
            queue::finish(&store, &job, receipt_nr, Ok(()))?;
            Ok(Issued {
                job,
                document,
                bytes,
            })
        }
        Err(e) => {
            queue::finish(&store, &job, receipt_nr, Err(&e))?;
            Err(e)
        }
    }
}

/// Prints an X or Z report on the receipt printer, through the receipts' ESC/POS encoder.
pub async fn print_report(
    settings: &PrintSettings,
    report: &crate::core::report::Report,
) -> Result<(), PrintError> {
    use crate::core::receipt_doc::{Align, Block};
    use crate::core::report::ReportLine;
    let blocks: Vec<Block> = report
        .lines(settings.language)
        .into_iter()
        .map(|line| match line {
            ReportLine::Title(t) => Block::Heading(t),
            ReportLine::Text(text) => Block::Text {
                text,
                align: Align::Left,
                bold: false,
            },
            ReportLine::Pair(left, right) => Block::Columns {
                left,
                right,
                bold: false,
            },
            ReportLine::Rule => Block::Rule,
        })
        .collect();
    let bytes = escpos::encode_blocks(&blocks, false, &settings.escpos);
    connection::send(&settings.connection, &bytes, settings.timeouts).await?;
    Ok(())
}

/// A test page: the shop as printed, the Nordic letters, the paper's width, a cut. For Admin
/// ("Print test page") to check the printer, its code page and its width.
pub async fn print_test_page(settings: &PrintSettings) -> Result<(), PrintError> {
    use crate::core::receipt_doc::{Align, Block};
    let (shop, logo_problem) = settings.shop_with_logo();
    let mut blocks: Vec<Block> = shop
        .logo
        .iter()
        .map(|logo| Block::Logo(logo.as_ref().clone()))
        .collect();
    blocks.push(Block::Heading(if shop.name.is_empty() {
        "Kasse".to_string()
    } else {
        shop.name.clone()
    }));
    for line in &shop.address {
        blocks.push(Block::Text {
            text: line.clone(),
            align: Align::Center,
            bold: false,
        });
    }
    blocks.push(Block::Rule);
    for (text, bold) in [
        ("Test page / Testside", true),
        ("Æ Ø Å æ ø å", false),
        ("0123456789 kr 1 234,50", false),
    ] {
        blocks.push(Block::Text {
            text: text.into(),
            align: Align::Left,
            bold,
        });
    }
    blocks.push(Block::Columns {
        left: "Columns".into(),
        right: settings.escpos.columns.to_string(),
        bold: false,
    });
    blocks.push(Block::Rule);
    let bytes = escpos::encode_blocks(&blocks, false, &settings.escpos);
    connection::send(&settings.connection, &bytes, settings.timeouts).await?;
    // The page came out; a logo that could not be read is still worth saying.
    match logo_problem {
        Some(problem) => Err(PrintError::Logo(problem)),
        None => Ok(()),
    }
}

/// Opens the cash drawer through the receipt printer (a drawer-kick pulse and nothing else).
pub async fn open_drawer(settings: &PrintSettings) -> Result<(), PrintError> {
    let mut e = escpos::Encoder::new();
    e.drawer_kick();
    connection::send(&settings.connection, &e.finish(), settings.timeouts).await?;
    Ok(())
}

fn lock(store: &std::sync::Mutex<Store>) -> Result<std::sync::MutexGuard<'_, Store>, PrintError> {
    store
        .lock()
        .map_err(|_| PrintError::Invalid("the store lock was poisoned".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuing_can_run_on_a_spawned_task() {
        fn assert_send<T: Send>(_: &T) {}
        let store = std::sync::Mutex::new(Store::open_in_memory().unwrap());
        let settings = crate::config::Config::default().print_settings();
        let future = issue(
            &store,
            &settings,
            1,
            Request::Receipt,
            &Destination::Printer,
        );
        assert_send(&future);
        assert_send(&PrintError::NoSale(1));
    }
}
