//! The README's "What is here" section names every crate of the workspace, by directory
//! and by package name, and names no crate directory that is not one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The quoted entries of the workspace's `members = [...]`.
fn members(manifest: &str) -> Vec<String> {
    let start = manifest.find("members = [").expect("a members list") + "members = [".len();
    let end = start + manifest[start..].find(']').unwrap();
    manifest[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

/// The `name = "..."` of a crate manifest's `[package]`.
fn package_name(manifest: &str) -> String {
    let package = manifest.split("[package]").nth(1).expect("a [package]");
    let line = package
        .lines()
        .find(|l| l.trim_start().starts_with("name"))
        .expect("a name");
    line.split('"').nth(1).unwrap().to_string()
}

fn what_is_here(readme: &str) -> &str {
    let start = readme
        .find("## What is here")
        .expect("a What is here section");
    let rest = &readme[start + 3..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn the_readme_names_every_crate() {
    let root = root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = what_is_here(&readme);
    let members = members(&manifest);
    assert!(members.len() >= 10, "{members:?}");
    for member in &members {
        let name =
            package_name(&std::fs::read_to_string(root.join(member).join("Cargo.toml")).unwrap());
        assert!(
            section.contains(&format!("`{member}/`")),
            "README's What is here does not name the directory {member}/"
        );
        assert!(
            section.contains(&format!("`{name}`")),
            "README's What is here does not name the crate {name} ({member}/)"
        );
    }
}

#[test]
fn every_crate_directory_the_readme_names_exists() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for entry in what_is_here(&readme).split("**`").skip(1) {
        let dir = entry.split('`').next().unwrap();
        assert!(
            root.join(dir).is_dir(),
            "README's What is here names {dir}, which does not exist"
        );
    }
}
