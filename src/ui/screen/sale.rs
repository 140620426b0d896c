//! Sale: catalogue grid, search, barcode input, basket, totals, Pay.

use iced::keyboard::key::Named;
use iced::widget::{Space, button, column, container, row, rule, scrollable, text, text_input};
use iced::{Center, Element, Fill, FillPortion, Length};

use super::KeyPress;
use crate::core::basket::{Basket, BasketError, Discount, LineId};
use crate::core::catalog::{Catalog, Item, Unit};
use crate::core::money::parse_minor;
use crate::engine::PersonalQr;
use crate::ui::i18n::Arg;
use crate::ui::theme::{self, size};
use crate::ui::widget::{Ctx, big_button, body, heading, square_button, strong};

/// Id of the search / barcode field.
pub const SEARCH_ID: &str = "search";
/// Id of the discount amount field.
pub const DISCOUNT_ID: &str = "discount";
/// Id of the weight field.
pub const WEIGHT_ID: &str = "weight";
/// Id of the customer's phone number field (loyalty: find a member).
pub const MEMBER_PHONE_ID: &str = "member-phone";

/// What a discount applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountTarget {
    Line(LineId),
    Basket,
}

#[derive(Debug, Clone)]
struct DiscountEditor {
    target: DiscountTarget,
    input: String,
    error: Option<String>,
}

#[derive(Debug, Clone)]
struct WeightPrompt {
    item_id: String,
    input: String,
    error: bool,
}

/// Something the cashier should read (unknown barcode, refused change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    UnknownBarcode(String),
    Refused(String),
}

/// The sale screen's own state (the basket itself lives in the root).
#[derive(Debug, Default)]
pub struct Sale {
    search: String,
    category: Option<String>,
    scan_buffer: String,
    discount: Option<DiscountEditor>,
    weight: Option<WeightPrompt>,
    notice: Option<Notice>,
    /// Loyalty: the customer's number being typed (the field is open).
    member_phone: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// Loyalty: invite the customer who scanned.
    Invite,
    /// Loyalty: open the field for the customer's number.
    OpenFindMember,
    /// The customer who scanned is not the one at the till: discard their scan.
    NotThisCustomer,
    MemberPhoneInput(String),
    /// Loyalty: look the typed number up.
    FindMember,
    CloseFindMember,
    Search(String),
    SearchSubmitted,
    ClearSearch,
    Category(Option<String>),
    Add(String),
    Increment(LineId),
    Decrement(LineId),
    Remove(LineId),
    EditDiscount(DiscountTarget),
    DiscountInput(String),
    ApplyDiscount,
    RemoveDiscount,
    CloseDiscount,
    WeightInput(String),
    ConfirmWeight,
    CloseWeight,
    Clear,
    Pay,
    DismissNotice,
}

/// What the root must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// Loyalty: invite the customer who scanned to the programme.
    Invite,
    /// Loyalty: find the customer by this typed phone number.
    FindMember(String),
    /// Discard the waiting scan (its customer walked away).
    DiscardWaitingScan,
    /// The basket was cleared: the customer at the till is forgotten.
    Cleared {
        /// What was voided (nothing when the basket was empty).
        amount: i64,
    },
    /// Hand the basket to the engine.
    Pay,
    /// Hand the basket to the engine and push the payment to the customer whose personal QR
    /// the scanner typed.
    PayWithPersonalQr(PersonalQr),
    /// Move keyboard focus to a field.
    Focus(&'static str),
    /// A line (or the whole basket) was voided before payment: recorded for the reports.
    Voided {
        whole_sale: bool,
        amount: i64,
    },
}

/// A removed line, unless nothing was removed.
fn voided(whole_sale: bool, amount: i64) -> Action {
    if amount > 0 {
        Action::Voided { whole_sale, amount }
    } else {
        Action::None
    }
}

impl Sale {
    pub fn new() -> Sale {
        Sale::default()
    }

    /// The barcode digits typed so far (shown while a scanner types).
    pub fn scan_buffer(&self) -> &str {
        &self.scan_buffer
    }

