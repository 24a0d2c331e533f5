//! Configuration files: every example in `config/` is valid, and every broken example in
//! `tests/broken-configs/` gives exactly the errors its `# expect:` lines list, all at once.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::path::Path;

fn yaml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_in_config_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let files = yaml_files(&dir);
    assert!(files.len() >= 4, "expected demo + 3 ANS environments");
    for file in files {
        let env: HashMap<String, String> = gateway::cli::DEMO_SECRETS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Err(e) = gateway::config::load(&file, &env) {
            panic!("{} is invalid:\n{e}", file.display());
        }
    }
}

#[test]
fn every_broken_example_gives_its_exact_errors() {
    // Relative to this package's directory, so messages carry stable relative paths.
    let dir = Path::new("broken-configs");
    let files = yaml_files(dir);
    assert!(files.len() >= 6);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|e| format!("{}: {e}", file.display()))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} lists no expected error",
            file.display()
        );
        let errors = gateway::config::load(&file, &HashMap::<String, String>::new())
            .err()
            .unwrap_or_else(|| panic!("{} was accepted", file.display()));
        let got: Vec<String> = errors
            .0
            .iter()
            .map(|e| e.to_string().replace("broken-configs/../", "../"))
            .collect();
        assert_eq!(got, expected, "{}", file.display());
    }
}
