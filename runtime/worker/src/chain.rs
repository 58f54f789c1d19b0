//! Builds a connector's transform chain from Kafka Connect's keys:
//! `transforms=a,b`, `transforms.a.type=<class>`, `transforms.a.<setting>`,
//! `transforms.a.predicate=<alias>`, `transforms.a.negate=true|false`,
//! `predicates=p`, `predicates.p.type=<class>`, `predicates.p.<setting>`.
//!
//! Validation and construction read the same keys: `validate` reports every problem
//! by its full key (`transforms.a.field`) into the connector's `ConfigInfos`;
//! `build` is only called on a config that validated.

use sluice_core::config::{split_list, ConfigInfos, ConfigMap};
use sluice_core::plugin::{Predicate, Transform};
use sluice_core::{ConnectError, Record};

use crate::registry;

/// A transform applied only to records its predicate (optionally negated) matches.
struct Conditional {
    inner: Box<dyn Transform>,
    predicate: Box<dyn Predicate>,
    negate: bool,
}

impl Transform for Conditional {
    fn apply(&mut self, record: Record) -> Result<Option<Record>, ConnectError> {
        if self.predicate.test(&record) != self.negate {
            self.inner.apply(record)
        } else {
            Ok(Some(record))
        }
    }
}

fn aliases(props: &ConfigMap, key: &str) -> Vec<String> {
    props.get(key).map(|v| split_list(v)).unwrap_or_default()
}

/// The settings of one alias: keys under `<section>.<alias>.`, stripped, minus `skip`.
fn settings(props: &ConfigMap, section: &str, alias: &str, skip: &[&str]) -> ConfigMap {
    let prefix = format!("{section}.{alias}.");
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_owned(), v.clone())))
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect()
}

/// Checks every transform and predicate key, adding errors to `infos`.
pub fn validate(props: &ConfigMap, infos: &mut ConfigInfos) {
    let transforms = aliases(props, "transforms");
    let predicates = aliases(props, "predicates");
    for alias in &predicates {
        let key = format!("predicates.{alias}.type");
        let Some(class) = props.get(&key) else {
            infos.add_error(&key, None, format!("Missing required configuration \"{key}\" which has no default value: the predicate class for alias {alias}"));
            continue;
        };
        match registry::predicate(class) {
            None => infos.add_error(&key, Some(class), format!(
                "Invalid value {class} for configuration {key}: not a known predicate; available: {}",
                registry::predicate_names()
            )),
            Some(p) => add_setting_errors(infos, &format!("predicates.{alias}."), &(p.info.config)(), &settings(props, "predicates", alias, &["type"])),
        }
    }
    for alias in &transforms {
        let key = format!("transforms.{alias}.type");
        let Some(class) = props.get(&key) else {
            infos.add_error(&key, None, format!("Missing required configuration \"{key}\" which has no default value: the transformation class for alias {alias}"));
            continue;
        };
        match registry::transform(class) {
            None => infos.add_error(&key, Some(class), format!(
                "Invalid value {class} for configuration {key}: not a known transformation; available: {}",
                registry::transform_names()
            )),
            Some(t) => add_setting_errors(
                infos,
                &format!("transforms.{alias}."),
                &(t.info.config)(),
                &settings(props, "transforms", alias, &["type", "predicate", "negate"]),
            ),
        }
        let pkey = format!("transforms.{alias}.predicate");
        if let Some(p) = props.get(&pkey) {
            if !predicates.iter().any(|a| a == p.trim()) {
                infos.add_error(&pkey, Some(p), format!(
                    "Invalid value {p} for configuration {pkey}: not a predicate alias listed in predicates ({})",
                    predicates.join(", ")
                ));
            }
        }
        let nkey = format!("transforms.{alias}.negate");
        if let Some(n) = props.get(&nkey) {
            if !n.trim().eq_ignore_ascii_case("true") && !n.trim().eq_ignore_ascii_case("false") {
                infos.add_error(&nkey, Some(n), format!("Invalid value {n} for configuration {nkey}: Expected value to be either true or false"));
            } else if !props.contains_key(&pkey) {
                infos.add_error(
                    &nkey,
                    Some(n),
                    format!("{nkey} needs transforms.{alias}.predicate"),
                );
            }
        }
    }
    for (section, listed) in [("transforms", &transforms), ("predicates", &predicates)] {
        let prefix = format!("{section}.");
        for (k, v) in props.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            let alias = rest.split('.').next().unwrap_or("");
            if !listed.iter().any(|a| a == alias) {
                infos.add_error(
                    k,
                    Some(v),
                    format!(
                        "Unknown configuration \"{k}\": alias {alias} is not listed in {section}"
                    ),
                );
            }
        }
    }
}

fn add_setting_errors(
    infos: &mut ConfigInfos,
    prefix: &str,
    def: &sluice_core::config::ConfigDef,
    settings: &ConfigMap,
) {
    for v in def.validate(settings) {
        let full = format!("{prefix}{}", v.name);
        for e in v.errors {
            // Name the key as the user wrote it.
            let e = e
                .replace(
                    &format!("configuration {}", v.name),
                    &format!("configuration {full}"),
                )
                .replace(&format!("\"{}\"", v.name), &format!("\"{full}\""));
            infos.add_error(&full, v.value.as_deref(), e);
        }
    }
}

/// Builds the chain of a validated config, in `transforms` order.
pub fn build(props: &ConfigMap) -> Result<Vec<Box<dyn Transform>>, ConnectError> {
    let mut chain: Vec<Box<dyn Transform>> = Vec::new();
    for alias in aliases(props, "transforms") {
        let class = props
            .get(&format!("transforms.{alias}.type"))
            .map(String::as_str)
            .unwrap_or("");
        let plugin = registry::transform(class).ok_or_else(|| {
            ConnectError::config(
                format!("transforms.{alias}.type"),
                class,
                "not a known transformation",
            )
        })?;
        let inner = (plugin.build)(&settings(
            props,
            "transforms",
            &alias,
            &["type", "predicate", "negate"],
        ))
        .map_err(|e| ConnectError::Fatal(format!("transform {alias}: {e}")))?;
        match props.get(&format!("transforms.{alias}.predicate")) {
            None => chain.push(inner),
            Some(p) => {
                let p = p.trim();
                let class = props
                    .get(&format!("predicates.{p}.type"))
                    .map(String::as_str)
                    .unwrap_or("");
                let pp = registry::predicate(class).ok_or_else(|| {
                    ConnectError::config(
                        format!("predicates.{p}.type"),
                        class,
                        "not a known predicate",
                    )
                })?;
                let predicate = (pp.build)(&settings(props, "predicates", p, &["type"]))
                    .map_err(|e| ConnectError::Fatal(format!("predicate {p}: {e}")))?;
                let negate = props
                    .get(&format!("transforms.{alias}.negate"))
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case("true"));
                chain.push(Box::new(Conditional {
                    inner,
                    predicate,
                    negate,
                }));
            }
        }
    }
    Ok(chain)
}
