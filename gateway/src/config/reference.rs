//! The configuration reference (`docs/configuration.md`) checked against the YAML types.
//!
//! The types' field names are traced through serde (`serde-reflection` deserializes each type
//! with a recording deserializer), so every key the loader accepts is known without a list kept
//! by hand. The reference must name each of them, and nothing else: a key added to the code
//! without a line in the manual, or a line left behind by a renamed key, fails this test.
//!
//! In the manual, a `### ` heading that is one code span (`` ### `routes[].signature` ``) sets the
//! prefix of the table rows under it; each code span in a row's first cell is a key relative to
//! it. `[]` marks a list of blocks, `<name>` the operator's name in a map of blocks.

use std::collections::BTreeSet;

use serde_reflection::{ContainerFormat, Format, Registry, Samples, Tracer, TracerConfig};

use super::raw::RawConfig;

/// Every leaf key of the YAML schema, as `listeners[].tls.client_auth.mode`.
fn schema_keys() -> BTreeSet<String> {
    let mut tracer = Tracer::new(TracerConfig::default());
    let samples = Samples::new();
    let (root, _) = tracer
        .trace_type::<RawConfig>(&samples)
        .unwrap_or_else(|e| panic!("tracing the configuration types: {e}"));
    // Unchecked: a unit-only enum (`mode: required | optional | none`) is a value here, so the
    // variants the tracer did not visit do not matter; no configuration enum carries data.
    let registry = tracer.registry_unchecked();
    let mut keys = BTreeSet::new();
    walk(&registry, &root, "", &mut keys);
    keys
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Whether `format` holds keys of its own (a struct, or an enum with data), rather than a value.
fn is_block(registry: &Registry, format: &Format) -> bool {
    match format {
        Format::TypeName(name) => match &registry[name] {
            ContainerFormat::Struct(_) => true,
            ContainerFormat::NewTypeStruct(inner) => is_block(registry, inner),
            ContainerFormat::Enum(variants) => variants
                .values()
                .any(|v| !matches!(v.value, serde_reflection::VariantFormat::Unit)),
            _ => false,
        },
        Format::Option(inner) => is_block(registry, inner),
        _ => false,
    }
}

fn walk(registry: &Registry, format: &Format, path: &str, keys: &mut BTreeSet<String>) {
    use serde_reflection::VariantFormat;
    match format {
        Format::Option(inner) => walk(registry, inner, path, keys),
        Format::Seq(inner) if is_block(registry, inner) => {
            walk(registry, inner, &format!("{path}[]"), keys);
        }
        Format::Map { value, .. } if is_block(registry, value) => {
            walk(registry, value, &join(path, "<name>"), keys);
        }
        Format::TypeName(name) if is_block(registry, format) => match &registry[name] {
            ContainerFormat::Struct(fields) => {
                for f in fields {
                    walk(registry, &f.value, &join(path, &f.name), keys);
                }
            }
            ContainerFormat::NewTypeStruct(inner) => walk(registry, inner, path, keys),
            ContainerFormat::Enum(variants) => {
                // Externally tagged: the variant's name is a key (`identity: {file: {…}}`).
                for v in variants.values() {
                    let key = join(path, &v.name);
                    match &v.value {
                        VariantFormat::Struct(fields) => {
                            for f in fields {
                                walk(registry, &f.value, &join(&key, &f.name), keys);
                            }
                        }
                        VariantFormat::NewType(inner) => walk(registry, inner, &key, keys),
                        _ => {
                            keys.insert(key);
                        }
                    }
                }
            }
            _ => unreachable!("is_block said {name} holds keys"),
        },
        _ => {
            keys.insert(path.to_owned());
        }
    }
}

/// Every key the manual's reference tables name, with the line that names it.
fn documented_keys(manual: &str) -> Vec<(String, usize)> {
    let mut prefix: Option<String> = None;
    let mut keys = Vec::new();
    for (i, line) in manual.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("### ") {
            let heading = heading.trim();
            prefix = heading
                .strip_prefix('`')
                .and_then(|h| h.strip_suffix('`'))
                .filter(|h| !h.contains('`'))
                .map(str::to_owned);
            continue;
        }
        if line.starts_with("## ") {
            prefix = None;
        }
        let Some(prefix) = &prefix else { continue };
        let Some(row) = line.strip_prefix('|') else {
            continue;
        };
        let first = row.split('|').next().unwrap_or_default();
        for key in first.split('`').skip(1).step_by(2) {
            keys.push((join(prefix, key), i + 1));
        }
    }
    keys
}

#[test]
fn the_configuration_reference_names_every_key_and_only_real_ones() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let manual = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema = schema_keys();
    let documented = documented_keys(&manual);
    assert!(
        schema.len() > 100,
        "the tracer found only {} keys: {schema:?}",
        schema.len()
    );

    let unknown: Vec<String> = documented
        .iter()
        .filter(|(k, _)| !schema.contains(k))
        .map(|(k, line)| format!("docs/configuration.md:{line}: `{k}` is not a key"))
        .collect();
    let named: BTreeSet<&str> = documented.iter().map(|(k, _)| k.as_str()).collect();
    let missing: Vec<&String> = schema
        .iter()
        .filter(|k| !named.contains(k.as_str()))
        .collect();
    assert!(
        unknown.is_empty() && missing.is_empty(),
        "the reference and the types differ.\n{}\nkeys the reference does not name:\n{}",
        unknown.join("\n"),
        missing
            .iter()
            .map(|k| format!("  {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn headings_set_the_prefix_of_the_rows_under_them() {
    let manual = "### `a[]`\n| key | x |\n|---|---|\n| `b`, `c.d` | … |\n## Other\n| `e` | |\n\
                  ### Not a prefix\n| `f` | |\n";
    let keys: Vec<String> = documented_keys(manual)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["a[].b", "a[].c.d"].map(String::from));
}
