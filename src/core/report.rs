//! X and Z reports: what the till took in one reporting period, with every field of the
//! SAF-T `eventReport` (BRIEF §4). An X report may be taken any time and closes nothing; a Z
//! report closes the period, once per till per day, numbered 1, 2, 3, ...
//!
//! Amounts are minor units. Counts are numbers of rows (sales, lines, openings).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::cashier::Role;
use super::money::{Currency, Locale, format_minor};
use super::tender::TenderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    X,
    Z,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::X => "X",
            ReportKind::Z => "Z",
        }
    }
}

/// How many, and for how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: i64,
    pub amount: i64,
}

/// Sales of one article group (PredefinedBasicID-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupLine {
    pub group: String,
    pub lines: i64,
    pub amount: i64,
}

/// What one means of payment took (payments) and paid back (returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenderLine {
    pub tender: TenderKind,
    pub count: i64,
    pub amount: i64,
}

/// What one means of payment took for one cashier's sales (no cashier: `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashierTenderLine {
    pub cashier_id: Option<i64>,
    pub tender: TenderKind,
    pub count: i64,
    pub amount: i64,
}

/// Sales at one VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatLine {
    /// Basis points (2500 = 25 %).
    pub rate_bp: i64,
    /// Amount excluding VAT.
    pub basis: i64,
    pub vat: i64,
}

/// One cashier's sales in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashierLine {
    pub cashier_id: Option<i64>,
    pub name: String,
    pub role: Option<Role>,
    pub sales: Tally,
}

/// An X or Z report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub kind: ReportKind,
    /// The period it covers: the number its Z report has (or will have).
    pub period: i64,
    /// Z reports: their number (= period). X reports: none.
    pub z_nr: Option<i64>,
    pub till_id: String,
    pub currency: Currency,
    /// Local date (`YYYY-MM-DD`) and time it was taken.
    pub date: String,
    pub time: String,
    pub at_ms: i64,
    /// When the period began (the previous Z), if there was one.
    pub since_ms: Option<i64>,
    /// Who took it.
    pub taken_by: Option<String>,
    /// Concluded sales (count, amount including VAT).
    pub sales: Tally,
    pub by_article_group: Vec<GroupLine>,
    /// Payments by means, net of parts given back on cancelled sales.
    pub by_tender: Vec<TenderLine>,
    pub by_vat: Vec<VatLine>,
    pub by_cashier: Vec<CashierLine>,
    /// Payments per cashier and means (SAF-T `reportEmpPayments`, required in Denmark).
    #[serde(default)]
    pub by_cashier_tender: Vec<CashierTenderLine>,
    /// Cash rounding on concluded sales (positive: customers paid more).
    pub rounding: i64,
    pub opening_float: i64,
    pub pay_ins: Tally,
    pub pay_outs: Tally,
    /// Cash the drawer should hold at the time of the report.
    pub expected_cash: i64,
    /// The latest count in the period, if any: counted and difference.
    pub counted_cash: Option<i64>,
    pub cash_difference: Option<i64>,
    /// Receipts issued (concluded sales and returns).
    pub receipts: i64,
    pub drawer_openings: i64,
    pub drawer_openings_without_sale: i64,
    pub copy_receipts: i64,
    pub provisional_receipts: i64,
    pub training_receipts: i64,
    /// Sales concluded in training mode: in no other figure of the report.
    #[serde(default)]
    pub training_sales: Tally,
    /// Returns (count, amount paid back) and by means.
    pub returns: Tally,
    pub returns_by_tender: Vec<TenderLine>,
    pub discounts: Tally,
    pub voided_sales: Tally,
    pub voided_lines: Tally,
    /// Sales cancelled after part of them was paid (the parts were given back).
    pub given_back: Tally,
    pub price_look_ups: i64,
    pub price_changes: i64,
    /// Since installation, training excluded.
    pub grand_total_sales: i64,
    pub grand_total_returns: i64,
    pub grand_total_net: i64,
}

/// One line of a report as shown, printed or written as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLine {
    Title(String),
    Text(String),
    /// A label and its figure.
    Pair(String, String),
    Rule,
}

