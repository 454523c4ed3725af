//! The house rules `src/lib.rs` draws, read from the source with test
//! modules left out: every module imports only from layers below its own,
//! so there is no circle; inside a folder no two files import each other,
//! even through a third; no file is over 400 lines and no function over 60
//! (it fits a screen), and the ten longest say what they do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom, as `src/lib.rs`'s module doc draws them.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["localserver", "exec", "container_env", "doctor", "verify"],
    &["server", "fetch"],
    &["gateway"],
    &["mint"],
    &["registry"],
    &["cache"],
    &["sts", "local"],
    &["scope"],
    &["narrow"],
    &["body", "duration"],
    &["credential"],
    &["policy"],
    &[
        "token", "trusted", "socket", "peer", "systemd", "metrics", "signals", "log", "error",
        "manual",
    ],
];

/// Each top-level module and the top-level modules its code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !rel.ends_with(".rs") || rel == "lib.rs" || rel.ends_with("tests.rs") {
                continue;
            }
            let module = rel.split(['/', '.']).next().unwrap().to_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            found
                .entry(module.clone())
                .or_default()
                .extend(named(code).into_iter().filter(|m| *m != module));
        }
    }
    found
}

/// The modules `crate::X` and `crate::{X, Y::..}` name in `code`.
fn named(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                names.extend(group.split(',').map(|part| ident(part.trim())));
            }
            None => {
                names.insert(ident(rest));
            }
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("src/lib.rs's layers do not place module `{module}`"))
}

#[test]
fn no_module_imports_one_above_or_beside_it_so_there_is_no_circle() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (module, uses) in &imports {
        let own = layer_of(module);
        for used in uses {
            if used == "Error" || used == "install_panic_hook" {
                continue; // re-exported from `error`, the bottom layer
            }
            if layer_of(used) <= own && !(own == LAYERS.len() - 1 && layer_of(used) == own) {
                wrong.push(format!("{module} imports {used}"));
            }
        }
    }
    // Within the bottom layer (leaves) a leaf may use another; no circle.
    for (module, uses) in &imports {
        for used in uses.iter().filter(|u| layer_of(u) == LAYERS.len() - 1) {
            if imports.get(used).is_some_and(|back| back.contains(module)) {
                wrong.push(format!("{module} and {used} import each other"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        imports.len() >= 20,
        "too few modules read: {:?}",
        imports.keys()
    );
}

#[test]
fn no_source_file_is_over_400_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src];
    let mut long = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with("tests.rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > 400 {
                    long.push(format!("{}: {lines}", path.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "{long:#?}");
}

/// Every source file under `src/` but the test modules (`tests.rs`), with
/// its path relative to `src/` and its text up to its `#[cfg(test)]`.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if rel.ends_with(".rs") && !rel.ends_with("tests.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap().to_owned();
                found.push((rel, code));
            }
        }
    }
    found.sort();
    found
}

/// The names `code` reaches through `super::NAME` and `super::{A, B}`.
fn through_super(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("super::") {
        let rest = &code[at + "super::".len()..];
        let group = match rest.strip_prefix('{') {
            Some(group) => &group[..group.find('}').unwrap_or(group.len())],
            None => rest,
        };
        for part in group.split(',') {
            let name: String = part
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

#[test]
fn no_two_files_in_a_folder_import_each_other_even_through_a_third() {
    // The files of each folder (a module's children), and which of their
    // siblings each reaches through `super::`.
    let mut folders: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let sources = sources();
    for (rel, _) in &sources {
        if let Some((dir, file)) = rel.rsplit_once('/') {
            let name = file.trim_end_matches(".rs");
            if name != "mod" {
                let folder = folders.entry(dir.to_owned()).or_default();
                folder.insert(name.to_owned(), BTreeSet::new());
            }
        }
    }
    for (rel, code) in &sources {
        let Some((dir, file)) = rel.rsplit_once('/') else {
            continue;
        };
        let Some(folder) = folders.get_mut(dir) else {
            continue;
        };
        let name = file.trim_end_matches(".rs").to_owned();
        let siblings: BTreeSet<String> = folder.keys().cloned().collect();
        if let Some(uses) = folder.get_mut(&name) {
            uses.extend(
                through_super(code)
                    .into_iter()
                    .filter(|n| siblings.contains(n) && *n != name),
            );
        }
    }
    let mut circles = Vec::new();
    for (dir, files) in &folders {
        for start in files.keys() {
            // Whom `start` reaches, directly or not; reaching itself is a circle.
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&String> = files[start].iter().collect();
            while let Some(next) = todo.pop() {
                if seen.insert(next.clone()) {
                    todo.extend(files[next].iter());
                }
            }
            if seen.contains(start) {
                circles.push(format!("{dir}/{start}.rs reaches itself through {seen:?}"));
            }
        }
    }
    assert!(circles.is_empty(), "{circles:#?}");
    assert!(
        folders.len() >= 8,
        "too few folders read: {:?}",
        folders.keys()
    );
}

/// Each function's length in lines (its signature to its closing brace, as
/// rustfmt lays it out), where it is and whether a doc comment precedes it.
fn functions() -> Vec<(usize, String, bool)> {
    let mut found = Vec::new();
    for (rel, code) in sources() {
        let lines: Vec<&str> = code.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let signature = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "async fn ",
            ]
            .iter()
            .chain(&[
                "pub async fn ",
                "pub(crate) async fn ",
                "pub(super) async fn ",
            ])
            .chain(&["const fn ", "pub const fn ", "unsafe fn "])
            .find_map(|start| trimmed.strip_prefix(start));
            let Some(signature) = signature else {
                continue;
            };
            let Some(open) =
                (at..lines.len()).find(|&i| lines[i].ends_with('{') || lines[i].ends_with(';'))
            else {
                continue;
            };
            if lines[open].ends_with(';') {
                continue; // a trait's declaration
            }
            let close = format!("{indent}}}");
            let Some(end) = (open..lines.len()).find(|&i| lines[i] == close) else {
                continue; // a one-liner `{ ... }`
            };
            let doc = lines[..at]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .find(|l| !l.starts_with("#["))
                .is_some_and(|l| l.starts_with("///"));
            let name: String = signature
                .chars()
                .take_while(|c| *c != '(' && *c != '<')
                .collect();
            found.push((end - at + 1, format!("src/{rel}:{} {name}", at + 1), doc));
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
}

#[test]
fn every_function_fits_a_screen_and_the_ten_longest_say_what_they_do() {
    let functions = functions();
    assert!(
        functions.len() > 300,
        "too few functions read: {}",
        functions.len()
    );
    let long: Vec<_> = functions.iter().filter(|f| f.0 > 60).collect();
    assert!(long.is_empty(), "over 60 lines: {long:#?}");
    let undocumented: Vec<_> = functions[..10].iter().filter(|f| !f.2).collect();
    assert!(
        undocumented.is_empty(),
        "among the ten longest, without a doc: {undocumented:#?}"
    );
}
