//! The printable receipt: one document model, built from a sale's facts, rendered by
//! `print` to ESC/POS and PDF (and shown on screen).
//!
//! A [`Document`] is a list of typed [`Block`]s. [`build`] lays out a [`ReceiptData`] for a
//! [`DocKind`] in the shop's language ([`Words`], one small table per language), following the
//! Norwegian rules for receipts (kassasystemforskrifta § 2-8): "Salgskvittering" with the
//! business name, "Org.nr ... MVA", address, date and time, till, receipt number, cashier,
//! lines, discounts, VAT per rate, total and each means of payment; a copy says "KOPI";
//! provisional and training receipts carry "IKKJE KVITTERING FOR KJØP" at least 50 % larger
//! than the amounts (the notice is double size, the amounts on those documents normal size).
//!
//! Pure: no I/O. Amounts are minor units, formatted with [`super::money::format_minor`].

use serde::{Deserialize, Serialize};

use super::basket::RateTotal;
use super::catalog::Unit;
use super::journal_code::EventCode;
use super::money::{Currency, Locale, format_minor};
use super::receipt::ReceiptLine;
use super::tender::{Part, TenderKind};

/// What a document is. Each kind has its heading and its journal event code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// The original receipt of a completed sale ("Salgskvittering").
    Sales,
    /// The one copy of a sales or return receipt, marked "KOPI".
    Copy,
    /// The receipt of a refund ("Returkvittering").
    Return,
    /// Before payment, on request ("Foreløpig kvittering"); not a receipt for a purchase.
    Provisional,
    /// A sale in training mode ("Treningskvittering"); not a receipt for a purchase.
    Training,
}

impl DocKind {
    pub const ALL: [DocKind; 5] = [
        Self::Sales,
        Self::Copy,
        Self::Return,
        Self::Provisional,
        Self::Training,
    ];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sales => "sales",
            Self::Copy => "copy",
            Self::Return => "return",
            Self::Provisional => "provisional",
            Self::Training => "training",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The SAF-T event recorded when a document of this kind is issued (PredefinedBasicID-13).
    pub fn event_code(self) -> EventCode {
        match self {
            Self::Sales => EventCode::SALES_RECEIPT_PRINTED,
            Self::Copy => EventCode::COPY_RECEIPT,
            Self::Return => EventCode::RETURN_RECEIPT,
            Self::Provisional => EventCode::PROVISIONAL_RECEIPT,
            Self::Training => EventCode::TRAINING_RECEIPT,
        }
    }

    /// Provisional and training documents must not pass for a receipt of a purchase.
    pub fn is_not_a_receipt(self) -> bool {
        matches!(self, Self::Provisional | Self::Training)
    }
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// Character size relative to the amounts (which are always [`Size::Normal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Size {
    Normal,
    /// Double height, normal width.
    Tall,
    /// Double height and width.
    Double,
}

impl Size {
    /// (width, height) multipliers.
    pub fn scale(self) -> (u8, u8) {
        match self {
            Size::Normal => (1, 1),
            Size::Tall => (1, 2),
            Size::Double => (2, 2),
        }
    }
}

/// One block of a printable document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// The document's title: centred, bold, double size.
    Heading(String),
    /// A line of text.
    Text {
        text: String,
        align: Align,
        bold: bool,
    },
    /// Text on the left, an amount (or value) on the right.
    Columns {
        left: String,
        right: String,
        bold: bool,
    },
    /// A horizontal rule.
    Rule,
    /// The amount to pay: bold, in `size`.
    Total {
        label: String,
        amount: String,
        size: Size,
    },
    /// An emphasised notice: centred, bold, double size ("KOPI", "IKKJE KVITTERING FOR KJØP").
    Notice(String),
    /// A CODE128 barcode of `data` (the receipt number), text printed under it.
    Barcode(String),
    /// A QR code of `data`.
    Qr(String),
    /// The shop's logo, centred.
    Logo(crate::core::logo::MonoImage),
    /// An empty line.
    Feed,
}

