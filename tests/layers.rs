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
            "messages", "files", "hashing", "chunks", "logging", "findings", "xml", "certs",
            "settings",
        ],
    ),
    ("formats et signatures", &["pes", "actes", "marches"]),
    ("cartes et stockage", &["card", "outbox"]),
    ("transmission", &["platform"]),
    ("visages", &["gui"]),
];

/// Arrows that go up today (from → to), each a piece of code in the wrong place.
const DEBTS: &[(&str, &str)] = &[
    // Signing code takes the card's `Signer` trait and its errors: the trait belongs below.
    ("pes", "card"),
    ("actes", "card"),
    ("marches", "card"),
    // Act preparation queues and builds what the sender sends (a use case, above both).
    ("actes", "platform"),
    ("actes", "outbox"),
];

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
