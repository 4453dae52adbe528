//! The library's layers, as living documentation (ARCHITECTURE.md, README « Architecture »):
//! each top-level module of `src/` sits in a layer, and may use modules of its own layer or
//! below — never above. The arrows are read from the source (`crate::module` in code, comments
//! left out). The arrows that go up today are listed in `DEBTS`, each to be removed by moving
//! code where it belongs: a new upward arrow fails this test, and so does a debt paid but still
//! listed (the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom to top. A module missing here fails the test: a new module is given its place.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "outils et données",
        &[
            "messages", "files", "hashing", "chunks", "clock", "logging", "findings", "xml",
            "certs", "keys", "settings", "latin1",
        ],
    ),
    ("formats et signatures", &["pes", "actes", "marches"]),
    ("cartes et stockage", &["card", "outbox"]),
    ("transmission", &["platform"]),
    ("cas d'usage", &["usecases"]),
    ("visages", &["gui"]),
];

/// Arrows that go up today (from → to), each a piece of code in the wrong place.
const DEBTS: &[(&str, &str)] = &[];

fn modules_of(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .expect("src")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs")
                    .filter(|n| !matches!(*n, "lib" | "main"))
                    .map(str::to_owned)
            }
        })
        .collect()
}

fn files_under(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("dir").flatten() {
            files_under(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_owned());
    }
}

/// `crate::name` references in code (not in comments) of every file of `module`.
fn arrows_from(src: &Path, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut files = Vec::new();
    let dir = src.join(module);
    if dir.is_dir() {
        files_under(&dir, &mut files);
    } else {
        files.push(src.join(format!("{module}.rs")));
    }
    let mut to = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != module && modules.contains(&name) {
                    to.insert(name);
                }
            }
        }
    }
    to
}

/// The command line lives in the binary, over the library, which does not know it.
#[test]
fn the_command_line_is_not_in_the_library() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert!(
        !lib.contains("mod cli"),
        "cli belongs to the binary (src/main.rs)"
    );
    let main = std::fs::read_to_string(src.join("main.rs")).expect("main.rs");
    assert!(main.contains("mod cli;"));
}

#[test]
fn modules_use_only_their_layer_and_those_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // cli/ is the binary's, above every layer of the library.
    let modules: BTreeSet<String> = modules_of(&src)
        .into_iter()
        .filter(|m| m != "cli")
        .collect();
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, names))| names.iter().map(move |n| (*n, i)))
        .collect();
    let unplaced: Vec<&String> = modules
        .iter()
        .filter(|m| !layer_of.contains_key(m.as_str()))
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer (give them one in LAYERS): {unplaced:?}"
    );
    let mut upward = BTreeSet::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        let to = arrows_from(&src, module, &modules);
        for target in &to {
            if layer_of[target.as_str()] > layer_of[module.as_str()] {
                upward.insert((module.clone(), target.clone()));
            }
        }
        graph.insert(module.clone(), to);
    }
    let debts: BTreeSet<(String, String)> = DEBTS
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = upward.difference(&debts).collect();
    assert!(
        new.is_empty(),
        "new arrows going up a layer (move the code down, or the caller up): {new:?}"
    );
    let paid: Vec<_> = debts.difference(&upward).collect();
    assert!(
        paid.is_empty(),
        "arrows no longer there: remove them from DEBTS: {paid:?}"
    );
    // Within a layer, no circle: sideways arrows must still be a hierarchy.
    for (module, to) in &graph {
        for target in to {
            let same_layer = layer_of[module.as_str()] == layer_of[target.as_str()];
            if same_layer && reaches(&graph, target, module, &layer_of) {
                panic!("circle between {module} and {target} within one layer");
            }
        }
    }
}

/// Whether `from` reaches `to` through arrows that stay in `to`'s layer.
fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    layer_of: &BTreeMap<&str, usize>,
) -> bool {
    let layer = layer_of[to];
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(m) = stack.pop() {
        if m == to {
            return true;
        }
        if !seen.insert(m.clone()) {
            continue;
        }
        for next in graph.get(&m).into_iter().flatten() {
            if layer_of[next.as_str()] == layer {
                stack.push(next.clone());
            }
        }
    }
    false
}

/// A file's module path (`actes::rules` for `src/actes/rules.rs`, `card` for `src/card/mod.rs`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// Every path written in `code` from `crate::` or `super::`, made absolute, with `{…}` groups
/// expanded (`crate::actes::{register, rules::X}` gives `actes::register` and `actes::rules::X`).
fn paths_in(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        if starts_word && (rest.starts_with("crate::") || rest.starts_with("super::")) {
            let mut base: Vec<String> = Vec::new();
            let mut j = i;
            if rest.starts_with("crate::") {
                j += "crate::".len();
            } else {
                base = module.to_vec();
                while bytes[j..].iter().collect::<String>().starts_with("super::") {
                    base.pop();
                    j += "super::".len();
                }
            }
            let (paths, end) = parse_tree(&bytes, j);
            for p in paths {
                let mut full = base.clone();
                full.extend(p);
                out.push(full);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Parses `a::b::{c, d::e}` from `at`; returns the paths and where it stopped.
fn parse_tree(chars: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while at < chars.len() && chars[at] == ' ' {
            at += 1;
        }
        if at < chars.len() && chars[at] == '{' {
            at += 1;
            let mut all = Vec::new();
            loop {
                let (paths, end) = parse_tree(chars, at);
                at = end;
                for p in paths {
                    let mut full = prefix.clone();
                    full.extend(p);
                    all.push(full);
                }
                while at < chars.len() && chars[at] == ' ' {
                    at += 1;
                }
                match chars.get(at) {
                    Some(',') => at += 1,
                    Some('}') => return (all, at + 1),
                    _ => return (all, at),
                }
            }
        }
        let word: String = chars[at..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        if word.is_empty() || word == "self" {
            return (vec![prefix], at + word.len());
        }
        at += word.chars().count();
        prefix.push(word);
        if chars[at..].iter().take(2).collect::<String>() == "::" {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

/// No two files lean on each other, even through others: a file's arrows (to files that are
/// neither its ancestors nor its descendants, which declare and use each other by nature) form a
/// hierarchy. The command line and the window are included.
#[test]
fn files_do_not_form_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    files_under(&src, &mut files);
    files.retain(|f| {
        let name = f.strip_prefix(&src).expect("under src");
        name != Path::new("lib.rs") && name != Path::new("main.rs")
    });
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_path(&src, file);
        let text = std::fs::read_to_string(file).expect("source");
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ");
        let mut to = BTreeSet::new();
        for path in paths_in(&code, &from) {
            // The longest prefix that is a file of its own.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p));
            let Some(target) = target else { continue };
            let related = target.starts_with(&from) || from.starts_with(&target);
            if !related {
                to.insert(target.join("::"));
            }
        }
        graph.insert(from.join("::"), to);
    }
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut circle = stack[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node.as_str()) {
            let mut stack = Vec::new();
            if let Some(circle) = visit(node, &graph, &mut state, &mut stack) {
                panic!("files in a circle: {}", circle.join(" → "));
            }
        }
    }
    // The test sees arrows at all (a parser that finds none would pass anything).
    assert!(
        graph
            .get("actes::rules")
            .is_some_and(|to| to.contains("actes::register"))
    );
}
