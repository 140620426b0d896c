//! The `eventReport` of an X or Z report event: the report as journalled (`x_report`,
//! `z_report` rows carry the whole [`Report`]), in the XSD's order. Lists the schema requires
//! but the period has nothing for get one zero entry, as Skatteetaten's example does.

use std::io::{self, Write};

use super::Company;
use super::basics;
use super::xml::{self, Xml};
use crate::core::report::{Report, ReportKind};

/// Writes `report` of journal row `seq` as an `eventReport`.
pub fn write<W: Write>(
    x: &mut Xml<W>,
    report: &Report,
    seq: i64,
    company: &Company,
) -> io::Result<()> {
    x.open("eventReport")?;
    let id = match (report.kind, report.z_nr) {
        (ReportKind::Z, Some(nr)) => format!("Z{nr}"),
        _ => format!("X{seq}"),
    };
    x.text("reportID", &id)?;
    x.text(
        "reportType",
        match report.kind {
            ReportKind::X => "X report",
            ReportKind::Z => "Z report",
        },
    )?;
    x.text("companyIdent", xml::clip(&company.ident, 35))?;
    x.text("companyName", xml::clip(&company.name, 100))?;
    x.text("reportDate", &report.date)?;
    x.text("reportTime", &report.time)?;
    x.text("registerID", xml::clip(&report.till_id, 100))?;
    x.open("reportTotalCashSales")?;
    x.amount("totalCashSaleAmnt", report.sales.amount)?;
    x.close("reportTotalCashSales")?;

    x.open("reportArtGroups")?;
    if report.by_article_group.is_empty() {
        group(x, crate::core::article_group::DEFAULT, 0, 0)?;
    }
    for g in &report.by_article_group {
        group(x, &g.group, g.lines, g.amount)?;
    }
    x.close("reportArtGroups")?;

    x.open("reportPayments")?;
    if report.by_tender.is_empty() {
        payment(x, "12011", 0, 0)?;
    }
    for t in &report.by_tender {
        payment(x, basics::payment(t.tender).id.as_str(), t.count, t.amount)?;
    }
    x.close("reportPayments")?;

    // Per employee (optional in Norway, required in Denmark): the sales' cashier, or the
    // till user "0" for sales no cashier was logged in for.
    x.open("reportEmpPayments")?;
    if report.by_cashier_tender.is_empty() {
        emp_payment(x, crate::compliance::NO_CASHIER, "12011", 0, 0)?;
    }
    for t in &report.by_cashier_tender {
        let emp = t.cashier_id.map_or_else(
            || crate::compliance::NO_CASHIER.to_string(),
            |id| id.to_string(),
        );
        emp_payment(
            x,
            &emp,
            basics::payment(t.tender).id.as_str(),
            t.count,
            t.amount,
        )?;
    }
    x.close("reportEmpPayments")?;

    x.open("reportCashSalesVat")?;
    if report.by_vat.is_empty() {
        vat(x, 2500, 0, 0)?;
    }
    for v in &report.by_vat {
        vat(x, v.rate_bp, v.basis, v.vat)?;
    }
    x.close("reportCashSalesVat")?;

    x.amount("reportOpeningChangeFloat", report.opening_float)?;
    x.text("reportReceiptNum", &report.receipts.to_string())?;
    x.text(
        "reportOpenCashBoxNum",
        &report.drawer_openings_without_sale.to_string(),
    )?;
    x.text("reportReceiptCopyNum", &report.copy_receipts.to_string())?;
    x.amount("reportReceiptCopyAmnt", 0)?;
    x.text(
        "reportReceiptProformaNum",
        &report.provisional_receipts.to_string(),
    )?;
    x.amount("reportReceiptProformaAmnt", 0)?;
    x.text("reportReturnNum", &report.returns.count.to_string())?;
    x.amount("reportReturnAmnt", report.returns.amount)?;
    x.text("reportDiscountNum", &report.discounts.count.to_string())?;
    x.amount("reportDiscountAmnt", report.discounts.amount)?;
    x.text("reportVoidTransNum", &report.voided_sales.count.to_string())?;
    x.amount("reportVoidTransAmnt", report.voided_sales.amount)?;

    x.open("reportCorrLines")?;
    x.open("reportCorrLine")?;
    x.text("corrLineType", "Delete line")?;
    x.text("corrLineNum", &report.voided_lines.count.to_string())?;
    x.amount("corrLineAmnt", report.voided_lines.amount)?;
    x.close("reportCorrLine")?;
    x.close("reportCorrLines")?;

    x.open("reportPriceInquiries")?;
    x.open("reportPriceInquiry")?;
    x.text("priceInquiryGroup", "All")?;
    x.text("priceInquiryNum", &report.price_look_ups.to_string())?;
    x.amount("priceInquiryAmnt", 0)?;
    x.close("reportPriceInquiry")?;
    x.close("reportPriceInquiries")?;

    x.open("reportOtherCorrs")?;
    x.open("reportOtherCorr")?;
    x.text("otherCorrType", "Cancelled after part payment")?;
    x.text("otherCorrNum", &report.given_back.count.to_string())?;
    x.amount("otherCorrAmnt", report.given_back.amount)?;
    x.close("reportOtherCorr")?;
    x.close("reportOtherCorrs")?;

    x.text("reportReceiptDeliveryNum", "0")?;
    x.amount("reportReceiptDeliveryAmnt", 0)?;
    // Training mode transactions (the sales concluded in training mode, apart from the rest).
    x.text(
        "reportTrainingNum",
        &report.training_sales.count.to_string(),
    )?;
    x.amount("reportTrainingAmnt", report.training_sales.amount)?;

    x.open("reportPayIns")?;
    x.open("reportPayIn")?;
    x.text("payInType", "Cash")?;
    x.text("payInNum", &report.pay_ins.count.to_string())?;
    x.amount("payInAmnt", report.pay_ins.amount)?;
    x.close("reportPayIn")?;
    x.close("reportPayIns")?;
    x.open("reportPayOuts")?;
    x.open("reportPayOut")?;
    x.text("payOutType", "Cash")?;
    x.text("payOutNum", &report.pay_outs.count.to_string())?;
    x.amount("payOutAmnt", report.pay_outs.amount)?;
    x.close("reportPayOut")?;
    x.close("reportPayOuts")?;

    x.amount("reportGrandTotalSales", report.grand_total_sales)?;
    x.amount("reportGrandTotalReturn", report.grand_total_returns)?;
    x.amount("reportGrandTotalSalesNet", report.grand_total_net)?;
    x.close("eventReport")
}

