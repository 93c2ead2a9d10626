//! The template files under a directory: what both engines load, and the
//! stamp that tells a reloading engine whether any of them changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::TemplateLoadError;

/// How deep directories may nest (a symlink pointing at its own parent would
/// otherwise recurse for ever).
const MAX_DEPTH: usize = 32;

/// One template file: its name (the path relative to the directory, with `/`
/// separators) and its text.
#[derive(Debug)]
pub(super) struct TemplateFile {
    pub(super) name: String,
    pub(super) source: String,
}

/// What identifies the state of the files: each name with the file's
/// modification time and size. Two equal stamps mean nothing was added,
/// removed or (as far as the file system tells) edited.
pub(super) type Stamp = Vec<(String, Option<SystemTime>, u64)>;

/// Every template under `dir`, sorted by name, and the stamp they were read
/// at (taken before reading, so that an edit racing with the read shows as a
/// change next time).
///
/// Every regular file is a template, except names starting with `.` (editor
/// swap files, `.DS_Store`; MiniJinja's `path_loader` refuses such names
/// too). Symbolic links are followed.
pub(super) fn collect(dir: &Path) -> Result<(Vec<TemplateFile>, Stamp), TemplateLoadError> {
    let stamp = stamp(dir)?;
    let mut templates = Vec::with_capacity(stamp.len());
    walk(dir, &mut |name, path, _| {
        let bytes = fs::read(path).map_err(|source| TemplateLoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let source = String::from_utf8(bytes).map_err(|_| TemplateLoadError::NotUtf8 {
            path: path.to_owned(),
        })?;
        templates.push(TemplateFile { name, source });
        Ok(())
    })?;
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((templates, stamp))
}

/// The stamp of the templates under `dir`, reading no file.
pub(super) fn stamp(dir: &Path) -> Result<Stamp, TemplateLoadError> {
    let mut stamp = Vec::new();
    walk(dir, &mut |name, _, metadata| {
        stamp.push((name, metadata.modified().ok(), metadata.len()));
        Ok(())
    })?;
    stamp.sort();
    Ok(stamp)
}

type Visit<'a> = dyn FnMut(String, &Path, &fs::Metadata) -> Result<(), TemplateLoadError> + 'a;

/// Calls `visit` with the name, path and metadata of every template file
/// under `dir`.
fn walk(dir: &Path, visit: &mut Visit<'_>) -> Result<(), TemplateLoadError> {
    let metadata = fs::metadata(dir).map_err(|source| TemplateLoadError::Io {
        path: dir.to_owned(),
        source,
    })?;
    if !metadata.is_dir() {
        return Err(TemplateLoadError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    walk_in(dir, "", 0, visit)
}

fn walk_in(
    dir: &Path,
    prefix: &str,
    depth: usize,
    visit: &mut Visit<'_>,
) -> Result<(), TemplateLoadError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TemplateLoadError::Io { path, source }
    };
    if depth > MAX_DEPTH {
        return Err(TemplateLoadError::TooDeep {
            path: dir.to_owned(),
        });
    }
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            return Err(TemplateLoadError::NotUtf8 { path: entry.path() });
        };
        if file_name.starts_with('.') {
            continue;
        }
        let path: PathBuf = entry.path();
        // `fs::metadata` follows a symbolic link to what it points at.
        let metadata = fs::metadata(&path).map_err(io(&path))?;
        let name = format!("{prefix}{file_name}");
        if metadata.is_dir() {
            walk_in(&path, &format!("{name}/"), depth + 1, visit)?;
        } else if metadata.is_file() {
            visit(name, &path, &metadata)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("session-views-files-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn names_are_relative_with_slashes_sorted_and_skip_dot_files() {
        let dir = scratch("names");
        fs::create_dir_all(dir.join("helpers/deep")).expect("dirs");
        fs::create_dir_all(dir.join(".git")).expect("dirs");
        for (file, text) in [
            ("index.html", "i"),
            ("helpers/messages.html", "m"),
            ("helpers/deep/x.txt", "x"),
            (".index.html.swp", "swap"),
            (".git/HEAD", "ref"),
        ] {
            fs::write(dir.join(file), text).expect("write");
        }
        let (templates, stamp) = collect(&dir).expect("collects");
        let names: Vec<_> = templates.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["helpers/deep/x.txt", "helpers/messages.html", "index.html"]
        );
        assert_eq!(templates[1].source, "m");
        assert_eq!(stamp.len(), 3);
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn the_stamp_changes_when_a_file_is_added_edited_or_removed() {
        let dir = scratch("stamp");
        fs::write(dir.join("a.html"), "a").expect("write");
        let first = stamp(&dir).expect("stamp");
        assert_eq!(stamp(&dir).expect("stamp"), first);
        fs::write(dir.join("a.html"), "longer").expect("edit");
        let edited = stamp(&dir).expect("stamp");
        assert_ne!(edited, first);
        fs::write(dir.join("b.html"), "b").expect("add");
        let added = stamp(&dir).expect("stamp");
        assert_ne!(added, edited);
        fs::remove_file(dir.join("b.html")).expect("remove");
        assert_eq!(stamp(&dir).expect("stamp"), edited);
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_missing_directory_a_file_and_binary_files_are_clear_errors() {
        let dir = scratch("errors");
        let missing = dir.join("nope");
        let err = collect(&missing).expect_err("missing");
        assert!(err.to_string().contains("nope"), "{err}");
        fs::write(dir.join("file.html"), "x").expect("write");
        let err = collect(&dir.join("file.html")).expect_err("not a dir");
        assert!(err.to_string().contains("not a directory"), "{err}");
        fs::write(dir.join("logo.png"), [0x89, 0x50, 0xff, 0xfe]).expect("write");
        let err = collect(&dir).expect_err("binary");
        assert!(err.to_string().contains("logo.png"), "{err}");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_an_error_not_a_hang() {
        let dir = scratch("loop");
        std::os::unix::fs::symlink(&dir, dir.join("again")).expect("symlink");
        let err = collect(&dir).expect_err("loop");
        assert!(err.to_string().contains("nested"), "{err}");
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