/// A printable document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub kind: DocKind,
    pub blocks: Vec<Block>,
    /// Open the cash drawer after printing (a cash tender was taken).
    pub open_drawer: bool,
}

impl Document {
    /// The document's text, one entry per line of text (tests, screen, logs).
    pub fn text_lines(&self) -> Vec<String> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading(t) | Block::Notice(t) => Some(t.clone()),
                Block::Text { text, .. } => Some(text.clone()),
                Block::Columns { left, right, .. } => Some(format!("{left} {right}")),
                Block::Total { label, amount, .. } => Some(format!("{label} {amount}")),
                Block::Barcode(d) | Block::Qr(d) => Some(d.clone()),
                Block::Rule | Block::Feed | Block::Logo(_) => None,
            })
            .collect()
    }
}

/// The shop as printed on the receipt (`[shop]` in the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopInfo {
    pub name: String,
    /// Organisation number, digits (spaces allowed); empty: not printed.
    pub org_nr: String,
    /// Registered for VAT: "MVA" follows the organisation number.
    pub vat_registered: bool,
    /// Address lines.
    pub address: Vec<String>,
    /// Footer lines ("Takk for handelen!").
    pub footer: Vec<String>,
    /// The logo printed at the top (read from `[shop] logo`).
    #[serde(skip)]
    pub logo: Option<std::sync::Arc<crate::core::logo::MonoImage>>,
}

/// One means of payment on the receipt. A list, so split tenders print one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderLine {
    pub kind: TenderKind,
    /// What this tender pays (minor units; negative on a return).
    pub amount: i64,
    /// The payment's transaction id (for Vipps: the reference).
    pub reference: Option<String>,
    /// Cash: what the customer handed over.
    pub tendered: Option<i64>,
    /// Cash: what went back.
    pub change: Option<i64>,
}

impl TenderLine {
    /// The Vipps tender of `amount` with its reference.
    pub fn vipps(amount: i64, reference: impl Into<String>) -> Self {
        Self {
            kind: TenderKind::Vipps,
            amount,
            reference: Some(reference.into()),
            tendered: None,
            change: None,
        }
    }
}

impl From<&Part> for TenderLine {
    fn from(p: &Part) -> Self {
        let cash = p.kind == TenderKind::Cash;
        Self {
            kind: p.kind,
            amount: p.amount,
            reference: p.reference.clone(),
            tendered: cash.then_some(p.tendered),
            change: cash.then_some(p.change),
        }
    }
}

/// The facts of one receipt, gathered from the store (see `print::source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptData {
    pub shop: ShopInfo,
    /// The till (register) id.
    pub till_id: String,
    pub currency: Currency,
    pub sale_id: i64,
    /// The receipt's number in the till's unbroken series (the signed transaction's `nr`);
    /// `None` before the sale is concluded (provisional receipts).
    pub receipt_nr: Option<i64>,
    /// Local date `YYYY-MM-DD` and time `hh:mm:ss`.
    pub date: String,
    pub time: String,
    pub cashier: Option<String>,
    pub lines: Vec<ReceiptLine>,
    /// All discounts (already inside the line totals).
    pub discount: i64,
    /// What member prices saved (part of `discount`; 0: none), told on its own line.
    pub member_saving: i64,
    /// Cash rounding (positive: the customer paid more).
    pub rounding: i64,
    /// The amount paid (or returned, negative).
    pub total: i64,
    pub by_rate: Vec<RateTotal>,
    pub tenders: Vec<TenderLine>,
    /// A refund's receipt (headed "Returkvittering", its copy too).
    pub is_return: bool,
    /// A return: the number of the receipt it returns from.
    pub returns_receipt_nr: Option<i64>,
    /// A training sale: its number in the training series (printed only on training
    /// receipts).
    pub training_nr: Option<i64>,
}