    /// The scan as shown: a URL (a customer's personal QR can carry their phone number) only
    /// up to its host.
    fn shown_scan(&self) -> String {
        match self.scan_buffer.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or_default();
                format!("{scheme}://{host}/…")
            }
            None => self.scan_buffer.clone(),
        }
    }

    /// The message shown to the cashier, if any.
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    pub fn update(&mut self, message: Message, catalog: &Catalog, basket: &mut Basket) -> Action {
        match message {
            Message::Invite => return Action::Invite,
            Message::NotThisCustomer => return Action::DiscardWaitingScan,
            Message::OpenFindMember => {
                self.member_phone = Some(String::new());
                return Action::Focus(MEMBER_PHONE_ID);
            }
            Message::MemberPhoneInput(input) => {
                if let Some(phone) = &mut self.member_phone {
                    *phone = input
                        .chars()
                        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-'))
                        .take(20)
                        .collect();
                }
            }
            Message::FindMember => {
                let typed = self.member_phone.take().unwrap_or_default();
                if typed.trim().is_empty() {
                    return Action::None;
                }
                return Action::FindMember(typed);
            }
            Message::CloseFindMember => self.member_phone = None,
            Message::Search(query) => {
                self.search = query;
            }
            Message::SearchSubmitted => {
                let query = self.search.trim().to_owned();
                if query.is_empty() {
                    // Enter in the empty search field pays, like Enter anywhere else.
                    return self.pay(basket);
                }
                // The customer's personal QR (from their app), read by the scanner: pay the
                // basket with it.
                let personal_qr = PersonalQr(query.clone());
                if personal_qr.looks_valid() {
                    self.search.clear();
                    return self.personal_qr_scanned(personal_qr, basket);
                }
                // A scanner typing into the focused search field ends with Enter:
                // an exact barcode adds the item; a single hit adds that item.
                if catalog.by_barcode(&query).is_some() {
                    self.add_barcode(&query, catalog, basket);
                    self.search.clear();
                } else if let [only] = catalog.search(&query).as_slice() {
                    let id = only.id.clone();
                    self.search.clear();
                    return self.add(&id, catalog, basket);
                } else if query.chars().all(|c| c.is_ascii_digit()) {
                    self.notice = Some(Notice::UnknownBarcode(query));
                    self.search.clear();
                }
            }
            Message::ClearSearch => self.search.clear(),
            Message::Category(category) => self.category = category,
            Message::Add(id) => return self.add(&id, catalog, basket),
            Message::Increment(line) => {
                if let Some(quantity) = basket.line(line).map(|l| l.quantity) {
                    self.apply(basket.set_quantity(line, quantity + 1));
                }
            }
            Message::Decrement(line) => {
                if let Some(quantity) = basket.line(line).map(|l| l.quantity) {
                    if quantity > 1 {
                        self.apply(basket.set_quantity(line, quantity - 1));
                    } else {
                        let before = basket.totals().total;
                        self.apply(basket.remove(line).map(|_| ()));
                        return voided(false, before - basket.totals().total);
                    }
                }
            }
            Message::Remove(line) => {
                let before = basket.totals().total;
                self.apply(basket.remove(line).map(|_| ()));
                if self.discount.as_ref().map(|d| d.target) == Some(DiscountTarget::Line(line)) {
                    self.discount = None;
                }
                return voided(false, before - basket.totals().total);
            }
            Message::EditDiscount(target) => {
                self.discount = Some(DiscountEditor {
                    target,
                    input: String::new(),
                    error: None,
                });
                return Action::Focus(DISCOUNT_ID);
            }
            Message::DiscountInput(input) => {
                if let Some(editor) = &mut self.discount {
                    editor.input = input;
                    editor.error = None;
                }
            }
            Message::ApplyDiscount => {
                if let Some(editor) = &mut self.discount {
                    let result = match parse_discount(&editor.input) {
                        None => Err(None),
                        Some(discount) => match editor.target {
                            DiscountTarget::Line(line) => basket.set_line_discount(line, discount),
                            DiscountTarget::Basket => basket.set_basket_discount(discount),
                        }
                        .map_err(|e| Some(e.to_string())),
                    };
                    match result {
                        Ok(()) => self.discount = None,
                        Err(error) => editor.error = Some(error.unwrap_or_default()),
                    }
                }
            }
            Message::RemoveDiscount => {
                if let Some(editor) = self.discount.take() {
                    match editor.target {
                        DiscountTarget::Line(line) => {
                            self.apply(basket.clear_line_discount(line));
                        }
                        DiscountTarget::Basket => basket.clear_basket_discount(),
                    }
                }
            }
            Message::CloseDiscount => self.discount = None,
            Message::WeightInput(input) => {
                if let Some(prompt) = &mut self.weight {
                    prompt.input = input;
                    prompt.error = false;
                }
            }
            Message::ConfirmWeight => self.confirm_weight(catalog, basket),
            Message::CloseWeight => self.weight = None,
            Message::Clear => {
                let before = basket.totals().total;
                let had_lines = !basket.is_empty();
                basket.clear();
                self.discount = None;
                self.notice = None;
                self.member_phone = None;
                return Action::Cleared {
                    amount: if had_lines { before } else { 0 },
                };
            }
            Message::Pay => return self.pay(basket),
            Message::DismissNotice => self.notice = None,
        }
        Action::None
    }

    /// Handles a key no widget took. Digits are barcode input; Enter adds the
    /// scanned code or, with nothing scanned, pays; F12 pays; Escape clears.
    pub fn key(&mut self, press: &KeyPress, catalog: &Catalog, basket: &mut Basket) -> Action {
        if let Some(prompt) = &mut self.weight {
            match press.named() {
                Some(Named::Enter) => self.confirm_weight(catalog, basket),
                Some(Named::Escape) => self.weight = None,
                Some(Named::Backspace) => {
                    prompt.input.pop();
                }
                _ => {
                    if let Some(c) = press
                        .character()
                        .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                    {
                        prompt.input.push(c);
                    }
                }
            }
            return Action::None;
        }
        match press.named() {
            Some(Named::Enter) => {
                if self.scan_buffer.is_empty() {
                    return self.pay(basket);
                }
                let code = std::mem::take(&mut self.scan_buffer);
                // The customer's personal QR, scanned with no field focused: pay with it.
                let personal_qr = PersonalQr(code.clone());
                if personal_qr.looks_valid() {
                    return self.personal_qr_scanned(personal_qr, basket);
                }
                self.add_barcode(&code, catalog, basket);
            }
            Some(Named::F12) => return self.pay(basket),
            Some(Named::Escape) => {
                self.scan_buffer.clear();
                self.discount = None;
                self.notice = None;
            }
            Some(Named::Backspace) => {
                self.scan_buffer.pop();
            }
            _ => {
                if press.modifiers.control() || press.modifiers.alt() || press.modifiers.logo() {
                    return Action::None;
                }
                if let Some(c) = press.character() {
                    // A scan that starts with a letter may be a URL (a personal QR): it keeps
                    // the URL's punctuation.
                    let url_like = self
                        .scan_buffer
                        .starts_with(|first: char| first.is_ascii_alphabetic());
                    if c.is_ascii_alphanumeric() && self.scan_buffer.len() < 64
                        || url_like && !c.is_control() && self.scan_buffer.len() < 255
                    {
                        self.scan_buffer.push(c);
                    } else if let Some(line) = basket.lines().last().map(|l| l.id) {
                        match c {
                            '+' => return self.update(Message::Increment(line), catalog, basket),
                            '-' => return self.update(Message::Decrement(line), catalog, basket),
                            _ => {}
                        }
                    }
                }
            }
        }
        Action::None
    }

    /// The customer's personal QR was scanned: pay the basket with it (if it can be paid).
    pub fn personal_qr_scanned(&mut self, personal_qr: PersonalQr, basket: &Basket) -> Action {
        match self.pay(basket) {
            Action::Pay => Action::PayWithPersonalQr(personal_qr),
            other => other,
        }
    }

    fn pay(&mut self, basket: &Basket) -> Action {
        if self.weight.is_some() {
            return Action::None;
        }
        match basket.check_payable() {
            Ok(_) => {
                self.discount = None;
                self.notice = None;
                Action::Pay
            }
            Err(BasketError::Empty) => Action::None,
            Err(error) => {
                self.notice = Some(Notice::Refused(error.to_string()));
                Action::None
            }
        }
    }

    fn add(&mut self, id: &str, catalog: &Catalog, basket: &mut Basket) -> Action {
        let Some(item) = catalog.by_id(id) else {
            return Action::None;
        };
        if item.unit == Unit::Kg {
            self.weight = Some(WeightPrompt {
                item_id: item.id.clone(),
                input: String::new(),
                error: false,
            });
            return Action::Focus(WEIGHT_ID);
        }
        self.apply(basket.add_item(item).map(|_| ()));
        Action::None
    }

    fn add_barcode(&mut self, code: &str, catalog: &Catalog, basket: &mut Basket) {
        match catalog.by_barcode(code) {
            Some(item) if item.unit == Unit::Kg => {
                let id = item.id.clone();
                let _ = self.add(&id, catalog, basket);
            }
            Some(_) => self.apply(basket.add_by_barcode(catalog, code).map(|_| ())),
            None => self.notice = Some(Notice::UnknownBarcode(code.trim().to_owned())),
        }
    }

    fn confirm_weight(&mut self, catalog: &Catalog, basket: &mut Basket) {
        let Some(prompt) = &mut self.weight else {
            return;
        };
        let Some(item) = catalog.by_id(&prompt.item_id) else {
            self.weight = None;
            return;
        };
        match parse_grams(&prompt.input).map(|grams| basket.add_weighed(item, grams)) {
            Some(Ok(_)) => {
                self.weight = None;
                self.notice = None;
            }
            Some(Err(error)) => {
                prompt.error = true;
                self.notice = Some(Notice::Refused(error.to_string()));
            }
            None => prompt.error = true,
        }
    }

    fn apply(&mut self, result: Result<(), BasketError>) {
        match result {
            Ok(()) => self.notice = None,
            Err(error) => self.notice = Some(Notice::Refused(error.to_string())),
        }
    }

    pub fn view<'a>(
        &'a self,
        ctx: Ctx<'a>,
        catalog: &'a Catalog,
        basket: &'a Basket,
        customer_waiting: bool,
        loyalty: Option<&'a Loyalty>,
        loyalty_on: bool,
    ) -> Element<'a, Message> {
        let left = column![
            self.search_bar(ctx),
            self.categories(ctx, catalog),
            self.tiles(ctx, catalog)
        ]
        .spacing(12)
        .width(FillPortion(3));
        let right = self.basket_panel(ctx, basket, customer_waiting, loyalty, loyalty_on);
        row![left, right]
            .spacing(16)
            .padding(16)
            .height(Fill)
            .into()
    }

    fn search_bar<'a>(&'a self, ctx: Ctx<'a>) -> Element<'a, Message> {
        let input = text_input(&ctx.t("sale-search-placeholder"), &self.search)
            .id(SEARCH_ID)
            .on_input(Message::Search)
            .on_submit(Message::SearchSubmitted)
            .size(size::BODY)
            .padding(14)
            .style(theme::input);
        let mut bar = row![input].spacing(8).align_y(Center);
        if !self.search.is_empty() {
            bar = bar.push(square_button("✕", theme::plain_button).on_press(Message::ClearSearch));
        }
        let mut col = column![bar].spacing(6);
        if !self.scan_buffer.is_empty() {
            col = col.push(
                text(ctx.t_args("sale-scanning", &[("code", Arg::Str(&self.shown_scan()))]))
                    .size(size::SMALL),
            );
        }
        if let Some(notice) = &self.notice {
            let message = match notice {
                Notice::UnknownBarcode(code) => {
                    ctx.t_args("sale-unknown-barcode", &[("code", Arg::Str(code))])
                }
                Notice::Refused(reason) => {
                    ctx.t_args("sale-refused", &[("reason", Arg::Str(reason))])
                }
            };
            col = col.push(
                container(
                    row![
                        text(message).size(size::BODY).font(theme::BOLD).width(Fill),
                        button(text("✕").size(size::BODY))
                            .on_press(Message::DismissNotice)
                            .style(theme::stop_button)
                    ]
                    .align_y(Center)
                    .spacing(8),
                )
                .padding([6, 12])
                .style(theme::banner(theme::STOP, iced::Color::WHITE)),
            );
        }
        col.into()
    }

    fn categories<'a>(&'a self, ctx: Ctx<'a>, catalog: &'a Catalog) -> Element<'a, Message> {
        let chip = |label: String, value: Option<String>| {
            let selected = self.category == value;
            button(text(label).size(size::BODY).font(theme::BOLD))
                .padding([10, 18])
                .style(if selected {
                    theme::selected_button
                } else {
                    theme::plain_button
                })
                .on_press(Message::Category(value))
        };
        let mut chips = vec![chip(ctx.t("sale-category-all"), None).into()];
        chips.extend(
            catalog
                .categories()
                .into_iter()
                .map(|c| chip(c.to_owned(), Some(c.to_owned())).into()),
        );
        row(chips).spacing(8).wrap().vertical_spacing(8).into()
    }

    fn tiles<'a>(&'a self, ctx: Ctx<'a>, catalog: &'a Catalog) -> Element<'a, Message> {
        let items: Vec<&Item> = catalog
            .search(&self.search)
            .into_iter()
            .filter(|item| match &self.category {
                Some(category) => item.category.as_deref() == Some(category.as_str()),
                None => true,
            })
            .collect();
        if catalog.is_empty() {
            return body(ctx.t("sale-catalog-empty")).into();
        }
        if items.is_empty() {
            return body(ctx.t("sale-no-items")).into();
        }
        let tiles = items.into_iter().map(|item| {
            let price = match item.unit {
                Unit::Pcs => ctx.money(item.unit_price),
                Unit::Kg => ctx.t_args(
                    "sale-price-per-kg",
                    &[("price", Arg::Str(&ctx.money(item.unit_price)))],
                ),
            };
            container(
                button(
                    column![
                        text(&item.name).size(size::BODY).font(theme::BOLD),
                        Space::new().height(Fill),
                        text(price).size(size::BODY),
                    ]
                    .spacing(4),
                )
                .padding(12)
                .width(Length::Fixed(176.0))
                .height(Length::Fixed(104.0))
                .style(theme::tile_button)
                .on_press(Message::Add(item.id.clone())),
            )
            .id(tile_id(&item.id))
            .into()
        });
        // Keep the tiles off the scrollable's clip edge: tiny-skia's damage
        // tracking can leave a tile's border line behind when the screen
        // changes if it touches the clip bounds.
        scrollable(
            container(row(tiles).spacing(10).wrap().vertical_spacing(10))
                .padding(iced::Padding::new(4.0).right(16.0)),
        )
        .height(Fill)
        .into()
    }

    fn basket_panel<'a>(
        &'a self,
        ctx: Ctx<'a>,
        basket: &'a Basket,
        customer_waiting: bool,
        loyalty: Option<&'a Loyalty>,
        loyalty_on: bool,
    ) -> Element<'a, Message> {
        let totals = basket.totals();
        let mut header = row![heading(ctx.t("sale-basket")).width(Fill)].align_y(Center);
        if !basket.is_empty() {
            header = header.push(
                button(text(ctx.t("sale-clear")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::plain_button)
                    .on_press(Message::Clear),
            );
        }

        let lines: Element<'a, Message> = if basket.is_empty() {
            body(ctx.t("sale-basket-empty")).into()
        } else {
            scrollable(
                column(basket.lines().iter().map(|line| {
                    let mut detail = format!(
                        "{} × {}",
                        line.quantity_text(),
                        ctx.money(line.item.unit_price)
                    );
                    if line.discount_total() > 0 {
                        detail.push_str("  ");
                        detail.push_str(&ctx.t_args(
                            "sale-line-discount",
                            &[("amount", Arg::Str(&ctx.money(line.discount_total())))],
                        ));
                    }
                    let quantity: Element<'a, Message> = match line.unit() {
                        Unit::Pcs => row![
                            square_button("−", theme::plain_button)
                                .on_press(Message::Decrement(line.id)),
                            text(line.quantity_text())
                                .size(size::HEADING)
                                .font(theme::BOLD)
                                .width(Length::Fixed(48.0))
                                .align_x(Center),
                            square_button("+", theme::plain_button)
                                .on_press(Message::Increment(line.id)),
                        ]
                        .align_y(Center)
                        .into(),
                        Unit::Kg => Space::new().into(),
                    };
                    let line_row = column![
                        row![
                            strong(&line.item.name).width(Fill),
                            text(ctx.money(line.amounts.total))
                                .size(size::BODY)
                                .font(theme::BOLD),
                        ]
                        .spacing(8),
                        row![
                            text(detail).size(size::SMALL).width(Fill),
                            quantity,
                            square_button("%", theme::plain_button)
                                .on_press(Message::EditDiscount(DiscountTarget::Line(line.id))),
                            square_button("✕", theme::stop_button)
                                .on_press(Message::Remove(line.id)),
                        ]
                        .spacing(8)
                        .align_y(Center),
                    ]
                    .spacing(4);
                    container(line_row).id(line_id(line.id)).into()
                }))
                .spacing(10)
                .padding(iced::Padding::new(4.0).right(16.0)),
            )
            .height(Fill)
            .into()
        };

        let mut panel = column![header, lines].spacing(10);

        if let Some(prompt) = &self.weight {
            panel = panel.push(self.weight_editor(ctx, prompt));
        }
        if let Some(editor) = &self.discount {
            panel = panel.push(self.discount_editor(ctx, basket, editor));
        } else if !basket.is_empty() {
            panel = panel.push(
                button(text(ctx.t("sale-basket-discount")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::plain_button)
                    .on_press(Message::EditDiscount(DiscountTarget::Basket)),
            );
        }

        panel = panel.push(rule::horizontal(2));
        let amount_row =
            |label: String, amount: String| row![body(label).width(Fill), body(amount)].spacing(8);
        if totals.discount > 0 {
            panel = panel.push(amount_row(ctx.t("sale-subtotal"), ctx.money(totals.gross)));
            panel = panel.push(amount_row(
                ctx.t("sale-discount"),
                format!("−{}", ctx.money(totals.discount)),
            ));
        }
        for rate in &totals.by_rate {
            panel = panel.push(
                row![
                    text(ctx.t_args(
                        "sale-vat-line",
                        &[
                            ("rate", Arg::Str(&rate.rate.to_string())),
                            ("base", Arg::Str(&ctx.money(rate.excluding_tax))),
                        ],
                    ))
                    .size(size::SMALL)
                    .width(Fill),
                    text(ctx.money(rate.tax)).size(size::SMALL),
                ]
                .spacing(8),
            );
        }
        panel = panel.push(
            row![
                text(ctx.t("sale-total"))
                    .size(size::HEADING)
                    .font(theme::BOLD)
                    .width(Fill),
                text(ctx.money(totals.total))
                    .size(size::HEADING + 8.0)
                    .font(theme::BOLD),
            ]
            .align_y(Center),
        );

        if customer_waiting {
            panel = panel.push(
                container(
                    row![
                        text(ctx.t("sale-customer-waiting"))
                            .size(size::BODY)
                            .font(theme::BOLD)
                            .width(Fill),
                        button(text(ctx.t("sale-not-this-customer")).size(size::SMALL))
                            .padding([6, 10])
                            .style(theme::plain_button)
                            .on_press(Message::NotThisCustomer),
                    ]
                    .spacing(8)
                    .align_y(Center),
                )
                .padding([10, 14])
                .width(Fill)
                .style(theme::banner(theme::AMBER, theme::INK)),
            );
        }

        match &self.member_phone {
            Some(phone) => panel = panel.push(find_member(ctx, phone)),
            None if loyalty_on => {
                panel = panel.push(
                    button(text(ctx.t("loyalty-find")).size(size::BODY))
                        .padding([10, 14])
                        .style(theme::plain_button)
                        .on_press(Message::OpenFindMember),
                );
            }
            None => {}
        }
        if let Some(loyalty) = loyalty {
            panel = panel.push(loyalty_banner(ctx, loyalty));
        }

        let payable = basket.check_payable().is_ok();
        let pay_label = if basket.is_empty() {
            ctx.t("sale-pay-empty")
        } else {
            ctx.t_args(
                "sale-pay",
                &[("amount", Arg::Str(&ctx.money(totals.total)))],
            )
        };
        panel = panel.push(
            big_button(pay_label, theme::go_button)
                .height(Length::Fixed(size::TOUCH + 16.0))
                .width(Fill)
                .on_press_maybe(payable.then_some(Message::Pay)),
        );

        container(panel)
            .padding(16)
            .width(FillPortion(2))
            .height(Fill)
            .style(theme::panel)
            .into()
    }

    fn discount_editor<'a>(
        &'a self,
        ctx: Ctx<'a>,
        basket: &'a Basket,
        editor: &'a DiscountEditor,
    ) -> Element<'a, Message> {
        let title = match editor.target {
            DiscountTarget::Line(line) => {
                let name = basket
                    .line(line)
                    .map(|l| l.item.name.as_str())
                    .unwrap_or("");
                ctx.t_args("sale-discount-line-title", &[("name", Arg::Str(name))])
            }
            DiscountTarget::Basket => ctx.t("sale-discount-basket-title"),
        };
        let mut col = column![
            strong(title),
            text(ctx.t("sale-discount-hint")).size(size::SMALL),
            row![
                text_input("10 %", &editor.input)
                    .id(DISCOUNT_ID)
                    .on_input(Message::DiscountInput)
                    .on_submit(Message::ApplyDiscount)
                    .size(size::BODY)
                    .padding(12)
                    .style(theme::input),
                button(text(ctx.t("sale-discount-apply")).size(size::BODY))
                    .padding([12, 16])
                    .style(theme::primary_button)
                    .on_press(Message::ApplyDiscount),
            ]
            .spacing(8)
            .align_y(Center),
            row![
                button(text(ctx.t("sale-discount-remove")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::plain_button)
                    .on_press(Message::RemoveDiscount),
                button(text(ctx.t("common-close")).size(size::BODY))
                    .padding([10, 14])
                    .style(theme::plain_button)
                    .on_press(Message::CloseDiscount),
            ]
            .spacing(8),
        ]
        .spacing(8);
        if let Some(error) = &editor.error {
            let message = if error.is_empty() {
                ctx.t("sale-discount-invalid")
            } else {
                ctx.t_args("sale-refused", &[("reason", Arg::Str(error))])
            };
            col = col.push(
                text(message)
                    .size(size::BODY)
                    .font(theme::BOLD)
                    .color(theme::STOP),
            );
        }
        container(col).padding(12).style(theme::panel).into()
    }

    fn weight_editor<'a>(&'a self, ctx: Ctx<'a>, prompt: &'a WeightPrompt) -> Element<'a, Message> {
        let mut col = column![
            strong(ctx.t("sale-weight-title")),
            row![
                text_input("0,350", &prompt.input)
                    .id(WEIGHT_ID)
                    .on_input(Message::WeightInput)
                    .on_submit(Message::ConfirmWeight)
                    .size(size::BODY)
                    .padding(12)
                    .style(theme::input),
                body("kg"),
                button(text(ctx.t("sale-weight-add")).size(size::BODY))
                    .padding([12, 16])
                    .style(theme::primary_button)
                    .on_press(Message::ConfirmWeight),
                button(text(ctx.t("common-close")).size(size::BODY))
                    .padding([12, 16])
                    .style(theme::plain_button)
                    .on_press(Message::CloseWeight),
            ]
            .spacing(8)
            .align_y(Center),
        ]
        .spacing(8);
        if prompt.error {
            col = col.push(
                text(ctx.t("sale-weight-invalid"))
                    .size(size::BODY)
                    .font(theme::BOLD)
                    .color(theme::STOP),
            );
        }
        container(col).padding(12).style(theme::panel).into()
    }
}

