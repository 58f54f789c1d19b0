//! `ConfigDef`: declared keys, parsing and validation.

use std::collections::BTreeMap;
use std::fmt;

use super::ConfigMap;

/// A key's type, named as Kafka Connect names it in `ConfigInfos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// Kafka Connect's upper-case name (`"STRING"`, `"INT"`, …).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How much a key matters, as in Kafka Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    /// `"HIGH"`, `"MEDIUM"` or `"LOW"`.
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// Checks a parsed value beyond its type.
#[derive(Clone)]
pub enum Validator {
    /// A number in `[min, max]`.
    Range { min: Option<i64>, max: Option<i64> },
    /// One of these strings (case-insensitive).
    OneOf(&'static [&'static str]),
    /// A non-empty string.
    NonEmpty,
    /// Anything else: returns what is allowed on failure.
    Custom(fn(&str) -> Result<(), String>),
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({min:?}, {max:?})"),
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::NonEmpty => write!(f, "NonEmpty"),
            Validator::Custom(_) => write!(f, "Custom"),
        }
    }
}

impl Validator {
    fn check(&self, value: &Parsed) -> Result<(), String> {
        match (self, value) {
            (Validator::Range { min, max }, Parsed::Number(n)) => {
                if min.is_some_and(|m| *n < m) || max.is_some_and(|m| *n > m) {
                    return Err(match (min, max) {
                        (Some(a), Some(b)) => format!("Value must be between {a} and {b}"),
                        (Some(a), None) => format!("Value must be at least {a}"),
                        (None, Some(b)) => format!("Value must be no more than {b}"),
                        (None, None) => unreachable!("a range with no bound never fails"),
                    });
                }
                Ok(())
            }
            (Validator::OneOf(allowed), Parsed::Text(s)) => {
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", allowed.join(", ")))
                }
            }
            (Validator::NonEmpty, Parsed::Text(s)) => {
                if s.trim().is_empty() {
                    Err("String must be non-empty".into())
                } else {
                    Ok(())
                }
            }
            (Validator::Custom(f), Parsed::Text(s)) => f(s),
            _ => Ok(()),
        }
    }

    fn recommended(&self) -> Vec<String> {
        match self {
            Validator::OneOf(allowed) => allowed.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    fn describe(&self) -> Option<String> {
        match self {
            Validator::Range { min, max } => Some(match (min, max) {
                (Some(a), Some(b)) => format!("[{a},...,{b}]"),
                (Some(a), None) => format!("[{a},...]"),
                (None, Some(b)) => format!("[...,{b}]"),
                (None, None) => return None,
            }),
            Validator::OneOf(allowed) => Some(format!("[{}]", allowed.join(", "))),
            Validator::NonEmpty => Some("non-empty string".into()),
            Validator::Custom(_) => None,
        }
    }
}

/// The default of a key.
#[derive(Debug, Clone, PartialEq)]
enum Default {
    /// No default: the key must be given.
    Required,
    /// Optional with no value.
    Null,
    /// This text, parsed like user input.
    Value(String),
}

/// One declared key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key.
    pub name: String,
    /// Its type.
    pub ty: ConfigType,
    default: Default,
    /// How much it matters.
    pub importance: Importance,
    /// What it does.
    pub doc: String,
    /// The group it is shown in.
    pub group: Option<String>,
    /// Its position in the group, or -1.
    pub order: i32,
    /// A name for forms.
    pub display_name: String,
    /// A check beyond the type.
    pub validator: Option<Validator>,
}

impl ConfigKey {
    /// A required key of type `ty`.
    pub fn new(name: &str, ty: ConfigType) -> Self {
        ConfigKey {
            name: name.to_owned(),
            ty,
            default: Default::Required,
            importance: Importance::Medium,
            doc: String::new(),
            group: None,
            order: -1,
            display_name: name.to_owned(),
            validator: None,
        }
    }

    /// Sets the default (parsed like user input).
    pub fn default(mut self, value: impl Into<String>) -> Self {
        self.default = Default::Value(value.into());
        self
    }

    /// Makes the key optional with no default.
    pub fn optional(mut self) -> Self {
        self.default = Default::Null;
        self
    }