/// The words of a receipt in one language.
#[derive(Debug, Clone, Copy)]
pub struct Words {
    pub sales: &'static str,
    pub copy: &'static str,
    pub ret: &'static str,
    pub provisional: &'static str,
    pub training: &'static str,
    /// The regulation's wording, the same in every language.
    pub not_a_receipt: &'static str,
    /// A translation printed under it, if any.
    pub not_a_receipt_note: Option<&'static str>,
    pub org_nr: &'static str,
    /// Print the organisation number in groups of three (Norway) or as one number (the
    /// Danish CVR number).
    pub org_nr_grouped: bool,
    /// After the number when the business is registered for VAT (empty: nothing).
    pub vat_suffix: &'static str,
    pub date: &'static str,
    pub till: &'static str,
    pub receipt_nr: &'static str,
    pub training_nr: &'static str,
    pub returns_receipt: &'static str,
    pub cashier: &'static str,
    pub discount: &'static str,
    /// "You saved as a member" (the member prices' saving).
    pub member_saving: &'static str,
    pub rounding: &'static str,
    pub total: &'static str,
    pub vat: &'static str,
    pub vat_basis: &'static str,
    pub reference: &'static str,
    pub tendered: &'static str,
    pub change: &'static str,
    pub vipps: &'static str,
    pub cash: &'static str,
    pub card: &'static str,
    pub gift_card: &'static str,
    pub credit_note: &'static str,
    /// The QR sticker's line.
    pub scan_to_pay: &'static str,
}

/// Norwegian bokmål (the default).
pub const NB: Words = Words {
    sales: "Salgskvittering",
    copy: "KOPI",
    ret: "Returkvittering",
    provisional: "Foreløpig kvittering",
    training: "Treningskvittering",
    not_a_receipt: "IKKJE KVITTERING FOR KJØP",
    not_a_receipt_note: None,
    org_nr: "Org.nr",
    org_nr_grouped: true,
    vat_suffix: "MVA",
    date: "Dato",
    till: "Kasse",
    receipt_nr: "Kvittering nr",
    training_nr: "Treningsnr",
    returns_receipt: "Retur av kvittering nr",
    cashier: "Kasserer",
    discount: "Rabatt",
    member_saving: "Spart som medlem",
    rounding: "Øreavrunding",
    total: "Totalt",
    vat: "MVA",
    vat_basis: "grunnlag",
    reference: "Ref.",
    tendered: "Betalt",
    change: "Tilbake",
    vipps: "Vipps MobilePay",
    cash: "Kontant",
    card: "Kort",
    gift_card: "Gavekort",
    credit_note: "Tilgodelapp",
    scan_to_pay: "Skann for å betale med Vipps / MobilePay",
};

/// English. The legal markings stay Norwegian, with a translation beside them.
pub const EN: Words = Words {
    sales: "Sales receipt",
    copy: "KOPI / COPY",
    ret: "Return receipt",
    provisional: "Provisional receipt",
    training: "Training receipt",
    not_a_receipt: "IKKJE KVITTERING FOR KJØP",
    not_a_receipt_note: Some("Not a receipt for a purchase"),
    org_nr: "Org.nr",
    org_nr_grouped: true,
    vat_suffix: "MVA",
    date: "Date",
    till: "Till",
    receipt_nr: "Receipt no.",
    training_nr: "Training no.",
    returns_receipt: "Return of receipt no.",
    cashier: "Cashier",
    discount: "Discount",
    member_saving: "Saved as a member",
    rounding: "Rounding",
    total: "Total",
    vat: "VAT",
    vat_basis: "basis",
    reference: "Ref.",
    tendered: "Tendered",
    change: "Change",
    vipps: "Vipps MobilePay",
    cash: "Cash",
    card: "Card",
    gift_card: "Gift card",
    credit_note: "Credit note",
    scan_to_pay: "Scan to pay with Vipps / MobilePay",
};

