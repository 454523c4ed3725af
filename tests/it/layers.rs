//! The layers `src/lib.rs` draws: every module imports only from layers
//! below its own, so there is no circle (issue 22). Read from the source,
//! test modules left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom, as `src/lib.rs`'s module doc draws them.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["localserver", "exec", "container_env", "doctor", "verify"],
    &["server", "fetch"],
    &["mint"],
    &["registry"],
    &["cache"],
    &["sts"],
    &["scope"],
    &["narrow"],
    &["policy", "body", "duration"],
    &["credential"],
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
