//! Config providers (Kafka's KIP-297 / KIP-421): a value such as
//! `${file:/etc/sluice/secrets.properties:db-password}` or `${env:DB_PASSWORD}` is kept
//! as written where configs are stored and shown (`GET /connectors/{name}/config`, the
//! config topic), and replaced by the secret only when a connector or task starts.
//!
//! The worker declares its providers as Kafka Connect's do:
//! `config.providers=env,file,dir` and `config.providers.<name>.class=<class>`, with the
//! provider's settings under `config.providers.<name>.param.*`. The classes are Kafka's
//! own three, by full or simple name:
//! - `org.apache.kafka.common.config.provider.EnvVarConfigProvider`: `${env:VAR}`
//!   (param `allowlist.pattern`, a regular expression the variable name must match);
//! - `org.apache.kafka.common.config.provider.FileConfigProvider`:
//!   `${file:/path/to/file.properties:key}`, a key of a `.properties` file;
//! - `org.apache.kafka.common.config.provider.DirectoryConfigProvider`:
//!   `${dir:/path/to/dir:file}`, the whole content of a file in a directory.
//!
//! File and directory providers take `allowed.paths` (KIP-993): a comma-separated list of
//! directories a path must lie in.
//!
//! Unlike Kafka, which leaves a variable it cannot resolve as it is, a variable naming an
//! unknown provider, a missing file or a missing key is an error naming the config key
//! and the variable: a connector never starts with `${…}` as its password.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use sluice_core::config::ConfigMap;

/// The worker key listing the providers.
pub const PROVIDERS_KEY: &str = "config.providers";

const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";
const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIR_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";

/// Why the worker's `config.providers*` keys are unusable.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A listed provider has no class.
    #[error("config.providers lists {name}, but config.providers.{name}.class is not set: set it to {ENV_CLASS}, {FILE_CLASS} or {DIR_CLASS}")]
    MissingClass {
        /// The provider's name.
        name: String,
    },
    /// A provider's class is not one this worker has.
    #[error("Invalid value {class} for configuration config.providers.{name}.class: not a known config provider; use {ENV_CLASS}, {FILE_CLASS} or {DIR_CLASS}")]
    UnknownClass {
        /// The provider's name.
        name: String,
        /// The class given.
        class: String,
    },
    /// A provider parameter is invalid.
    #[error(
        "Invalid value {value} for configuration config.providers.{name}.param.{param}: {reason}"
    )]
    BadParam {
        /// The provider's name.
        name: String,
        /// The parameter.
        param: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
}

impl ProviderError {
    /// The worker key at fault.
    pub fn key(&self) -> String {
        match self {
            ProviderError::MissingClass { name } | ProviderError::UnknownClass { name, .. } => {
                format!("config.providers.{name}.class")
            }
            ProviderError::BadParam { name, param, .. } => {
                format!("config.providers.{name}.param.{param}")
            }
        }
    }
}

/// A variable that could not be resolved: the key holding it, the variable, and why.
/// The message never holds a resolved value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Invalid value for configuration {key}: cannot resolve {variable}: {reason}")]
pub struct ResolveError {
    /// The config key whose value holds the variable.
    pub key: String,
    /// The variable as written, e.g. `${file:/etc/secrets.properties:password}`.
    pub variable: String,
    /// What is wrong, and what to do.
    pub reason: String,
}

#[derive(Debug, Clone)]
enum Provider {
    Env { allowlist: Option<Regex> },
    File { allowed: Vec<PathBuf> },
    Dir { allowed: Vec<PathBuf> },
}

/// The providers a worker declares; resolves `${provider:[path:]key}` variables.
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

/// Kafka's `ConfigTransformer` pattern: `${provider:[path:]key}`.
fn variable_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}").unwrap_or_else(|_| unreachable!())
    })
}

/// Whether `value` holds a `${provider:[path:]key}` variable.
pub fn has_variable(value: &str) -> bool {
    variable_pattern().is_match(value)
}