fn group<W: Write>(x: &mut Xml<W>, id: &str, n: i64, amount: i64) -> io::Result<()> {
    x.open("reportArtGroup")?;
    x.text("artGroupID", id)?;
    x.text("artGroupNum", &n.to_string())?;
    x.amount("artGroupAmnt", amount)?;
    x.close("reportArtGroup")
}

fn payment<W: Write>(x: &mut Xml<W>, kind: &str, n: i64, amount: i64) -> io::Result<()> {
    x.open("reportPayment")?;
    x.text("paymentType", kind)?;
    x.text("paymentNum", &n.to_string())?;
    x.amount("paymentAmnt", amount)?;
    x.close("reportPayment")
}

fn emp_payment<W: Write>(
    x: &mut Xml<W>,
    emp: &str,
    kind: &str,
    n: i64,
    amount: i64,
) -> io::Result<()> {
    x.open("reportEmpPayment")?;
    x.text("empID", emp)?;
    x.text("paymentType", kind)?;
    x.text("paymentNum", &n.to_string())?;
    x.amount("paymentAmnt", amount)?;
    x.close("reportEmpPayment")
}

fn vat<W: Write>(x: &mut Xml<W>, rate_bp: i64, basis: i64, tax: i64) -> io::Result<()> {
    x.open("reportCashSaleVat")?;
    x.text(
        "vatPerc",
        &xml::percent(u32::try_from(rate_bp).unwrap_or(0)),
    )?;
    x.amount("cashSaleAmnt", basis)?;
    x.amount("vatAmnt", tax)?;
    x.text("vatAmntTp", if tax < 0 { "D" } else { "C" })?;
    x.close("reportCashSaleVat")
}