/// A report's words in one language (Norwegian for nb and da, English for en and fi, as the
/// receipts).
struct Words {
    x: &'static str,
    z: &'static str,
    till: &'static str,
    period: &'static str,
    taken_by: &'static str,
    sales: &'static str,
    rounding: &'static str,
    by_tender: &'static str,
    by_group: &'static str,
    by_vat: &'static str,
    by_cashier: &'static str,
    float: &'static str,
    pay_ins: &'static str,
    pay_outs: &'static str,
    expected: &'static str,
    counted: &'static str,
    difference: &'static str,
    /// Returns, discounts, voided sales, voided lines, cancelled after part payment, training
    /// sales.
    tallies: [&'static str; 6],
    /// Receipts, copies, provisional, training, drawer openings, without a sale, price
    /// look-ups, price changes.
    counts: [&'static str; 8],
    grand: [&'static str; 3],
    /// Cash, card, Vipps, gift card, credit note.
    tenders: [&'static str; 5],
    norwegian_groups: bool,
}

const NB: Words = Words {
    x: "X-rapport",
    z: "Z-rapport",
    till: "Kasse",
    period: "periode",
    taken_by: "Tatt av",
    sales: "Salg",
    rounding: "Øreavrunding",
    by_tender: "Per betalingsmiddel",
    by_group: "Per varegruppe",
    by_vat: "Per mva-sats (grunnlag / mva)",
    by_cashier: "Per kasserer",
    float: "Vekselbeholdning",
    pay_ins: "Innskudd",
    pay_outs: "Uttak",
    expected: "Forventet kontant i skuffen",
    counted: "Opptalt kontant",
    difference: "Differanse",
    tallies: [
        "Returer",
        "Rabatter",
        "Annullerte salg",
        "Annullerte linjer",
        "Avbrutt etter delbetaling",
        "Treningssalg",
    ],
    counts: [
        "Kvitteringer",
        "Kopikvitteringer",
        "Foreløpige kvitteringer",
        "Treningskvitteringer",
        "Skuffåpninger",
        "  uten salg",
        "Prisoppslag",
        "Prisendringer",
    ],
    grand: [
        "Grand total salg",
        "Grand total returer",
        "Grand total netto",
    ],
    tenders: ["kontant", "kort", "Vipps", "gavekort", "tilgodelapp"],
    norwegian_groups: true,
};

const EN: Words = Words {
    x: "X report",
    z: "Z report",
    till: "Till",
    period: "period",
    taken_by: "Taken by",
    sales: "Sales",
    rounding: "Cash rounding",
    by_tender: "By means of payment",
    by_group: "By article group",
    by_vat: "By VAT rate (basis / VAT)",
    by_cashier: "By cashier",
    float: "Opening float",
    pay_ins: "Pay-ins",
    pay_outs: "Pay-outs",
    expected: "Expected cash in drawer",
    counted: "Counted cash",
    difference: "Difference",
    tallies: [
        "Returns",
        "Discounts",
        "Voided sales",
        "Voided lines",
        "Cancelled after part payment",
        "Training sales",
    ],
    counts: [
        "Receipts",
        "Copy receipts",
        "Provisional receipts",
        "Training receipts",
        "Drawer openings",
        "  without a sale",
        "Price look-ups",
        "Price changes",
    ],
    grand: [
        "Grand total sales",
        "Grand total returns",
        "Grand total net",
    ],
    tenders: ["cash", "card", "Vipps", "gift card", "credit note"],
    norwegian_groups: false,
};

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::Nb | Locale::Da => &NB,
        Locale::En | Locale::Fi => &EN,
    }
}

impl Report {
    /// The report's lines: the one layout the window, the printer and the text share, in the
    /// store's language.
    pub fn lines(&self, locale: Locale) -> Vec<ReportLine> {
        use ReportLine::{Pair, Rule, Text, Title};
        let w = words(locale);
        let m = |minor: i64| format_minor(minor, self.currency, locale);
        let pair = |left: String, right: String| Pair(left, right);
        let tender = |t: TenderKind| match t {
            TenderKind::Cash => w.tenders[0],
            TenderKind::Card => w.tenders[1],
            TenderKind::Vipps => w.tenders[2],
            TenderKind::GiftCard => w.tenders[3],
            TenderKind::CreditNote => w.tenders[4],
        };
        let mut out = vec![Title(match (self.kind, self.z_nr) {
            (ReportKind::Z, Some(nr)) => format!("{} {nr}", w.z),
            _ => w.x.to_string(),
        })];
        out.push(Text(format!(
            "{} {} · {} {} · {} {}",
            w.till, self.till_id, self.date, self.time, w.period, self.period
        )));
        if let Some(by) = &self.taken_by {
            out.push(Text(format!("{} {by}", w.taken_by)));
        }
        out.push(Rule);
        out.push(pair(
            format!("{} ({})", w.sales, self.sales.count),
            m(self.sales.amount),
        ));
        out.push(pair(w.rounding.into(), m(self.rounding)));
        out.push(Rule);
        out.push(Text(w.by_tender.into()));
        for t in &self.by_tender {
            out.push(pair(
                format!("  {} ({})", tender(t.tender), t.count),
                m(t.amount),
            ));
        }
        out.push(Text(w.by_group.into()));
        for g in &self.by_article_group {
            let name = if w.norwegian_groups {
                super::article_group::description_nb(&g.group)
            } else {
                super::article_group::description(&g.group)
            }
            .unwrap_or("?");
            out.push(pair(
                format!("  {} {} ({})", g.group, name.trim(), g.lines),
                m(g.amount),
            ));
        }
        out.push(Text(w.by_vat.into()));
        for v in &self.by_vat {
            out.push(pair(
                format!("  {}.{:02} %", v.rate_bp / 100, v.rate_bp % 100),
                format!("{} / {}", m(v.basis), m(v.vat)),
            ));
        }
        if !self.by_cashier.is_empty() {
            out.push(Text(w.by_cashier.into()));
            for c in &self.by_cashier {
                out.push(pair(
                    format!("  {} ({})", c.name, c.sales.count),
                    m(c.sales.amount),
                ));
            }
        }
        out.push(Rule);
        out.push(pair(w.float.into(), m(self.opening_float)));
        out.push(pair(
            format!("{} ({})", w.pay_ins, self.pay_ins.count),
            m(self.pay_ins.amount),
        ));
        out.push(pair(
            format!("{} ({})", w.pay_outs, self.pay_outs.count),
            m(self.pay_outs.amount),
        ));
        out.push(pair(w.expected.into(), m(self.expected_cash)));
        if let (Some(counted), Some(diff)) = (self.counted_cash, self.cash_difference) {
            out.push(pair(w.counted.into(), m(counted)));
            out.push(pair(w.difference.into(), m(diff)));
        }
        out.push(Rule);
        let tallies = [
            self.returns,
            self.discounts,
            self.voided_sales,
            self.voided_lines,
            self.given_back,
            self.training_sales,
        ];
        for (label, t) in w.tallies.iter().zip(tallies) {
            out.push(pair(format!("{label} ({})", t.count), m(t.amount)));
        }
        let counts = [
            self.receipts,
            self.copy_receipts,
            self.provisional_receipts,
            self.training_receipts,
            self.drawer_openings,
            self.drawer_openings_without_sale,
            self.price_look_ups,
            self.price_changes,
        ];
        for (label, n) in w.counts.iter().zip(counts) {
            out.push(pair((*label).into(), n.to_string()));
        }
        out.push(Rule);
        let grand = [
            self.grand_total_sales,
            self.grand_total_returns,
            self.grand_total_net,
        ];
        for (label, amount) in w.grand.iter().zip(grand) {
            out.push(pair((*label).into(), m(amount)));
        }
        out
    }

    /// The report as plain text, `width` columns (the terminal).
    pub fn text(&self, locale: Locale, width: usize) -> String {
        let mut out = String::new();
        for line in self.lines(locale) {
            match line {
                ReportLine::Title(t) | ReportLine::Text(t) => {
                    let _ = writeln!(out, "{t}");
                }
                ReportLine::Rule => {
                    let _ = writeln!(out, "{}", "-".repeat(width));
                }
                ReportLine::Pair(left, right) => {
                    let pad = width.saturating_sub(left.chars().count() + right.chars().count());
                    let _ = writeln!(out, "{left}{}{right}", " ".repeat(pad.max(1)));
                }
            }
        }
        out
    }
}
