//! Writes the seed inputs into `fuzz/corpus/<target>/`: the generated ones
//! (sealed cookies, session JSON) and, for the Tera rewriter, the project's
//! templates and rewrite fixtures.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed`

use std::fs;
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = fuzz.join("corpus");
    let mut written = 0;
    for (target, name, bytes) in session_views_fuzz::seeds() {
        let dir = corpus.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes)?;
        written += 1;
    }
    let root = fuzz.parent().expect("fuzz/ sits in the workspace");
    let tera = corpus.join("tera_rewrite");
    fs::create_dir_all(&tera)?;
    for dir in ["templates", "crates/session-tera/tests/fixtures"] {
        for file in html_files(&root.join(dir))? {
            let name = file
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('/', "_");
            fs::copy(&file, tera.join(format!("seed-{name}")))?;
            written += 1;
        }
    }
    println!("wrote {written} seeds under {}", corpus.display());
    Ok(())
}

fn html_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(html_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
    Ok(out)
}
