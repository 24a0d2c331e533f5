//! The manual against the code and itself: every metric the code registers is in
//! docs/metrics.md (and nothing else is), and every link of README.md and docs/ leads to a file
//! of the repository, and to a heading of it when it names one.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// `"gateway_…"` string literals of the crates that register metrics.
fn metrics_in_code() -> BTreeSet<String> {
    let mut sources = Vec::new();
    for krate in ["gateway", "mtls", "adapters", "state"] {
        files(&Path::new(ROOT).join(krate).join("src"), "rs", &mut sources);
    }
    let mut names = BTreeSet::new();
    for source in sources {
        let text = std::fs::read_to_string(&source).unwrap();
        for piece in text.split("\"gateway_").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if piece[name.len()..].starts_with('"') {
                names.insert(format!("gateway_{name}"));
            }
        }
    }
    names
}

/// The metrics named in the first column of docs/metrics.md's tables.
fn metrics_in_manual() -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/docs/metrics.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `gateway_"))
        .map(|rest| format!("gateway_{}", &rest[..rest.find('`').unwrap()]))
        .collect()
}

#[test]
fn every_metric_of_the_code_is_in_the_manual_and_no_other() {
    let code = metrics_in_code();
    let manual = metrics_in_manual();
    assert!(code.len() >= 20, "found only {code:?} in the code");
    let undocumented: Vec<_> = code.difference(&manual).collect();
    let stale: Vec<_> = manual.difference(&code).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "metrics in the code but not in docs/metrics.md: {undocumented:?}; \
         in docs/metrics.md but not in the code: {stale:?}"
    );
}

/// GitHub's anchor of a heading: lower case, spaces to `-`, punctuation but `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of inline links `[text](target)` outside code blocks and code spans.
fn links(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans: a `[x](y)` inside backticks is an example, not a link.
        let text: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for piece in text.split("](").skip(1) {
            if let Some(end) = piece.find(')') {
                out.push(piece[..end].to_owned());
            }
        }
    }
    out
}

#[test]
fn every_link_of_the_manual_stays_in_the_repository_and_resolves() {
    let root = Path::new(ROOT).canonicalize().unwrap();
    let mut pages = vec![root.join("README.md")];
    files(&root.join("docs"), "md", &mut pages);
    assert!(pages.len() > 10, "{pages:?}");
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        let name = page.strip_prefix(&root).unwrap().display().to_string();
        for link in links(&text) {
            if link.starts_with("http://") || link.starts_with("https://") {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            let Ok(target) = target.canonicalize() else {
                broken.push(format!("{name}: `{link}`: no such file"));
                continue;
            };
            if !target.starts_with(&root) {
                broken.push(format!("{name}: `{link}` leaves the repository"));
                continue;
            }
            if !fragment.is_empty() {
                let heads = anchors(&std::fs::read_to_string(&target).unwrap());
                if !heads.contains(fragment) {
                    broken.push(format!("{name}: `{link}`: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn anchors_and_links_are_read_as_github_does() {
    assert_eq!(anchor(" Several instances"), "several-instances");
    assert_eq!(
        anchor(" `routes[].signature`"),
        "routessignature",
        "code spans and brackets are dropped"
    );
    assert_eq!(
        links("see [a](a.md#x) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d](../d)"),
        ["a.md#x", "../d"]
    );
}