impl ConfigProviders {
    /// The providers `worker_props` declares (`config.providers`, `config.providers.*`).
    pub fn from_worker(worker_props: &ConfigMap) -> Result<Self, ProviderError> {
        let mut providers = BTreeMap::new();
        let names = worker_props.get(PROVIDERS_KEY).map_or("", String::as_str);
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let class = worker_props
                .get(&format!("config.providers.{name}.class"))
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ProviderError::MissingClass { name: name.into() })?;
            let param = |p: &str| {
                worker_props
                    .get(&format!("config.providers.{name}.param.{p}"))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            let allowed = || -> Vec<PathBuf> {
                param("allowed.paths")
                    .map(|v| {
                        v.split(',')
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .map(PathBuf::from)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let simple = class.rsplit('.').next().unwrap_or(class);
            let provider = match simple {
                "EnvVarConfigProvider" => {
                    let allowlist = param("allowlist.pattern")
                        .map(|p| {
                            Regex::new(&format!("^(?:{p})$")).map_err(|e| ProviderError::BadParam {
                                name: name.into(),
                                param: "allowlist.pattern",
                                value: p.clone(),
                                reason: format!("not a regular expression: {e}"),
                            })
                        })
                        .transpose()?;
                    Provider::Env { allowlist }
                }
                "FileConfigProvider" => Provider::File { allowed: allowed() },
                "DirectoryConfigProvider" => Provider::Dir { allowed: allowed() },
                _ => {
                    return Err(ProviderError::UnknownClass {
                        name: name.into(),
                        class: class.into(),
                    })
                }
            };
            providers.insert(name.to_owned(), provider);
        }
        Ok(ConfigProviders { providers })
    }

    /// `props` with every variable replaced by its value; every unresolvable variable is
    /// reported. Keys of the `config.providers.*` family are left as they are.
    pub fn resolve(&self, props: &ConfigMap) -> Result<ConfigMap, Vec<ResolveError>> {
        let mut out = ConfigMap::new();
        let mut errors = Vec::new();
        for (key, value) in props {
            if key.starts_with(PROVIDERS_KEY) || !has_variable(value) {
                out.insert(key.clone(), value.clone());
                continue;
            }
            match self.resolve_value(key, value) {
                Ok(v) => {
                    out.insert(key.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn resolve_value(&self, key: &str, value: &str) -> Result<String, ResolveError> {
        let mut out = String::with_capacity(value.len());
        let mut last = 0;
        for caps in variable_pattern().captures_iter(value) {
            let Some(whole) = caps.get(0) else { continue };
            out.push_str(&value[last..whole.start()]);
            let provider = caps.get(1).map_or("", |m| m.as_str());
            let path = caps.get(2).map(|m| m.as_str());
            let name = caps.get(3).map_or("", |m| m.as_str());
            let fail = |reason: String| ResolveError {
                key: key.to_owned(),
                variable: whole.as_str().to_owned(),
                reason,
            };
            out.push_str(&self.lookup(provider, path, name).map_err(fail)?);
            last = whole.end();
        }
        out.push_str(&value[last..]);
        Ok(out)
    }

    fn lookup(&self, provider: &str, path: Option<&str>, key: &str) -> Result<String, String> {
        let Some(p) = self.providers.get(provider) else {
            let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            return Err(if known.is_empty() {
                format!("the worker defines no config providers; add {provider} to the worker's config.providers and set config.providers.{provider}.class (e.g. {FILE_CLASS})")
            } else {
                format!("the worker's config.providers ({}) has no provider named {provider}; add it, with config.providers.{provider}.class", known.join(","))
            });
        };
        match p {
            Provider::Env { allowlist } => {
                if path.is_some_and(|p| !p.is_empty()) {
                    return Err(format!(
                        "the environment provider takes no path: write ${{{provider}:{key}}}"
                    ));
                }
                if allowlist.as_ref().is_some_and(|re| !re.is_match(key)) {
                    return Err(format!("the environment variable {key} is not allowed by config.providers.{provider}.param.allowlist.pattern"));
                }
                std::env::var(key).map_err(|_| {
                    format!("the environment variable {key} is not set in the worker's environment")
                })
            }
            Provider::File { allowed } => {
                let path = needs_path(provider, path)?;
                check_allowed(provider, path, allowed)?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the file {path}: {e}"))?;
                let props = sluice_core::config::props::parse(&text)
                    .map_err(|e| format!("the file {path} is not a .properties file: {e}"))?;
                props
                    .get(key)
                    .cloned()
                    .ok_or_else(|| format!("the file {path} has no key {key}"))
            }
            Provider::Dir { allowed } => {
                let dir = needs_path(provider, path)?;
                check_allowed(provider, dir, allowed)?;
                if key.contains('/') || key == ".." {
                    return Err(format!("{key} is not a file name in the directory {dir}"));
                }
                let file = Path::new(dir).join(key);
                std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read the file {}: {e}", file.display()))
            }
        }
    }
}

fn needs_path<'a>(provider: &str, path: Option<&'a str>) -> Result<&'a str, String> {
    path.filter(|p| !p.is_empty())
        .ok_or_else(|| format!("the variable names no path: write ${{{provider}:/path:key}}"))
}

fn check_allowed(provider: &str, path: &str, allowed: &[PathBuf]) -> Result<(), String> {
    if allowed.is_empty() {
        return Ok(());
    }
    let p = Path::new(path);
    if p.components().any(|c| c == std::path::Component::ParentDir)
        || !allowed.iter().any(|a| p.starts_with(a))
    {
        return Err(format!(
            "{path} is outside config.providers.{provider}.param.allowed.paths"
        ));
    }
    Ok(())
}

/// A task config as it may be stored and shown: each key whose value in the connector's
/// `raw` config holds a variable gets the variable back instead of the resolved value
/// (Kafka Connect's `reverseTransform`), so task configs never carry secrets.
pub fn unresolve(raw: &ConfigMap, task_config: &ConfigMap) -> ConfigMap {
    task_config
        .iter()
        .map(|(k, v)| match raw.get(k) {
            Some(r) if has_variable(r) => (k.clone(), r.clone()),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn file_env_and_dir_variables_resolve() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("secrets.properties");
        std::fs::write(&file, "password=s3cret\nuser: alice\n")?;
        std::fs::write(dir.path().join("token"), "t0ken")?;
        let providers = ConfigProviders::from_worker(&map(&[
            ("config.providers", "file, env,dir"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.env.class", "EnvVarConfigProvider"),
            ("config.providers.dir.class", DIR_CLASS),
        ]))?;
        let path = file.display().to_string();
        let d = dir.path().display().to_string();
        let resolved = providers
            .resolve(&map(&[
                ("database.password", &format!("${{file:{path}:password}}")),
                ("database.user", &format!("u-${{file:{path}:user}}-x")),
                ("token", &format!("${{dir:{d}:token}}")),
                ("home", "${env:PATH}"),
                ("plain", "no variable"),
            ]))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        assert_eq!(resolved["database.password"], "s3cret");
        assert_eq!(resolved["database.user"], "u-alice-x");
        assert_eq!(resolved["token"], "t0ken");
        assert_eq!(resolved["home"], std::env::var("PATH")?);
        assert_eq!(resolved["plain"], "no variable");
        Ok(())
    }

    #[test]
    fn unknown_provider_and_missing_key_name_the_key_and_variable() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("s.properties");
        std::fs::write(&file, "a=1\n")?;
        let providers = ConfigProviders::from_worker(&map(&[
            ("config.providers", "file"),
            ("config.providers.file.class", FILE_CLASS),
        ]))?;
        let var = format!("${{file:{}:missing}}", file.display());
        let errors = providers
            .resolve(&map(&[
                ("database.password", &var),
                ("x", "${vault:secret/db:pw}"),
            ]))
            .expect_err("unresolvable");
        assert_eq!(errors.len(), 2);
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text[0].contains("database.password") && text[0].contains(&var),
            "{text:?}"
        );
        assert!(text[0].contains("has no key missing"), "{text:?}");
        assert!(
            text[1].contains("${vault:secret/db:pw}")
                && text[1].contains("no provider named vault"),
            "{text:?}"
        );
        Ok(())
    }

    #[test]
    fn a_bad_provider_class_is_refused() {
        let e = ConfigProviders::from_worker(&map(&[
            ("config.providers", "vault"),
            (
                "config.providers.vault.class",
                "com.example.VaultConfigProvider",
            ),
        ]))
        .expect_err("unknown class");
        assert_eq!(e.key(), "config.providers.vault.class");
        let e = ConfigProviders::from_worker(&map(&[("config.providers", "file")]))
            .expect_err("no class");
        assert!(
            e.to_string()
                .contains("config.providers.file.class is not set"),
            "{e}"
        );
    }

    #[test]
    fn allowed_paths_confine_the_file_provider() -> anyhow::Result<()> {
        let providers = ConfigProviders::from_worker(&map(&[
            ("config.providers", "file"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.file.param.allowed.paths", "/etc/sluice"),
        ]))?;
        let e = providers
            .resolve(&map(&[("k", "${file:/etc/passwd:root}")]))
            .expect_err("outside");
        assert!(e[0].reason.contains("outside"), "{e:?}");
        let e = providers
            .resolve(&map(&[("k", "${file:/etc/sluice/../passwd:root}")]))
            .expect_err("escapes");
        assert!(e[0].reason.contains("outside"), "{e:?}");
        Ok(())
    }

    #[test]
    fn task_configs_get_their_variables_back() {
        let raw = map(&[("database.password", "${env:PW}"), ("a", "1")]);
        let task = map(&[
            ("database.password", "s3cret"),
            ("a", "1"),
            ("task.id", "0"),
        ]);
        let stored = unresolve(&raw, &task);
        assert_eq!(stored["database.password"], "${env:PW}");
        assert_eq!(stored["task.id"], "0");
    }
}
