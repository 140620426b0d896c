//! Admin → Catalogue (items, the editor, CSV import and its problems) and Language and VAT.

use super::*;
use iced::widget::{column, row};

pub(super) fn catalogue<'a>(
    ctx: Ctx<'a>,
    form: &'a Unlocked,
    catalog: &'a Catalog,
    country: Country,
) -> Element<'a, Message> {
    let list = scrollable(
        column(catalog.items().iter().map(|item| {
            row![
                column![
                    strong(&item.name),
                    text(match form.member_prices.items.get(&item.id) {
                        Some(member) => format!(
                            "{} · {} · {} · {}",
                            item.id,
                            ctx.money(item.unit_price),
                            item.vat,
                            ctx.t_args(
                                "admin-item-member-price-short",
                                &[("price", Arg::Str(&ctx.money(*member)))]
                            )
                        ),
                        None => format!(
                            "{} · {} · {}",
                            item.id,
                            ctx.money(item.unit_price),
                            item.vat
                        ),
                    })
                    .size(size::SMALL),
                ]
                .width(Fill),
                button(text(ctx.t("admin-item-edit")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::plain_button)
                    .on_press(Message::EditItem(Some(item.id.clone()))),
                button(text(ctx.t("admin-item-delete")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::stop_button)
                    .on_press(Message::DeleteItem(item.id.clone())),
            ]
            .spacing(8)
            .align_y(Center)
            .into()
        }))
        .spacing(6)
        .padding(iced::Padding::ZERO.right(16)),
    )
    .height(Fill);

    let mut left = column![
        row![
            heading(ctx.t_args(
                "admin-catalogue-title",
                &[("count", Arg::Int(catalog.len() as i64))]
            ))
            .width(Fill),
            button(text(ctx.t("admin-item-add")).size(size::BODY))
                .padding([10, 14])
                .style(theme::primary_button)
                .on_press(Message::EditItem(None)),
        ]
        .align_y(Center),
    ]
    .spacing(10);
    if let Some(error) = &form.catalogue_error {
        left = left.push(text(error.clone()).size(size::BODY).color(theme::STOP));
    }
    left = left.push(list);

    let right: Element<'a, Message> = match &form.item {
        Some(item) => item_editor(ctx, item, country),
        None => csv_import(ctx, form),
    };

    row![
        left.width(FillPortion(3)),
        container(right)
            .padding(16)
            .width(FillPortion(2))
            .style(theme::panel)
    ]
    .spacing(16)
    .height(Fill)
    .into()
}

fn item_editor<'a>(ctx: Ctx<'a>, item: &'a ItemForm, country: Country) -> Element<'a, Message> {
    let input = |value: &'a str, field: ItemField| {
        let placeholder = match field {
            ItemField::MemberPrice => ctx.t("admin-item-member-price-none"),
            _ => String::new(),
        };
        text_input(&placeholder, value)
            .id(item_field_id(field))
            .on_input(move |v| Message::ItemField(field, v))
            .size(size::BODY)
            .padding(10)
            .style(theme::input)
    };
    let rates: Vec<VatRate> = country.vat_rates().to_vec();
    let fields = column![
        heading(if item.original_id.is_some() {
            ctx.t("admin-item-edit-title")
        } else {
            ctx.t("admin-item-new-title")
        }),
        labelled(ctx.t("admin-item-id"), input(&item.id, ItemField::Id)),
        labelled(ctx.t("admin-item-name"), input(&item.name, ItemField::Name)),
        row![
            labelled(
                ctx.t("admin-item-price"),
                input(&item.price, ItemField::Price)
            ),
            labelled(
                ctx.t("admin-item-member-price"),
                input(&item.member_price, ItemField::MemberPrice)
            ),
        ]
        .spacing(8),
        labelled(
            ctx.t("admin-item-vat"),
            pick_list(rates, item.vat, Message::ItemVat)
                .text_size(size::BODY)
                .padding(10),
        ),
        labelled(
            ctx.t("admin-item-barcodes"),
            input(&item.barcodes, ItemField::Barcodes)
        ),
        labelled(
            ctx.t("admin-item-category"),
            input(&item.category, ItemField::Category)
        ),
        iced::widget::checkbox(item.by_weight)
            .label(ctx.t("admin-item-by-weight"))
            .on_toggle(Message::ItemByWeight)
            .size(28)
            .text_size(size::BODY),
    ]
    .spacing(10)
    .padding(iced::Padding::ZERO.right(16));
    // The buttons stay in view below the fields, however far they scroll.
    let mut col = column![
        scrollable(fields).height(Fill),
        row![
            big_button(ctx.t("admin-save"), theme::go_button).on_press(Message::SaveItem),
            big_button(ctx.t("common-close"), theme::plain_button).on_press(Message::CloseItem),
        ]
        .spacing(8),
    ]
    .spacing(10);
    if let Some(error) = &item.error {
        col = col.push(
            text(ctx.t_args("admin-item-invalid", &[("error", Arg::Str(error))]))
                .size(size::BODY)
                .font(theme::BOLD)
                .color(theme::STOP),
        );
    }
    col.into()
}