/// Danish, for a shop in Denmark: its own words for the documents that are not receipts (the
/// Norwegian marking is the Norwegian regulation's) and the CVR number as one number.
pub const DA: Words = Words {
    sales: "Kvittering",
    copy: "KOPI",
    ret: "Returkvittering",
    provisional: "Foreløbig kvittering",
    training: "Træningskvittering",
    not_a_receipt: "IKKE KVITTERING FOR KØB",
    not_a_receipt_note: None,
    org_nr: "CVR-nr.",
    org_nr_grouped: false,
    vat_suffix: "",
    date: "Dato",
    till: "Kasse",
    receipt_nr: "Bon nr.",
    training_nr: "Træningsnr.",
    returns_receipt: "Retur af bon nr.",
    cashier: "Ekspedient",
    discount: "Rabat",
    member_saving: "Sparet som medlem",
    rounding: "Øreafrunding",
    total: "I alt",
    vat: "Moms",
    vat_basis: "grundlag",
    reference: "Ref.",
    tendered: "Modtaget",
    change: "Retur",
    vipps: "Vipps MobilePay",
    cash: "Kontant",
    card: "Kort",
    gift_card: "Gavekort",
    credit_note: "Tilgodeseddel",
    scan_to_pay: "Scan for at betale med Vipps / MobilePay",
};

impl Words {
    /// The table for `locale`: bokmål for nb, Danish for da, English for en and fi.
    pub fn of(locale: Locale) -> &'static Words {
        match locale {
            Locale::Nb => &NB,
            Locale::Da => &DA,
            Locale::En | Locale::Fi => &EN,
        }
    }

    fn heading(&self, kind: DocKind) -> &'static str {
        match kind {
            DocKind::Sales | DocKind::Copy => self.sales,
            DocKind::Return => self.ret,
            DocKind::Provisional => self.provisional,
            DocKind::Training => self.training,
        }
    }

    fn tender(&self, kind: TenderKind) -> &'static str {
        match kind {
            TenderKind::Vipps => self.vipps,
            TenderKind::Cash => self.cash,
            TenderKind::Card => self.card,
            TenderKind::GiftCard => self.gift_card,
            TenderKind::CreditNote => self.credit_note,
        }
    }
}

/// "Org.nr 999 999 999 MVA" (digits grouped in threes).
pub fn org_nr_line(words: &Words, org_nr: &str, vat_registered: bool) -> String {
    let digits: String = org_nr.chars().filter(|c| c.is_ascii_digit()).collect();
    let grouped = if words.org_nr_grouped {
        digits
            .as_bytes()
            .chunks(3)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        digits
    };
    if vat_registered && !words.vat_suffix.is_empty() {
        format!("{} {grouped} {}", words.org_nr, words.vat_suffix)
    } else {
        format!("{} {grouped}", words.org_nr)
    }
}

