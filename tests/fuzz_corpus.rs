//! Replays the fuzz corpus on stable Rust, without cargo-fuzz.
//!
//! `fuzz/src/targets.rs` holds the bodies of the libFuzzer targets as plain
//! functions; this test feeds every file of `fuzz/corpus/<target>/` through
//! the same functions, then a few deterministic mutations of each file (a
//! small fuzz pass that needs no libFuzzer). `fuzz/regressions/<target>/`
//! holds the inputs of past findings; they replay too. Fuzzing itself:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run <target>` in `fuzz/` (see SECURITY.md).

#[path = "../fuzz/src/targets.rs"]
pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Mutations tried per corpus file.
const MUTATIONS: usize = 4;

/// The files of `fuzz/<dir>/<target>/` (none when it does not exist).
fn files(dir: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The minimized corpus, plus the inputs of past findings in
/// `fuzz/regressions/<target>/` (kept apart so `cargo fuzz cmin` cannot drop them).
fn corpus(target: &str) -> Vec<PathBuf> {
    let mut all = files("corpus", target);
    all.extend(files("regressions", target));
    all
}

/// A small xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips a bit, overwrites a byte with an interesting one, deletes a range,
/// or duplicates a range — libFuzzer's simplest mutations.
fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    if out.is_empty() {
        out.push(rng.next() as u8);
        return out;
    }
    let at = rng.below(out.len());
    match rng.below(4) {
        0 => out[at] ^= 1 << rng.below(8),
        1 => {
            const INTERESTING: &[u8] = b";=\"{}()\n\\\0\xff%";
            out[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => {
            let len = rng.below(out.len() - at) + 1;
            out.drain(at..at + len);
        }
        _ => {
            let len = rng.below((out.len() - at).min(64)) + 1;
            let piece = out[at..at + len].to_vec();
            let to = rng.below(out.len() + 1);
            out.splice(to..to, piece);
        }
    }
    out
}

/// Runs `run` over every corpus file and its mutations; fails naming every
/// input that panicked.
fn replay(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= 10,
        "fuzz/corpus/{target} holds only {} files; the corpus is missing",
        files.len()
    );
    let mut rng = Rng(0x5e55_1011_f022_c0de);
    let mut failures = Vec::new();
    let mut runs = 0;
    for file in &files {
        let input = std::fs::read(file).expect("corpus file");
        let mut inputs = vec![input.clone()];
        inputs.extend((0..MUTATIONS).map(|_| mutate(&input, &mut rng)));
        for (i, bytes) in inputs.iter().enumerate() {
            runs += 1;
            if catch_unwind(AssertUnwindSafe(|| run(bytes))).is_err() {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                failures.push(match i {
                    0 => format!("{name}"),
                    _ => format!("{name}, mutation {i}: {:?}", String::from_utf8_lossy(bytes)),
                });
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{target}: {} of {runs} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{target}: {} corpus files, {runs} inputs, all passed",
        files.len()
    );
}

#[test]
fn cookie_header_corpus() {
    replay("cookie", targets::cookie_header);
}

#[test]
fn tera_rewrite_corpus() {
    replay("tera_rewrite", targets::tera_rewrite);
}

#[test]
fn session_json_corpus() {
    replay("session_json", targets::session_json);
}

/// The replay is only as good as the corpus: some of its cookies must be
/// sealed under the fuzz secret and still open (they are sealed for 100
/// years), or it exercises nothing beyond the rejection path.
#[test]
fn the_cookie_corpus_holds_cookies_that_open() {
    let opening = corpus("cookie")
        .iter()
        .filter(|file| targets::keys_opened(&std::fs::read(file).expect("corpus file")) > 0)
        .count();
    assert!(
        opening >= 5,
        "only {opening} files of fuzz/corpus/cookie hold a cookie that opens; \
         reseed with `cargo run --manifest-path fuzz/Cargo.toml --example seed`"
    );
}

/// The seeds, generated afresh (new nonces, new expiry), pass too.
#[test]
fn freshly_generated_seeds_pass() {
    let seeds = targets::seeds();
    assert!(seeds.len() > 100);
    for (target, name, bytes) in seeds {
        let run = match target {
            "cookie" => targets::cookie_header,
            "session_json" => targets::session_json,
            other => panic!("a seed for an unknown target {other}"),
        };
        if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
            panic!("seed {target}/{name} failed");
        }
    }
}
