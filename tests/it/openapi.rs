//! The official OpenAPI files as JSON Schema, validated with the `jsonschema` crate.
//!
//! Every `components.schemas` entry of every saved spec becomes a `$defs`
//! entry named `<spec>__<Schema>`; `$ref`s are rewritten to point there (the
//! ePayment receipt's external reference to order-management 2.3.24
//! included), and OpenAPI 3.0's `nullable: true` becomes a `null` type.
//! Examples and `x-` extensions are dropped. Formats (`date-time`, `uri`,
//! `uuid`, …) are validated; formats JSON Schema does not know are ignored.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// The saved specs and the prefix each one's schemas get.
pub const SPECS: [(&str, &str); 6] = [
    ("token", "access-token-api-swagger.yaml"),
    ("epayment", "epayment.v1.yml"),
    ("qr", "qr-api-swagger.yaml"),
    ("webhooks", "webhooks-api-swagger.yaml"),
    ("om2324", "order-management-api-swagger-2.3.24.yaml"),
    ("omlatest", "order-management-api-swagger-latest.yaml"),
];

/// How ePayment refers to the receipt schema.
const OM_2324_URL: &str =
    "https://raw.githubusercontent.com/vippsas/vipps-order-management-api/2.3.24/docs/swagger.yaml";

/// The folder of the official Vipps files, or `None` (skip printed; a failure under CI).
pub fn spec_dir(test: &str) -> Option<PathBuf> {
    let marker = kasse::reference::for_test("vipps-openapi/epayment.v1.yml", test)?;
    marker.parent().map(PathBuf::from)
}

/// All component schemas of all specs, converted, under one `$defs`.
pub struct Specs {
    defs: Map<String, Value>,
    /// The raw OpenAPI documents (for reading paths, parameters, …).
    pub raw: Map<String, Value>,
}

impl Specs {
    /// Every saved spec, or `None` when the reference files are absent (see [`spec_dir`]).
    pub fn load(test: &str) -> Option<Specs> {
        let dir = spec_dir(test)?;
        let mut defs = Map::new();
        let mut raw = Map::new();
        for (prefix, file) in SPECS {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let doc: Value = serde_yaml::from_str(&text)
                .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
            let schemas = doc
                .pointer("/components/schemas")
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{file} has no components.schemas"));
            for (name, schema) in schemas {
                defs.insert(def_name(prefix, name), convert(schema, prefix));
            }
            raw.insert(prefix.to_string(), doc);
        }
        let mut specs = Specs { defs, raw };
        specs.apply_errata();
        Some(specs)
    }

    /// Two defects in the saved ePayment spec that make correct traffic fail.
    /// Each patch is the smallest change that restores the documented meaning.
    fn apply_errata(&mut self) {
        // 1. `Customer` is a oneOf of three objects none of which requires its
        //    property, so every object matches all three and oneOf can never
        //    pass. The text says "specifying more than one ... is an error":
        //    each variant requires its one property.
        for (name, property) in [
            ("CustomerPhoneNumber", "phoneNumber"),
            ("PersonalQrCode", "personalQr"),
            ("CustomerToken", "customerToken"),
        ] {
            self.patch("epayment", name, |schema| {
                assert!(
                    schema.get("required").is_none(),
                    "erratum 1 fixed upstream: drop the patch"
                );
                schema["required"] = json!([property]);
            });
        }
        // 2. `PaymentEvent` requires `paymentAction`, a property it does not
        //    define; the event's action is `name` (as in `WebhookEvent`, the
        //    docs and the live API).
        self.patch("epayment", "PaymentEvent", |schema| {
            let required = schema["required"].as_array_mut().expect("required list");
            let at = required
                .iter()
                .position(|v| v == "paymentAction")
                .expect("erratum 2 fixed upstream: drop the patch");
            required[at] = json!("name");
        });
    }

    /// Is `<prefix>__<name>` known?
    pub fn has(&self, prefix: &str, name: &str) -> bool {
        self.defs.contains_key(&def_name(prefix, name))
    }