/// Lays out `data` as a document of `kind` in `locale`. A `Copy` of a return keeps the return
/// heading (the data names the returned receipt).
pub fn build(data: &ReceiptData, kind: DocKind, locale: Locale) -> Document {
    let w = Words::of(locale);
    let money = |minor: i64| format_minor(minor, data.currency, locale);
    let mut b = Vec::new();
    let not_a_receipt = kind.is_not_a_receipt();

    // Who.
    if let Some(logo) = &data.shop.logo {
        b.push(Block::Logo(logo.as_ref().clone()));
    }
    if !data.shop.name.is_empty() {
        b.push(text_center(&data.shop.name, true));
    }
    for line in &data.shop.address {
        b.push(text_center(line, false));
    }
    if !data.shop.org_nr.trim().is_empty() {
        b.push(text_center(
            &org_nr_line(w, &data.shop.org_nr, data.shop.vat_registered),
            false,
        ));
    }
    b.push(Block::Feed);

    // What.
    let heading = if kind == DocKind::Copy && data.is_return {
        w.ret
    } else {
        w.heading(kind)
    };
    b.push(Block::Heading(heading.to_string()));
    if kind == DocKind::Copy {
        b.push(Block::Notice(w.copy.to_string()));
    }
    if not_a_receipt {
        push_not_a_receipt(&mut b, w);
    }
    b.push(Block::Feed);

    // When, where, who.
    b.push(columns(w.date, &format!("{} {}", data.date, data.time)));
    b.push(columns(w.till, &data.till_id));
    // A document that is not a receipt does not borrow the receipt series' number.
    if let Some(nr) = data.receipt_nr.filter(|_| !not_a_receipt) {
        b.push(columns(w.receipt_nr, &nr.to_string()));
    }
    if let Some(nr) = data.returns_receipt_nr {
        b.push(columns(w.returns_receipt, &nr.to_string()));
    }
    // The training series is the training receipt's own.
    if let Some(nr) = data.training_nr.filter(|_| kind == DocKind::Training) {
        b.push(columns(w.training_nr, &nr.to_string()));
    }
    if let Some(cashier) = data.cashier.as_deref().filter(|c| !c.is_empty()) {
        b.push(text_left(&format!("{}: {cashier}", w.cashier)));
    }
    b.push(Block::Rule);

    // Lines.
    for line in &data.lines {
        b.push(columns(&line.name, &money(line.total)));
        if line.quantity != "1" || line.unit != Unit::Pcs {
            let unit = match line.unit {
                Unit::Pcs => String::new(),
                Unit::Kg => " kg".to_string(),
            };
            b.push(text_left(&format!(
                "  {}{unit} x {}",
                line.quantity,
                money(line.unit_price)
            )));
        }
        if line.discount != 0 {
            b.push(columns(
                &format!("  {}", w.discount),
                &money(-line.discount),
            ));
        }
    }
    if !data.lines.is_empty() {
        b.push(Block::Rule);
    }
    if data.discount != 0 {
        b.push(columns(w.discount, &money(-data.discount)));
    }
    if data.member_saving != 0 {
        b.push(columns(w.member_saving, &money(data.member_saving)));
    }
    if data.rounding != 0 {
        b.push(columns(w.rounding, &money(data.rounding)));
    }
    b.push(Block::Total {
        label: w.total.to_string(),
        amount: money(data.total + data.rounding),
        // Amounts on a document that is not a receipt stay small: the notice is double size,
        // so it is at least 50 % larger than every amount.
        size: if not_a_receipt {
            Size::Normal
        } else {
            Size::Tall
        },
    });

    // VAT per rate.
    if !data.by_rate.is_empty() {
        b.push(Block::Feed);
        for r in &data.by_rate {
            b.push(columns(
                &format!("{} {} {}", w.vat, r.rate, w.vat_basis),
                &money(r.excluding_tax),
            ));
            b.push(columns(&format!("{} {}", w.vat, r.rate), &money(r.tax)));
        }
    }

    // How it was paid.
    if !data.tenders.is_empty() {
        b.push(Block::Rule);
        for t in &data.tenders {
            b.push(columns(w.tender(t.kind), &money(t.amount)));
            if let Some(r) = t.reference.as_deref().filter(|r| !r.is_empty()) {
                b.push(text_left(&format!("  {} {r}", w.reference)));
            }
            if let Some(tendered) = t.tendered {
                b.push(columns(&format!("  {}", w.tendered), &money(tendered)));
            }
            if let Some(change) = t.change.filter(|c| *c != 0) {
                b.push(columns(&format!("  {}", w.change), &money(change)));
            }
        }
    }

    if not_a_receipt {
        b.push(Block::Feed);
        push_not_a_receipt(&mut b, w);
    }
    if kind == DocKind::Copy {
        b.push(Block::Notice(w.copy.to_string()));
    }
    if !data.shop.footer.is_empty() {
        b.push(Block::Feed);
        for line in &data.shop.footer {
            b.push(text_center(line, false));
        }
    }
    if let Some(nr) = data.receipt_nr.filter(|_| !not_a_receipt) {
        b.push(Block::Feed);
        b.push(Block::Barcode(nr.to_string()));
    }

    let open_drawer = matches!(kind, DocKind::Sales | DocKind::Return)
        && data.tenders.iter().any(|t| t.kind == TenderKind::Cash);
    Document {
        kind,
        blocks: b,
        open_drawer,
    }
}

fn push_not_a_receipt(b: &mut Vec<Block>, w: &Words) {
    b.push(Block::Notice(w.not_a_receipt.to_string()));
    if let Some(note) = w.not_a_receipt_note {
        b.push(text_center(note, false));
    }
}