/// Widget id of a catalogue tile (tests click it).
pub fn tile_id(item_id: &str) -> String {
    format!("item-{item_id}")
}

/// Widget id of a basket line.
pub fn line_id(line: LineId) -> String {
    format!("line-{}", line.0)
}

/// `10 %`, `10%`, `12,5 %` → percent in basis points; `25`, `25,50` → amount in minor units.
pub fn parse_discount(input: &str) -> Option<Discount> {
    let input = input.trim();
    if let Some(percent) = input.strip_suffix('%') {
        let basis_points = parse_minor(percent.trim()).ok()?;
        let basis_points = u32::try_from(basis_points)
            .ok()
            .filter(|bp| *bp <= 10_000)?;
        Some(Discount::Percent(basis_points))
    } else {
        let amount = parse_minor(input).ok().filter(|a| *a >= 0)?;
        Some(Discount::Amount(amount))
    }
}

/// A weight in kilograms (`0,350`, `1.2`, `2`) → grams. At most three decimals.
pub fn parse_grams(input: &str) -> Option<i64> {
    let input = input.trim();
    let (whole, fraction) = match input.find([',', '.']) {
        Some(pos) => (&input[..pos], &input[pos + 1..]),
        None => (input, ""),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 3
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<3}").parse().ok()?
    };
    let grams = whole.checked_mul(1000)?.checked_add(fraction)?;
    (grams > 0).then_some(grams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Currency;
    use crate::core::vat::VatRate;

    fn catalog() -> Catalog {
        Catalog::new(vec![
            Item::new("kaffe", "Kaffe", 3500, VatRate::NO_FOOD).with_barcode("7040000000011"),
            Item::new("kopp", "Kopp", 19900, VatRate::NO_STANDARD).with_barcode("7040000000028"),
            Item::new("epler", "Epler", 3490, VatRate::NO_FOOD).with_unit(Unit::Kg),
        ])
        .unwrap()
    }

    fn press(c: &str) -> KeyPress {
        KeyPress {
            key: iced::keyboard::Key::Character(c.into()),
            text: Some(c.to_owned()),
            modifiers: Default::default(),
        }
    }

    fn named(key: Named) -> KeyPress {
        KeyPress {
            key: iced::keyboard::Key::Named(key),
            text: None,
            modifiers: Default::default(),
        }
    }

    #[test]
    fn a_personal_qr_typed_with_no_field_focused_pays_and_shows_only_the_host() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        let url = "https://qr.vipps.no/28/2/01/031/4791234567?v=1";
        // Nothing to pay yet: the scan is read, nothing is sent.
        for c in url.chars() {
            sale.key(&press(&c.to_string()), &catalog, &mut basket);
        }
        assert_eq!(sale.shown_scan(), "https://qr.vipps.no/…");
        assert_eq!(
            sale.key(&named(Named::Enter), &catalog, &mut basket),
            Action::None
        );
        basket.add_by_barcode(&catalog, "7040000000028").unwrap();
        for c in url.chars() {
            sale.key(&press(&c.to_string()), &catalog, &mut basket);
        }
        assert_eq!(
            sale.key(&named(Named::Enter), &catalog, &mut basket),
            Action::PayWithPersonalQr(PersonalQr(url.into()))
        );
        assert!(sale.scan_buffer().is_empty());
    }

    #[test]
    fn scanner_digits_then_enter_add_the_item_and_second_enter_pays() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        for d in "7040000000028".chars() {
            assert_eq!(
                sale.key(&press(&d.to_string()), &catalog, &mut basket),
                Action::None
            );
        }
        assert_eq!(sale.scan_buffer(), "7040000000028");
        assert_eq!(
            sale.key(&named(Named::Enter), &catalog, &mut basket),
            Action::None
        );
        assert_eq!(basket.lines().len(), 1);
        assert_eq!(basket.totals().total, 19900);
        assert_eq!(
            sale.key(&named(Named::Enter), &catalog, &mut basket),
            Action::Pay
        );
    }

    #[test]
    fn unknown_barcode_is_reported_and_adds_nothing() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        for d in "123".chars() {
            sale.key(&press(&d.to_string()), &catalog, &mut basket);
        }
        sale.key(&named(Named::Enter), &catalog, &mut basket);
        assert!(basket.is_empty());
        assert_eq!(sale.notice(), Some(&Notice::UnknownBarcode("123".into())));
    }

    #[test]
    fn empty_basket_does_not_pay() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        assert_eq!(
            sale.key(&named(Named::F12), &catalog, &mut basket),
            Action::None
        );
        assert_eq!(
            sale.update(Message::Pay, &catalog, &mut basket),
            Action::None
        );
    }

    #[test]
    fn quantity_buttons_and_discounts_change_the_total() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        sale.update(Message::Add("kaffe".into()), &catalog, &mut basket);
        let line = basket.lines()[0].id;
        sale.update(Message::Increment(line), &catalog, &mut basket);
        assert_eq!(basket.totals().total, 7000);
        sale.update(
            Message::EditDiscount(DiscountTarget::Line(line)),
            &catalog,
            &mut basket,
        );
        sale.update(Message::DiscountInput("10 %".into()), &catalog, &mut basket);
        sale.update(Message::ApplyDiscount, &catalog, &mut basket);
        assert_eq!(basket.totals().total, 6300);
        sale.update(
            Message::EditDiscount(DiscountTarget::Basket),
            &catalog,
            &mut basket,
        );
        sale.update(Message::DiscountInput("3,00".into()), &catalog, &mut basket);
        sale.update(Message::ApplyDiscount, &catalog, &mut basket);
        assert_eq!(basket.totals().total, 6000);
        sale.update(Message::Decrement(line), &catalog, &mut basket);
        sale.update(Message::Decrement(line), &catalog, &mut basket);
        assert!(basket.is_empty());
    }

    #[test]
    fn weighed_item_asks_for_the_weight() {
        let catalog = catalog();
        let mut basket = Basket::new(Currency::Nok);
        let mut sale = Sale::new();
        assert_eq!(
            sale.update(Message::Add("epler".into()), &catalog, &mut basket),
            Action::Focus(WEIGHT_ID)
        );
        assert!(basket.is_empty());
        sale.update(Message::WeightInput("0,5".into()), &catalog, &mut basket);
        sale.update(Message::ConfirmWeight, &catalog, &mut basket);
        assert_eq!(basket.lines().len(), 1);
        assert_eq!(basket.lines()[0].quantity, 500);
        assert_eq!(basket.totals().total, 1745);
    }

    #[test]
    fn parses_discounts_and_weights() {
        assert_eq!(parse_discount("10 %"), Some(Discount::Percent(1000)));
        assert_eq!(parse_discount("12,5%"), Some(Discount::Percent(1250)));
        assert_eq!(parse_discount("101 %"), None);
        assert_eq!(parse_discount("25,50"), Some(Discount::Amount(2550)));
        assert_eq!(parse_discount("abc"), None);
        assert_eq!(parse_grams("0,350"), Some(350));
        assert_eq!(parse_grams("1.2"), Some(1200));
        assert_eq!(parse_grams("2"), Some(2000));
        assert_eq!(parse_grams("0,0004"), None);
        assert_eq!(parse_grams("0"), None);
        assert_eq!(parse_grams(""), None);
    }
}

