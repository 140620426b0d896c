//! Translations: Fluent files in `assets/i18n/*.ftl`, embedded at build time.
//!
//! Every text the cashier sees goes through [`I18n::t`] / [`I18n::t_args`]. A
//! missing message falls back to English and then to the message id itself, so
//! a gap in a translation never hides information (the id still says what
//! happened); `tests` below keep every language complete.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::core::money::Locale;

/// The languages the till speaks, in the order shown in the admin screen.
pub const LANGUAGES: [Locale; 4] = [Locale::Nb, Locale::En, Locale::Da, Locale::Fi];

/// The language's own name, shown in the language picker.
pub fn native_name(locale: Locale) -> &'static str {
    match locale {
        Locale::Nb => "Norsk bokmål",
        Locale::En => "English",
        Locale::Da => "Dansk",
        Locale::Fi => "Suomi",
    }
}

/// The embedded Fluent source of a language.
pub fn source(locale: Locale) -> &'static str {
    match locale {
        Locale::Nb => include_str!("../../assets/i18n/nb.ftl"),
        Locale::En => include_str!("../../assets/i18n/en.ftl"),
        Locale::Da => include_str!("../../assets/i18n/da.ftl"),
        Locale::Fi => include_str!("../../assets/i18n/fi.ftl"),
    }
}

/// The active language's bundle plus the English fallback.
pub struct I18n {
    language: Locale,
    bundle: FluentBundle<FluentResource>,
    fallback: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// Builds a bundle from an embedded file. The files are part of the binary and
/// checked by the tests below, so a syntax error is a build defect: the broken
/// entries are skipped (Fluent keeps the rest) and logged.
fn bundle(language: Locale) -> FluentBundle<FluentResource> {
    let langid: LanguageIdentifier = language
        .tag()
        .parse()
        .unwrap_or_else(|_| LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![langid]);
    // Unicode isolation marks would show as boxes in some fonts and break text
    // matching in tests; all our arguments are short left-to-right strings.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(source(language).to_owned()) {
        Ok(resource) => resource,
        Err((resource, errors)) => {
            tracing::error!(
                language = language.tag(),
                ?errors,
                "translation file has errors"
            );
            resource
        }
    };
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(
            language = language.tag(),
            ?errors,
            "translation file has duplicates"
        );
    }
    bundle
}

impl I18n {
    /// Loads the given language (and English as the fallback).
    pub fn new(language: Locale) -> I18n {
        I18n {
            language,
            bundle: bundle(language),
            fallback: bundle(Locale::En),
        }
    }

    /// The active language, which is also the money and number locale.
    pub fn locale(&self) -> Locale {
        self.language
    }

    /// Whether the active language or the fallback knows `id`.
    pub fn has(&self, id: &str) -> bool {
        self.bundle.has_message(id) || self.fallback.has_message(id)
    }

    /// Translates a message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// Translates a message with arguments, given as `(name, value)` pairs.
    /// String values are inserted verbatim (money is formatted before it gets
    /// here); integers take part in plural selection.
    pub fn t_args(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Str(s) => FluentValue::from(*s),
                Arg::Int(n) => FluentValue::from(*n),
            };
            fluent_args.set(*name, value);
        }
        self.format(id, Some(&fluent_args))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for bundle in [&self.bundle, &self.fallback] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(id, ?errors, "translation could not be formatted fully");
                }
                return text.into_owned();
            }
        }
        tracing::warn!(id, "missing translation");
        id.to_owned()
    }
}

/// An argument to a translated message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Inserted as is.
    Str(&'a str),
    /// A number (plural selection).
    Int(i64),
}

/// The message ids defined in a Fluent source: an entry starts at column 0
/// with an identifier followed by `=` (terms start with `-`, comments with `#`).
pub fn message_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| {
            let (name, _) = line.split_once('=')?;
            let name = name.trim_end();
            let mut chars = name.chars();
            let first = chars.next()?;
            (first.is_ascii_alphabetic()
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .then(|| name.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_without_errors() {
        for language in LANGUAGES {
            let parsed = FluentResource::try_new(source(language).to_owned());
            assert!(
                parsed.is_ok(),
                "{} has syntax errors: {:?}",
                language.tag(),
                parsed.err().map(|e| e.1)
            );
        }
    }

    #[test]
    fn every_language_has_every_message_of_the_reference() {
        let reference = message_ids(source(Locale::Nb));
        assert!(reference.len() > 50, "nb.ftl looks truncated");
        for language in LANGUAGES {
            let ids = message_ids(source(language));
            let missing: Vec<_> = reference.iter().filter(|id| !ids.contains(id)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", language.tag());
            let extra: Vec<_> = ids.iter().filter(|id| !reference.contains(id)).collect();
            assert!(
                extra.is_empty(),
                "{} has ids unknown to nb: {extra:?}",
                language.tag()
            );
        }
    }

    #[test]
    fn formats_arguments_without_isolation_marks() {
        let i18n = I18n::new(Locale::En);
        let text = i18n.t_args("pay-amount", &[("amount", Arg::Str("kr 10,00"))]);
        assert!(text.contains("kr 10,00"), "{text}");
        assert!(!text.contains('\u{2068}'));
    }

    #[test]
    fn unknown_id_falls_back_to_the_id() {
        let i18n = I18n::new(Locale::Nb);
        assert_eq!(i18n.t("no-such-message"), "no-such-message");
    }
}