    /// Sets the importance.
    pub fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }

    /// Sets the documentation.
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = doc.into();
        self
    }

    /// Sets the group and order within it.
    pub fn group(mut self, group: &str, order: i32) -> Self {
        self.group = Some(group.to_owned());
        self.order = order;
        self
    }

    /// Sets the display name.
    pub fn display(mut self, name: &str) -> Self {
        self.display_name = name.to_owned();
        self
    }

    /// Sets the validator.
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }

    /// True when the key must be given.
    pub fn required(&self) -> bool {
        self.default == Default::Required
    }

    /// The default as text, if any.
    pub fn default_text(&self) -> Option<&str> {
        match &self.default {
            Default::Value(v) => Some(v),
            _ => None,
        }
    }

    /// What values are allowed, for error messages.
    fn allowed(&self) -> String {
        let base = match self.ty {
            ConfigType::Boolean => "true or false",
            ConfigType::Int => "a 32-bit integer",
            ConfigType::Short => "a 16-bit integer",
            ConfigType::Long => "a 64-bit integer",
            ConfigType::Double => "a number",
            ConfigType::List => "a comma-separated list",
            ConfigType::String | ConfigType::Class | ConfigType::Password => "a string",
        };
        match self.validator.as_ref().and_then(Validator::describe) {
            Some(d) => format!("{base} in {d}"),
            None => base.to_owned(),
        }
    }

    fn parse(&self, text: &str) -> Result<Parsed, String> {
        let trimmed = text.trim();
        let parsed = match self.ty {
            ConfigType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" => Parsed::Bool(true),
                "false" => Parsed::Bool(false),
                _ => return Err("Expected value to be either true or false".into()),
            },
            ConfigType::Int | ConfigType::Short | ConfigType::Long => {
                let n: i64 = trimmed
                    .parse()
                    .map_err(|_| format!("Not a number of type {}", self.ty.name()))?;
                let fits = match self.ty {
                    ConfigType::Int => i32::try_from(n).is_ok(),
                    ConfigType::Short => i16::try_from(n).is_ok(),
                    _ => true,
                };
                if !fits {
                    return Err(format!("Not a number of type {}", self.ty.name()));
                }
                Parsed::Number(n)
            }
            ConfigType::Double => Parsed::Double(
                trimmed
                    .parse()
                    .map_err(|_| "Not a number of type DOUBLE".to_string())?,
            ),
            ConfigType::List => Parsed::List(split_list(trimmed)),
            ConfigType::String | ConfigType::Password => Parsed::Text(text.to_owned()),
            ConfigType::Class => Parsed::Text(trimmed.to_owned()),
        };
        if let Some(v) = &self.validator {
            v.check(&parsed)?;
        }
        Ok(parsed)
    }
}

/// Splits a Kafka list value: comma-separated, trimmed, empties dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Bool(bool),
    Number(i64),
    Double(f64),
    Text(String),
    List(Vec<String>),
}

/// The validation result of one key, as in `ConfigInfos`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValue {
    /// The key.
    pub name: String,
    /// The given value (or the default).
    pub value: Option<String>,
    /// Values to suggest.
    pub recommended_values: Vec<String>,
    /// What is wrong with it.
    pub errors: Vec<String>,
    /// Whether it is shown.
    pub visible: bool,
}