/// What the sale screen shows about loyalty for the customer who scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loyalty {
    /// A member (first name, number masked but for the last two digits).
    Member {
        first_name: Option<String>,
        masked_number: String,
        /// Points from earlier sales (`None` for a member who just joined).
        points: Option<i64>,
    },
    /// Not a member yet: the cashier may invite them.
    NotMember {
        masked_number: String,
        programme: String,
    },
    /// The invitation is in the customer's app: the code they must see there too.
    Inviting { code: String },
    /// The invitation ended without a membership.
    NotJoined {
        reason: crate::core::loyalty::EnrolmentFailure,
    },
}

/// The field for the customer's number (loyalty: find a member), with Find and close.
fn find_member<'a>(ctx: Ctx<'a>, phone: &'a str) -> Element<'a, Message> {
    let input = text_input(&ctx.t("loyalty-find-phone"), phone)
        .id(MEMBER_PHONE_ID)
        .on_input(Message::MemberPhoneInput)
        .on_submit(Message::FindMember)
        .size(size::BODY)
        .padding(10)
        .style(theme::input);
    row![
        input,
        button(text(ctx.t("loyalty-find-submit")).size(size::BODY))
            .padding([10, 14])
            .style(theme::go_button)
            .on_press_maybe((!phone.trim().is_empty()).then_some(Message::FindMember)),
        square_button("✕", theme::plain_button).on_press(Message::CloseFindMember),
    ]
    .spacing(8)
    .align_y(Center)
    .into()
}

