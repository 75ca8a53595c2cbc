//! The SDK carries its own copy of the WIT contract (`sdk/wit/`, so the crate
//! can be published without a path outside it); the canonical contract, the one
//! the host is built from, is the repository's `wit/`. The two must not drift:
//! every file of `sdk/wit/` is byte for byte the file at the same path under
//! `wit/`, and every `.wit` file of `wit/` is in `sdk/wit/`.
//!
//! Repository-only: the published crate has no `../wit`, so this test is left
//! out of the package (`exclude` in `sdk/Cargo.toml`).

use std::fs;
use std::path::{Path, PathBuf};

/// Every file below `dir` (relative to it, sorted), symbolic links not followed
/// and `deps/` folders skipped (a dependency is a package of its own, beside
/// the one that imports it).
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.expect("directory entry");
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                if entry.file_name() != "deps" {
                    walk(root, &path, out);
                }
            } else if kind.is_file() {
                out.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn the_sdk_wit_is_a_copy_of_the_canonical_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    let canonical = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let copied = files(&sdk);
    assert!(!copied.is_empty(), "{} is empty", sdk.display());
    for file in &copied {
        let ours = fs::read(sdk.join(file)).expect("read the SDK's copy");
        let theirs = fs::read(canonical.join(file)).unwrap_or_else(|e| {
            panic!(
                "sdk/wit/{} has no counterpart wit/{} ({e})",
                file.display(),
                file.display()
            )
        });
        assert!(
            ours == theirs,
            "sdk/wit/{} differs from wit/{}: copy it again (`cp wit/{} sdk/wit/{}`); \
             a released contract folder is never edited",
            file.display(),
            file.display(),
            file.display(),
            file.display()
        );
    }
    for file in files(&canonical) {
        if file.extension().is_some_and(|e| e == "wit") {
            assert!(
                copied.contains(&file),
                "wit/{} is not in sdk/wit/: copy it (`mkdir -p sdk/wit/… && cp wit/{} sdk/wit/{}`)",
                file.display(),
                file.display(),
                file.display()
            );
        }
    }
}