/// A set of declared keys, plus prefixes passed through to other components and keys
/// accepted only for compatibility.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
    prefixes: Vec<(String, String)>,
    not_needed: Vec<(String, String)>,
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a key.
    pub fn define(mut self, key: ConfigKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Accepts every key starting with `prefix` (passed on to another component).
    pub fn prefix(mut self, prefix: &str, doc: &str) -> Self {
        self.prefixes.push((prefix.to_owned(), doc.to_owned()));
        self
    }

    /// Accepts `key` for compatibility; it has no job here, and `why` says so in the log.
    pub fn not_needed(mut self, key: &str, why: &str) -> Self {
        self.not_needed.push((key.to_owned(), why.to_owned()));
        self
    }

    /// Adds every key, prefix and not-needed key of `other`.
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            if self.key(&k.name).is_none() {
                self.keys.push(k.clone());
            }
        }
        self.prefixes.extend(other.prefixes.iter().cloned());
        self.not_needed.extend(other.not_needed.iter().cloned());
        self
    }

    /// The declared keys, in declaration order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// A declared key.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The groups, in first-seen order.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for g in self.keys.iter().filter_map(|k| k.group.as_ref()) {
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        out
    }

    /// Keys given that are accepted but have no job, with why.
    pub fn not_needed_in<'a>(
        &'a self,
        props: &'a ConfigMap,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.not_needed
            .iter()
            .filter(|(k, _)| props.contains_key(k))
            .map(|(k, why)| (k.as_str(), why.as_str()))
    }

    fn is_passed_through(&self, key: &str) -> bool {
        self.prefixes
            .iter()
            .any(|(p, _)| key.starts_with(p.as_str()))
            || self.not_needed.iter().any(|(k, _)| k == key)
    }

    /// Validates every declared key and every given key: one entry per declared key
    /// (in order), then one per unknown key, each carrying its errors.
    pub fn validate(&self, props: &ConfigMap) -> Vec<ConfigValue> {
        let mut out = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            let given = props.get(&key.name);
            let mut errors = Vec::new();
            let text = match (given, &key.default) {
                (Some(v), _) => Some(v.clone()),
                (None, Default::Value(d)) => Some(d.clone()),
                (None, Default::Null) => None,
                (None, Default::Required) => {
                    errors.push(format!(
                        "Missing required configuration \"{}\" which has no default value. It must be {}.",
                        key.name,
                        key.allowed()
                    ));
                    None
                }
            };
            if let Some(t) = &text {
                if let Err(e) = key.parse(t) {
                    errors.push(format!(
                        "Invalid value {t} for configuration {}: {e} (allowed: {})",
                        key.name,
                        key.allowed()
                    ));
                }
            }
            out.push(ConfigValue {
                name: key.name.clone(),
                value: if key.ty == ConfigType::Password {
                    text.map(|_| "[hidden]".to_owned())
                } else {
                    text
                },
                recommended_values: key
                    .validator
                    .as_ref()
                    .map(Validator::recommended)
                    .unwrap_or_default(),
                errors,
                visible: true,
            });
        }
        for (name, value) in props {
            if self.key(name).is_some() || self.is_passed_through(name) {
                continue;
            }
            out.push(ConfigValue {
                name: name.clone(),
                value: Some(value.clone()),
                recommended_values: Vec::new(),
                errors: vec![self.unknown_key_message(name, value)],
                visible: true,
            });
        }
        out
    }

    fn unknown_key_message(&self, name: &str, value: &str) -> String {
        let mut msg = format!("Unknown configuration \"{name}\" (value \"{value}\")");
        if let Some(near) = self
            .keys
            .iter()
            .map(|k| (edit_distance(&k.name, name), &k.name))
            .filter(|(d, k)| *d <= 3.max(k.len() / 4))
            .min()
        {
            msg.push_str(&format!("; did you mean \"{}\"?", near.1));
        }
        let names: Vec<&str> = self.keys.iter().map(|k| k.name.as_str()).collect();
        msg.push_str(&format!(" Allowed keys: {}", names.join(", ")));
        if !self.prefixes.is_empty() {
            let prefixes: Vec<&str> = self.prefixes.iter().map(|(p, _)| p.as_str()).collect();
            msg.push_str(&format!("; and keys starting with {}", prefixes.join(", ")));
        }
        msg
    }

    /// Parses `props`, or returns every error found.
    pub fn parse(&self, props: &ConfigMap) -> Result<ParsedConfig, ConfigErrors> {
        let errors: Vec<(String, String)> = self
            .validate(props)
            .into_iter()
            .flat_map(|v| v.errors.into_iter().map(move |e| (v.name.clone(), e)))
            .collect();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let mut values = BTreeMap::new();
        for key in &self.keys {
            let text = props
                .get(&key.name)
                .map(String::as_str)
                .or(key.default_text());
            if let Some(t) = text {
                let parsed = key
                    .parse(t)
                    .map_err(|e| ConfigErrors(vec![(key.name.clone(), e)]))?;
                values.insert(key.name.clone(), parsed);
            }
        }
        Ok(ParsedConfig {
            values,
            originals: props.clone(),
        })
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Every problem found in a config: (key, message).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<(String, String)>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} invalid configuration value{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for (_, msg) in &self.0 {
            write!(f, "\n  - {msg}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A config that passed validation, with typed getters.
///
/// Getters panic only when asked for a key the definition does not declare with a
/// default: a programming error, never a user one (parsing already refused bad input).
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, Parsed>,
    originals: ConfigMap,
}

impl ParsedConfig {
    fn get(&self, key: &str) -> Option<&Parsed> {
        self.values.get(key)
    }

    fn must(&self, key: &str) -> &Parsed {
        match self.values.get(key) {
            Some(v) => v,
            None => panic!("config key {key} read without a value: declare it with a default"),
        }
    }

    /// A string, class or password value; `None` when optional and absent.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Parsed::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// A string value that has a default.
    pub fn string_or_default(&self, key: &str) -> &str {
        match self.must(key) {
            Parsed::Text(s) => s,
            other => panic!("config key {key} is {other:?}, not a string"),
        }
    }

    /// A boolean value that has a default.
    pub fn bool(&self, key: &str) -> bool {
        match self.must(key) {
            Parsed::Bool(b) => *b,
            other => panic!("config key {key} is {other:?}, not a boolean"),
        }
    }

    /// An integer value that has a default.
    pub fn long(&self, key: &str) -> i64 {
        match self.must(key) {
            Parsed::Number(n) => *n,
            other => panic!("config key {key} is {other:?}, not a number"),
        }
    }

    /// A list value; empty when optional and absent.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(Parsed::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// A double value that has a default.
    pub fn double(&self, key: &str) -> f64 {
        match self.must(key) {
            Parsed::Double(n) => *n,
            Parsed::Number(n) => *n as f64,
            other => panic!("config key {key} is {other:?}, not a double"),
        }
    }

    /// Every given key (with prefix keys), unparsed.
    pub fn originals(&self) -> &ConfigMap {
        &self.originals
    }

    /// Given keys starting with `prefix`, with the prefix stripped.
    pub fn with_prefix(&self, prefix: &str) -> ConfigMap {
        self.originals
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new("file", ConfigType::String).optional())
            .define(ConfigKey::new("topic", ConfigType::String).validator(Validator::NonEmpty))
            .define(
                ConfigKey::new("batch.size", ConfigType::Int)
                    .default("2000")
                    .validator(Validator::Range {
                        min: Some(1),
                        max: None,
                    }),
            )
            .define(
                ConfigKey::new("mode", ConfigType::String)
                    .default("a")
                    .validator(Validator::OneOf(&["a", "b"])),
            )
            .prefix("producer.", "producer overrides")
            .not_needed("plugin.path", "plugins are compiled in")
    }

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_with_defaults() {
        let p = def()
            .parse(&map(&[
                ("topic", "t"),
                ("producer.acks", "all"),
                ("plugin.path", "/x"),
            ]))
            .expect("valid");
        assert_eq!(p.long("batch.size"), 2000);
        assert_eq!(p.string("file"), None);
        assert_eq!(p.string_or_default("mode"), "a");
        assert_eq!(p.with_prefix("producer."), map(&[("acks", "all")]));
    }

    #[test]
    fn errors_name_key_value_and_allowed() {
        let err = def()
            .parse(&map(&[("batch.size", "0"), ("mode", "c"), ("topc", "t")]))
            .expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.contains("Missing required configuration \"topic\""),
            "{text}"
        );
        assert!(
            text.contains("Invalid value 0 for configuration batch.size: Value must be at least 1"),
            "{text}"
        );
        assert!(
            text.contains("Invalid value c for configuration mode: String must be one of: a, b"),
            "{text}"
        );
        assert!(
            text.contains("Unknown configuration \"topc\" (value \"t\"); did you mean \"topic\"?"),
            "{text}"
        );
        assert_eq!(err.0.len(), 4);
    }

    #[test]
    fn number_type_errors() {
        let err = def()
            .parse(&map(&[("topic", "t"), ("batch.size", "99999999999")]))
            .expect_err("too big");
        assert!(
            err.to_string().contains("Not a number of type INT"),
            "{err}"
        );
    }
}
