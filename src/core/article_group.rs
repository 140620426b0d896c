//! Article groups: the SAF-T code list `PredefinedBasicID-04`. Every article belongs to one;
//! X and Z reports and the SAF-T export break sales down by group.

/// Sale of goods: the group of an article nobody classified.
pub const DEFAULT: &str = "04003";

/// Code, English and Norwegian description, as published.
pub const LIST: &[(&str, &str, &str)] = &[
    (
        "04001",
        "Withdrawal of treatment services",
        "Uttak av behandlingstjenester",
    ),
    (
        "04002",
        "Withdrawal of goods used for treatment services",
        "Uttak av behandlingsvarer",
    ),
    ("04003", "Sale of goods", "Varesalg"),
    (
        "04004",
        "Sale of treatment services",
        "Salg av behandlingstjenester",
    ),
    ("04005", "Sale of haircut", "Salg av hårklipp"),
    ("04006", "Food", "Mat"),
    ("04007", "Beer", "Øl"),
    ("04008", "Wine", "Vin"),
    ("04009", "Liquor", "Brennevin"),
    ("04010", "Alcopops/Cider", "Rusbrus/Cider"),
    ("04011", "Soft drinks/Mineral water", "Mineralvann (brus)"),
    (
        "04012",
        "Other drinks (tea, coffe etc)",
        "Annen drikke (te, kaffe etc)",
    ),
    ("04013", "Tobacco", "Tobakk"),
    ("04014", "Other goods", "Andre varer"),
    ("04015", "Entrance fee (cover charge)", "Inngangspenger"),
    (
        "04016",
        "Free entrance (members etc)",
        "Inngangspenger fri adgang (uten vederlag)",
    ),
    ("04017", "Cloakroom fee", "Garderobeavgift"),
    (
        "04018",
        "Free cloakroom",
        "Garderobeavgift fri garderobe (uten vederlag)",
    ),
    (
        "04019",
        "Accomodation - full board",
        "Helpensjon: Overnatting med frokost, lunsj og middag.",
    ),
    (
        "04020",
        "Accomodation - half board",
        "Halvpensjon: Overnatting med frokost og middag",
    ),
    (
        "04021",
        "Accomodation - with breakfast",
        "Overnatting med frokost",
    ),
    ("04999", "Other", "Øvrige"),
];

/// The English description of `code`, `None` when it is not in the list.
pub fn description(code: &str) -> Option<&'static str> {
    LIST.iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, en, _)| *en)
}

/// The Norwegian description of `code`, `None` when it is not in the list.
pub fn description_nb(code: &str) -> Option<&'static str> {
    LIST.iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, _, nb)| *nb)
}

/// Checks a group code, with a message naming the list.
pub fn check(code: &str) -> Result<(), String> {
    if description(code).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{code:?} is not an article group (PredefinedBasicID-04: 04001 to 04021, 04999)"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_list_is_complete_and_checked() {
        assert_eq!(super::LIST.len(), 22);
        assert_eq!(super::description("04003"), Some("Sale of goods"));
        assert!(super::check("04999").is_ok());
        assert!(super::check("4003").is_err());
    }
}
