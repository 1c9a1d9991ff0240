//! The reference in docs/ keeps up with the code: every variable the configuration reads is
//! documented in docs/configuration.md.

use std::path::Path;

/// Every `"SESAME_…"` string literal in the non-test code of `src/config.rs` and `src/config/`.
fn variables_read_by_config() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root.join("config.rs")];
    for entry in std::fs::read_dir(root.join("config")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut names: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let source = std::fs::read_to_string(file).unwrap();
            // Unit tests (at the end of each file) name variables that do not exist on purpose.
            let code = source.split("#[cfg(test)]").next().unwrap().to_owned();
            code.split("\"SESAME_")
                .skip(1)
                .filter_map(|rest| {
                    let (tail, _) = rest.split_once('"')?;
                    if tail.is_empty() {
                        return None;
                    }
                    let name = tail
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                        .then(|| format!("SESAME_{tail}"))?;
                    Some(name)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn every_configuration_variable_is_documented() {
    let names = variables_read_by_config();
    assert!(
        names.len() > 50,
        "the scan found too few variables: {names:?}"
    );
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !page.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "read by src/config but not in docs/configuration.md: {missing:?}"
    );
}