fn csv_import<'a>(ctx: Ctx<'a>, form: &'a Unlocked) -> Element<'a, Message> {
    let mut col = column![
        heading(ctx.t("admin-csv-title")),
        text(ctx.t("admin-csv-hint")).size(size::SMALL),
        text_input("/home/…/catalogue.csv", &form.csv_path)
            .id(CSV_PATH_ID)
            .on_input(Message::CsvPath)
            .on_submit(Message::ImportCsv)
            .size(size::BODY)
            .padding(10)
            .style(theme::input),
        big_button(ctx.t("admin-csv-import"), theme::primary_button)
            .width(Fill)
            .on_press(Message::ImportCsv),
    ]
    .spacing(10);
    match &form.csv_result {
        Some(Ok(count)) => {
            col = col.push(
                text(ctx.t_args("admin-csv-done", &[("count", Arg::Int(*count as i64))]))
                    .size(size::BODY)
                    .font(theme::BOLD)
                    .color(theme::GO),
            );
        }
        Some(Err(CsvImportError::Problems(problems))) => {
            col = col.push(
                text(ctx.t_args(
                    "admin-csv-failed",
                    &[("count", Arg::Int(problems.len() as i64))],
                ))
                .size(size::BODY)
                .font(theme::BOLD)
                .color(theme::STOP),
            );
            col = col.push(scrollable(
                column(
                    problems
                        .iter()
                        .map(|p| text(csv_problem_text(ctx, p)).size(size::SMALL).into()),
                )
                .spacing(4),
            ));
        }
        Some(Err(error)) => {
            let detail = match error {
                CsvImportError::Unreadable { path, source } => {
                    let detail = format!("{}: {source}", path.display());
                    ctx.t_args("csv-unreadable", &[("detail", Arg::Str(&detail))])
                }
                CsvImportError::Stored(source) => ctx.t_args(
                    "csv-not-stored",
                    &[("detail", Arg::Str(&source.to_string()))],
                ),
                // Listed above, one line each.
                CsvImportError::Problems(_) => String::new(),
                CsvImportError::Task => ctx.t_args(
                    "csv-not-stored",
                    &[("detail", Arg::Str(&error.to_string()))],
                ),
            };
            col = col.push(
                text(detail)
                    .size(size::BODY)
                    .font(theme::BOLD)
                    .color(theme::STOP),
            );
        }
        None => {}
    }
    col.into()
}

/// A CSV problem in the admin's language.
pub fn csv_problem_text(ctx: Ctx<'_>, problem: &CsvProblem) -> String {
    let line = |line: &usize| Arg::Int(*line as i64);
    match problem {
        CsvProblem::Empty => ctx.t("csv-empty"),
        CsvProblem::MissingColumn(column) => {
            ctx.t_args("csv-missing-column", &[("column", Arg::Str(column))])
        }
        CsvProblem::EmptyField { line: l, field } => ctx.t_args(
            "csv-empty-field",
            &[("line", line(l)), ("field", Arg::Str(field))],
        ),
        CsvProblem::BadPrice { line: l, value } => ctx.t_args(
            "csv-bad-price",
            &[("line", line(l)), ("value", Arg::Str(value))],
        ),
        CsvProblem::BadVat { line: l, value } => ctx.t_args(
            "csv-bad-vat",
            &[("line", line(l)), ("value", Arg::Str(value))],
        ),
        CsvProblem::BadUnit { line: l, value } => ctx.t_args(
            "csv-bad-unit",
            &[("line", line(l)), ("value", Arg::Str(value))],
        ),
        CsvProblem::UnclosedQuote { line: l } => {
            ctx.t_args("csv-unclosed-quote", &[("line", line(l))])
        }
        CsvProblem::DuplicateId { line: l, id, first } => ctx.t_args(
            "csv-duplicate-id",
            &[
                ("line", line(l)),
                ("id", Arg::Str(id)),
                ("first", line(first)),
            ],
        ),
        CsvProblem::DuplicateBarcode {
            line: l,
            barcode,
            first,
        } => ctx.t_args(
            "csv-duplicate-barcode",
            &[
                ("line", line(l)),
                ("barcode", Arg::Str(barcode)),
                ("first", line(first)),
            ],
        ),
        CsvProblem::Invalid { line: l, source } => ctx.t_args(
            "csv-invalid",
            &[("line", line(l)), ("detail", Arg::Str(&source.to_string()))],
        ),
        CsvProblem::Malformed { line: l, message } => ctx.t_args(
            "csv-invalid",
            &[("line", line(l)), ("detail", Arg::Str(message))],
        ),
    }
}

pub(super) fn language<'a>(ctx: Ctx<'a>, country: Country) -> Element<'a, Message> {
    let current = ctx.i18n.locale();
    let languages = row(i18n::LANGUAGES.iter().map(|locale| {
        button(
            text(i18n::native_name(*locale))
                .size(size::BODY)
                .font(theme::BOLD),
        )
        .padding([12, 18])
        .style(if *locale == current {
            theme::selected_button
        } else {
            theme::plain_button
        })
        .on_press(Message::Language(*locale))
        .into()
    }))
    .spacing(8);
    let rates = column(
        country
            .vat_rates()
            .iter()
            .map(|rate| body(rate.to_string()).into()),
    )
    .spacing(4);
    column![
        heading(ctx.t("admin-section-language")),
        languages,
        Space::new().height(Length::Fixed(16.0)),
        heading(ctx.t("admin-vat-rates")),
        text(ctx.t_args(
            "admin-vat-rates-hint",
            &[("country", Arg::Str(country.code()))]
        ))
        .size(size::SMALL),
        rates,
    ]
    .spacing(12)
    .into()
}
