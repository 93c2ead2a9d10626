//! Finding the template files under a directory or matching a glob.

use std::path::{Path, PathBuf};

use globset::GlobBuilder;
use walkdir::WalkDir;

/// The templates under a directory, or matching a glob, as (name, source),
/// sorted by name. Names are paths relative to the directory (or the glob's
/// directory part), with `/` separators, as `Tera::new` names them.
pub(super) fn collect(dir_or_glob: &str) -> Result<Vec<(String, String)>, String> {
    let (base, matcher) = match dir_or_glob.find(['*', '?', '[', '{']) {
        Some(first_meta) => {
            let split = dir_or_glob[..first_meta]
                .rfind(std::path::is_separator)
                .map_or(0, |i| i + 1);
            let (base, pattern) = dir_or_glob.split_at(split);
            let matcher = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("invalid template glob `{dir_or_glob}`: {e}"))?
                .compile_matcher();
            let base = if base.is_empty() { "." } else { base };
            (PathBuf::from(base), Some(matcher))
        }
        None => (PathBuf::from(dir_or_glob), None),
    };
    if !base.is_dir() {
        return Err(format!(
            "template directory `{}` (from `{dir_or_glob}`) does not exist or is not a directory",
            base.display()
        ));
    }
    let mut templates = Vec::new();
    for entry in WalkDir::new(&base).follow_links(true) {
        let entry = entry.map_err(|e| format!("cannot list templates in `{dir_or_glob}`: {e}"))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let name = template_name(&base, entry.path());
        if matcher.as_ref().is_some_and(|m| !m.is_match(&name)) {
            continue;
        }
        let source = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read template `{}`: {e}", entry.path().display()))?;
        templates.push((name, source));
    }
    templates.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(templates)
}

fn template_name(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::collect;

    fn names(dir_or_glob: &str) -> Vec<String> {
        collect(dir_or_glob)
            .expect("loads")
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn directory_and_globs_name_templates_like_tera() {
        let root =
            std::env::temp_dir().join(format!("session-tera-collect-{}", std::process::id()));
        std::fs::create_dir_all(root.join("helpers/deep")).expect("temp dir");
        for file in [
            "index.html",
            "notes.txt",
            "helpers/messages.html",
            "helpers/deep/x.html",
        ] {
            std::fs::write(root.join(file), file).expect("write");
        }
        let root_str = root.to_str().expect("utf-8");
        assert_eq!(
            names(root_str),
            [
                "helpers/deep/x.html",
                "helpers/messages.html",
                "index.html",
                "notes.txt"
            ]
        );
        assert_eq!(
            names(&format!("{root_str}/**/*.html")),
            ["helpers/deep/x.html", "helpers/messages.html", "index.html"]
        );
        assert_eq!(names(&format!("{root_str}/*.html")), ["index.html"]);
        assert_eq!(names(&format!("{root_str}/helpers/*")), ["messages.html"]);
        assert_eq!(
            names(&format!("{root_str}/help*/*.html")),
            ["helpers/messages.html"]
        );
        let (_, source) = &collect(&format!("{root_str}/*.txt")).expect("loads")[0];
        assert_eq!(source, "notes.txt");
        assert!(collect("/no/such/dir").is_err());
        assert!(collect(&format!("{root_str}/[")).is_err());
        std::fs::remove_dir_all(&root).expect("clean up");
    }
}