    /// Replace a converted schema (for a documented erratum in a spec).
    pub fn patch(&mut self, prefix: &str, name: &str, f: impl FnOnce(&mut Value)) {
        let schema = self
            .defs
            .get_mut(&def_name(prefix, name))
            .unwrap_or_else(|| panic!("no schema {prefix}__{name}"));
        f(schema);
    }

    /// A validator for `root`, which may `$ref` any `#/$defs/<prefix>__<Name>`.
    pub fn validator_for(&self, root: Value) -> jsonschema::Validator {
        let mut schema = match root {
            Value::Object(map) => map,
            other => panic!("root schema must be an object, got {other}"),
        };
        schema.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        schema.insert("$defs".into(), Value::Object(self.defs.clone()));
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(schema))
            .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
    }

    /// Validator for one named component schema.
    pub fn schema(&self, prefix: &str, name: &str) -> jsonschema::Validator {
        assert!(self.has(prefix, name), "no schema {prefix}__{name}");
        self.validator_for(json!({"$ref": format!("#/$defs/{}", def_name(prefix, name))}))
    }

    /// Validator for a JSON array of one named component schema.
    pub fn array_of(&self, prefix: &str, name: &str) -> jsonschema::Validator {
        assert!(self.has(prefix, name), "no schema {prefix}__{name}");
        self.validator_for(json!({
            "type": "array",
            "items": {"$ref": format!("#/$defs/{}", def_name(prefix, name))}
        }))
    }

    /// The raw OpenAPI value at a JSON pointer of one spec.
    pub fn raw_at(&self, prefix: &str, pointer: &str) -> Option<&Value> {
        self.raw.get(prefix)?.pointer(pointer)
    }
}

/// Panic with every violation when `instance` does not match.
pub fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the official schema:\n{}\ninstance: {}",
        errors.join("\n"),
        serde_json::to_string_pretty(instance).unwrap_or_default()
    );
}

/// Parse raw bytes as JSON (so the exact wire form is validated) and check them.
pub fn assert_valid_bytes(validator: &jsonschema::Validator, bytes: &[u8], what: &str) -> Value {
    let value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    });
    assert_valid(validator, &value, what);
    value
}

fn def_name(prefix: &str, name: &str) -> String {
    format!("{prefix}__{name}")
}

/// Rewrite one OpenAPI 3.0 schema object into JSON Schema 2020-12.
pub fn convert(schema: &Value, prefix: &str) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "$ref" => {
                        out.insert(
                            key.clone(),
                            json!(rewrite_ref(value.as_str().unwrap_or_default(), prefix)),
                        );
                    }
                    "example" | "examples" | "nullable" | "discriminator" | "xml"
                    | "externalDocs" => {}
                    k if k.starts_with("x-") => {}
                    // Maps keyed by property name: convert each value, keep the keys.
                    "properties" | "patternProperties" => {
                        let converted = value
                            .as_object()
                            .map(|props| {
                                props
                                    .iter()
                                    .map(|(k, v)| (k.clone(), convert(v, prefix)))
                                    .collect::<Map<_, _>>()
                            })
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(converted));
                    }
                    _ => {
                        out.insert(key.clone(), convert(value, prefix));
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                make_nullable(&mut out);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, prefix)).collect()),
        other => other.clone(),
    }
}

fn rewrite_ref(reference: &str, prefix: &str) -> String {
    let (file, pointer) = reference.split_once('#').unwrap_or(("", reference));
    let target_prefix = match file {
        "" => prefix,
        OM_2324_URL => "om2324",
        other => panic!("unknown external $ref target {other}"),
    };
    let name = pointer
        .strip_prefix("/components/schemas/")
        .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
    format!("#/$defs/{}", def_name(target_prefix, name))
}

/// `nullable: true` → add `null` to `type` (and to `enum`), or wrap a `$ref`.
fn make_nullable(schema: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            schema.insert("type".into(), Value::Array(types));
        }
        _ => {
            // No type (e.g. a $ref): accept null or the schema as it was.
            let inner = std::mem::take(schema);
            schema.insert(
                "anyOf".into(),
                json!([{"type": "null"}, Value::Object(inner)]),
            );
        }
    }
}