fn loyalty_banner<'a>(ctx: Ctx<'a>, loyalty: &'a Loyalty) -> Element<'a, Message> {
    let content: Element<'a, Message> = match loyalty {
        Loyalty::Member {
            first_name,
            masked_number,
            points,
        } => {
            let member = text(ctx.t_args(
                "loyalty-member",
                &[
                    ("name", Arg::Str(first_name.as_deref().unwrap_or(""))),
                    ("number", Arg::Str(masked_number)),
                ],
            ))
            .size(size::BODY)
            .font(theme::BOLD);
            match points {
                Some(points) => column![
                    member,
                    text(ctx.t_args("loyalty-points", &[("points", Arg::Int(*points))]))
                        .size(size::SMALL),
                ]
                .spacing(4)
                .into(),
                None => member.into(),
            }
        }
        Loyalty::NotMember {
            masked_number,
            programme,
        } => column![
            text(ctx.t_args("loyalty-not-member", &[("number", Arg::Str(masked_number))]))
                .size(size::BODY),
            big_button(
                ctx.t_args("loyalty-invite", &[("programme", Arg::Str(programme))]),
                theme::go_button
            )
            .width(Fill)
            .on_press(Message::Invite),
        ]
        .spacing(8)
        .into(),
        Loyalty::Inviting { code } => column![
            text(ctx.t("loyalty-code")).size(size::BODY),
            text(code.as_str())
                .size(size::HEADING * 2.0)
                .font(theme::BOLD),
        ]
        .spacing(4)
        .into(),
        Loyalty::NotJoined { reason } => text(ctx.t(match reason {
            crate::core::loyalty::EnrolmentFailure::Declined => "loyalty-declined",
            crate::core::loyalty::EnrolmentFailure::Expired => "loyalty-expired",
            crate::core::loyalty::EnrolmentFailure::InvalidUser => "loyalty-invalid-user",
            crate::core::loyalty::EnrolmentFailure::OldApp => "loyalty-old-app",
            crate::core::loyalty::EnrolmentFailure::AlreadyInProgress => "loyalty-in-progress",
            crate::core::loyalty::EnrolmentFailure::Unverified => "loyalty-unverified",
            crate::core::loyalty::EnrolmentFailure::Vipps
            | crate::core::loyalty::EnrolmentFailure::Interrupted => "loyalty-failed",
        }))
        .size(size::BODY)
        .into(),
    };
    container(content)
        .padding([10, 14])
        .width(Fill)
        .style(theme::banner(theme::PANEL, theme::INK))
        .into()
}
