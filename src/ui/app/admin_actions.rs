//! Admin's work for the window: what each admin action does (settings, the connection test,
//! catalogue edits and CSV import, member prices, cashiers, loyalty, the test page).

use super::*;

impl App {
    pub(super) fn admin_action(&mut self, action: admin::Action) -> Task<Message> {
        match action {
            admin::Action::None => Task::none(),
            admin::Action::Focus(id) => operation::focus(id),
            admin::Action::Unlock(pin) => Task::perform(self.pin.clone().verify(pin), |result| {
                Message::PinChecked(PinUse::Admin, result)
            }),
            admin::Action::SetPin(pin, repeat) => {
                Task::perform(self.pin.clone().set(pin, repeat), Message::PinSet)
            }
            admin::Action::Save(settings) => {
                let config = match settings
                    .apply(&self.config)
                    .and_then(|config| config.validate().map(|()| config))
                {
                    Ok(config) => config,
                    Err(error) => {
                        self.admin.saved(Err(SaveError::Config(error)));
                        return Task::none();
                    }
                };
                let Some(path) = self.config_path.clone() else {
                    self.admin.saved(Err(SaveError::NoConfigPath));
                    return Task::none();
                };
                self.config = config.clone();
                Task::perform(config.save_to(path), Message::ConfigSaved)
            }
            admin::Action::TestConnection(settings) => match settings.apply(&self.config) {
                Ok(config) => Task::perform(
                    connection::test_connection(config),
                    Message::ConnectionTested,
                ),
                Err(error) => {
                    // The form does not make a configuration: the Vipps checks cannot run.
                    let error = crate::vipps::VippsError::Config(error.to_string());
                    Task::done(Message::ConnectionTested(
                        Check::ALL
                            .map(|check| (check, Err(error.clone().into())))
                            .to_vec(),
                    ))
                }
            },
            admin::Action::SaveItem {
                original_id,
                item,
                member_price,
            } => {
                let id = item.id.clone();
                match edited_catalog(&self.catalog, original_id.as_deref(), Some(item)) {
                    Ok(catalog) => Task::perform(
                        self.window_store.clone().replace_with_member_price(
                            catalog,
                            id,
                            member_price,
                        ),
                        Message::CatalogueStored,
                    ),
                    Err(error) => self.catalogue_result(Err(error)),
                }
            }
            admin::Action::LoadMemberPrices => self.load_member_prices(),
            admin::Action::DeleteItem(id) => {
                let result = edited_catalog(&self.catalog, Some(&id), None);
                self.catalogue_result(result)
            }
            admin::Action::ImportCsv(path) => Task::perform(
                self.window_store
                    .clone()
                    .import_csv(PathBuf::from(path), Some(self.country)),
                Message::CsvImported,
            ),
            admin::Action::LoadCashiers => self.load_admin_cashiers(),
            admin::Action::LoadMembers(search) => self.load_admin_members(search),
            admin::Action::Members(action) => self.admin_members(action),
            admin::Action::ToggleCustomerDisplay => self.toggle_customer_display(),
            admin::Action::PrintTestPage(settings) => {
                let settings = match settings.apply(&self.config) {
                    Ok(config) => config.print_settings(),
                    Err(e) => {
                        self.admin.test_page_printed(Err(e.to_string()));
                        return Task::none();
                    }
                };
                Task::perform(
                    async move {
                        crate::print::print_test_page(&settings)
                            .await
                            .map_err(Error::from)
                    },
                    Message::TestPagePrinted,
                )
            }
            admin::Action::Cashier(action) => self.admin_cashier(action),
            admin::Action::Language(locale) => {
                self.i18n = I18n::new(locale);
                self.config.till.language = locale;
                if self.demo.is_some() {
                    return Task::none();
                }
                match self.config_path.clone() {
                    Some(path) => {
                        Task::perform(self.config.clone().save_to(path), Message::LanguageSaved)
                    }
                    None => Task::none(),
                }
            }
        }
    }

    /// Reads whether loyalty is on (at start, on the sale tab, after Admin saves it).
    pub(super) fn check_loyalty(&self) -> Task<Message> {
        Task::perform(
            self.window_store
                .clone()
                .run(|s| Ok(s.loyalty_settings()?.enabled)),
            Message::LoyaltyChecked,
        )
    }

    /// Reads the member prices for Admin's catalogue.
    pub(super) fn load_member_prices(&mut self) -> Task<Message> {
        Task::perform(
            self.window_store.clone().run(|s| s.member_prices()),
            Message::MemberPricesLoaded,
        )
    }

    /// Stores a checked catalogue (one transaction: all of it or none) and uses it once stored.
    pub(super) fn catalogue_result(
        &mut self,
        result: Result<Catalog, CatalogError>,
    ) -> Task<Message> {
        match result {
            Ok(catalog) => Task::perform(
                self.window_store.clone().replace(catalog),
                Message::CatalogueStored,
            ),
            Err(error) => {
                self.admin.catalogue_changed(Err(error.into()));
                Task::none()
            }
        }
    }
}

/// The catalogue with one item replaced, added or (with `None`) removed,
/// checked as a whole.
pub(super) fn edited_catalog(
    catalog: &Catalog,
    original_id: Option<&str>,
    item: Option<Item>,
) -> Result<Catalog, CatalogError> {
    let mut items: Vec<Item> = catalog.items().to_vec();
    match (original_id, item) {
        (Some(id), Some(item)) => match items.iter_mut().find(|i| i.id == id) {
            Some(slot) => *slot = item,
            None => items.push(item),
        },
        (None, Some(item)) => items.push(item),
        (Some(id), None) => items.retain(|i| i.id != id),
        (None, None) => {}
    }
    Catalog::new(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_edits_are_checked_as_a_whole() {
        let catalog = demo_catalog();
        let mut copy = catalog.items()[1].clone();
        copy.id = "new".into();
        let err = edited_catalog(&catalog, None, Some(copy)).unwrap_err();
        assert!(err.to_string().contains("barcode"), "{err}");
        let smaller = edited_catalog(&catalog, Some("kaffe"), None).unwrap();
        assert_eq!(smaller.len(), catalog.len() - 1);
        assert!(smaller.by_id("kaffe").is_none());
    }
}