fn text_center(text: &str, bold: bool) -> Block {
    Block::Text {
        text: text.to_string(),
        align: Align::Center,
        bold,
    }
}

fn text_left(text: &str) -> Block {
    Block::Text {
        text: text.to_string(),
        align: Align::Left,
        bold: false,
    }
}

fn columns(left: &str, right: &str) -> Block {
    Block::Columns {
        left: left.to_string(),
        right: right.to_string(),
        bold: false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::basket::{Basket, Discount};
    use crate::core::catalog::Item;
    use crate::core::receipt::Receipt;
    use crate::core::vat::VatRate;

    /// A sale of two items (one discounted) paid with Vipps, as receipt 42.
    pub(crate) fn sample() -> ReceiptData {
        let mut basket = Basket::new(Currency::Nok);
        let socks = Item::new("sku-1", "Sokker blå", 5000, VatRate::NO_STANDARD);
        let bread = Item::new("sku-2", "Grovbrød", 3990, VatRate::NO_FOOD);
        let l = basket.add_item(&socks).unwrap();
        basket.set_quantity(l, 2).unwrap();
        basket.set_line_discount(l, Discount::Amount(1000)).unwrap();
        basket.add_item(&bread).unwrap();
        let r = Receipt::from_basket(&basket);
        ReceiptData {
            shop: ShopInfo {
                name: "Bakeriet på hjørnet".into(),
                org_nr: "999999999".into(),
                vat_registered: true,
                address: vec!["Storgata 1".into(), "0155 Oslo".into()],
                footer: vec!["Takk for handelen!".into()],
                logo: None,
            },
            till_id: "till1".into(),
            currency: Currency::Nok,
            sale_id: 7,
            receipt_nr: Some(42),
            date: "2026-11-30".into(),
            time: "08:15:00".into(),
            cashier: None,
            discount: r.discount,
            member_saving: 0,
            rounding: 0,
            total: r.total,
            by_rate: r.by_rate.clone(),
            lines: r.lines,
            tenders: vec![TenderLine::vipps(r.total, "till1-abc-1")],
            is_return: false,
            returns_receipt_nr: None,
            training_nr: None,
        }
    }

    fn nbsp(s: &str) -> String {
        s.replace('\u{a0}', " ")
    }

    #[test]
    fn sales_receipt_has_the_required_content() {
        let doc = build(&sample(), DocKind::Sales, Locale::Nb);
        let text = nbsp(&doc.text_lines().join("\n"));
        for want in [
            "Bakeriet på hjørnet",
            "Org.nr 999 999 999 MVA",
            "Storgata 1",
            "Salgskvittering",
            "Dato 2026-11-30 08:15:00",
            "Kasse till1",
            "Kvittering nr 42",
            "Sokker blå kr 90,00",
            "  2 x kr 50,00",
            "  Rabatt kr -10,00",
            "Grovbrød kr 39,90",
            "Totalt kr 129,90",
            "MVA 25 % grunnlag kr 72,00",
            "MVA 25 % kr 18,00",
            "MVA 15 % kr 5,20",
            "Vipps MobilePay kr 129,90",
            "  Ref. till1-abc-1",
            "Takk for handelen!",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("KOPI") && !text.contains("IKKJE"), "{text}");
        assert!(!text.contains("Kasserer"));
        assert_eq!(doc.blocks.last(), Some(&Block::Barcode("42".into())));
        assert!(!doc.open_drawer);
    }

    #[test]
    fn a_members_saving_gets_its_own_line_and_no_line_without_one() {
        let mut data = sample();
        let without = nbsp(
            &build(&data, DocKind::Sales, Locale::Nb)
                .text_lines()
                .join("\n"),
        );
        assert!(!without.contains("Spart som medlem"), "{without}");
        data.member_saving = 1000;
        for (kind, locale, want) in [
            (DocKind::Sales, Locale::Nb, "Spart som medlem kr 10,00"),
            (DocKind::Copy, Locale::Nb, "Spart som medlem kr 10,00"),
            (DocKind::Sales, Locale::En, "Saved as a member NOK 10.00"),
        ] {
            let text = nbsp(&build(&data, kind, locale).text_lines().join("\n"));
            assert!(text.contains(want), "missing {want:?} in\n{text}");
            // Told after the discounts it is part of, before the total.
            let saving = text.find(want).unwrap();
            assert!(saving < text.find("Total").unwrap(), "{text}");
        }
    }

    #[test]
    fn a_danish_shop_gets_danish_words_and_its_cvr_number_whole() {
        let mut data = sample();
        data.shop.org_nr = "12345678".into();
        let doc = build(&data, DocKind::Sales, Locale::Da);
        let text = nbsp(&doc.text_lines().join("\n"));
        for want in [
            "Kvittering",
            "CVR-nr. 12345678",
            "Bon nr. 42",
            "I alt kr 129,90",
            "Moms 25 % grundlag kr 72,00",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(!text.contains("Totalt") && !text.contains("MVA"), "{text}");
        let training = build(&sample(), DocKind::Training, Locale::Da);
        let text = training.text_lines().join("\n");
        assert!(text.contains("Træningskvittering") && text.contains("IKKE KVITTERING FOR KØB"));
    }

    #[test]
    fn copy_is_marked_and_other_documents_carry_the_notice_larger_than_amounts() {
        let copy = build(&sample(), DocKind::Copy, Locale::Nb);
        let notices: Vec<_> = copy
            .blocks
            .iter()
            .filter(|b| matches!(b, Block::Notice(t) if t == "KOPI"))
            .collect();
        assert_eq!(notices.len(), 2);
        for kind in [DocKind::Provisional, DocKind::Training] {
            let mut data = sample();
            data.receipt_nr = None;
            let doc = build(&data, kind, Locale::Nb);
            let lines = doc.text_lines();
            assert!(
                lines.contains(&"IKKJE KVITTERING FOR KJØP".to_string()),
                "{lines:?}"
            );
            // Every amount is normal size: the double-size notice is 100 % larger.
            for b in &doc.blocks {
                if let Block::Total { size, .. } = b {
                    assert_eq!(*size, Size::Normal);
                }
            }
            assert!(!doc.blocks.iter().any(|b| matches!(b, Block::Barcode(_))));
        }
        let provisional = build(&sample(), DocKind::Provisional, Locale::Nb);
        assert!(
            !provisional
                .text_lines()
                .iter()
                .any(|l| l.contains("Kvittering nr"))
        );
        let provisional = build(&sample(), DocKind::Provisional, Locale::Nb);
        assert!(provisional.text_lines()[4].starts_with("Foreløpig kvittering"));
    }

    #[test]
    fn english_words_cashier_and_cash_tender() {
        let mut data = sample();
        data.cashier = Some("Kari".into());
        data.tenders = vec![TenderLine {
            kind: TenderKind::Cash,
            amount: data.total,
            reference: None,
            tendered: Some(20_000),
            change: Some(20_000 - data.total),
        }];
        let doc = build(&data, DocKind::Sales, Locale::En);
        let text = doc.text_lines().join("\n");
        for want in [
            "Sales receipt",
            "Receipt no. 42",
            "Cashier: Kari",
            "Cash NOK 129.90",
            "  Tendered NOK 200.00",
            "  Change NOK 70.10",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        assert!(doc.open_drawer);
        let nb = build(&data, DocKind::Sales, Locale::Nb);
        assert!(nb.text_lines().contains(&"Kasserer: Kari".to_string()));
    }

    #[test]
    fn kinds_round_trip_and_map_to_event_codes() {
        for kind in DocKind::ALL {
            assert_eq!(DocKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DocKind::Sales.event_code().0, 13012);
        assert_eq!(DocKind::Return.event_code().0, 13013);
        assert_eq!(DocKind::Copy.event_code().0, 13014);
        assert_eq!(DocKind::Provisional.event_code().0, 13015);
        assert_eq!(DocKind::Training.event_code().0, 13017);
        assert_eq!(org_nr_line(&NB, "999 999 999", false), "Org.nr 999 999 999");
    }
}
