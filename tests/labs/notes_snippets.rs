//! The code the notes show is the code in the repository.
//!
//! Every ```` ```rust ```` block in `README.md` and `notes/*.md` either shows
//! a bug on purpose (its first line starts with `// WRONG`) and is skipped,
//! or names where its lines come from on its first line:
//!
//! ```text
//! // src/raft/election.rs, vote_thread
//! ```
//!
//! and then every code line of the block must be found in that file, in
//! order, each right after the one before (blank and comment-only lines do
//! not count, on either side). A line starting `// ...` marks an elision:
//! the next line may come any distance later. Comments at the end of a line are the
//! note's own and are not compared; a source file's doc comments (`//!`,
//! `///`) are read as code, so a note may quote a doc example.
//!
//! Change a quoted line in the source and this test names the note, the
//! block and the line that no longer matches.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first line of a block that shows wrong code on purpose.
const WRONG: &str = "// WRONG";
/// A line of a block saying that lines of the source are left out here.
const ELISION: &str = "// ...";

/// One fenced Rust block of a note.
#[derive(Debug)]
struct Block {
    /// The note's 1-based line number of the opening fence.
    line: usize,
    lines: Vec<String>,
}

/// The ```` ```rust ```` blocks of a Markdown text.
fn rust_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) if line.trim() == "```rust" => {
                open = Some(Block {
                    line: i + 1,
                    lines: Vec::new(),
                })
            }
            (None, true) => {
                open = Some(Block {
                    line: 0,
                    lines: Vec::new(),
                })
            } // another language
            (Some(_), true) => {
                let b = open.take().expect("open");
                if b.line != 0 {
                    blocks.push(b);
                }
            }
            (Some(b), false) => b.lines.push(line.to_string()),
            (None, false) => {}
        }
    }
    blocks
}

/// A line as compared: trimmed, a doc comment's marker taken off, a comment
/// at the end cut, and empty if nothing but a comment is left.
fn code_of(line: &str) -> String {
    let mut s = line.trim();
    for doc in ["//!", "///"] {
        if let Some(rest) = s.strip_prefix(doc) {
            s = rest.trim();
        }
    }
    if s.starts_with("//") {
        return String::new();
    }
    match s.find(" //") {
        Some(i) => s[..i].trim_end().to_string(),
        None => s.to_string(),
    }
}

/// What a block claims: the file it quotes, or that it shows a bug.
enum Claim {
    Wrong,
    Quotes(PathBuf),
}

fn claim_of(block: &Block) -> Result<Claim, String> {
    let first = block.lines.first().map(|l| l.trim()).unwrap_or("");
    if first.starts_with(WRONG) {
        return Ok(Claim::Wrong);
    }
    let named = first
        .strip_prefix("// ")
        .map(|rest| rest.split([',', ':', ' ']).next().unwrap_or(""))
        .filter(|p| p.ends_with(".rs"));
    match named {
        Some(path) => Ok(Claim::Quotes(PathBuf::from(path))),
        None => Err(format!(
            "the first line must name the quoted file (`// src/raft/election.rs, item`) \
             or start with `{WRONG}`; it is `{first}`"
        )),
    }
}

/// Checks that the code lines of `snippet` (after its naming line) appear in
/// `source` in order, each right after the previous one unless an elision
/// marker comes between them. Returns the first snippet line that does not.
fn find_in_order(snippet: &[String], source: &str) -> Result<(), String> {
    let src: Vec<String> = source
        .lines()
        .map(code_of)
        .filter(|l| !l.is_empty())
        .collect();
    // Where the next snippet line may be found: anywhere from `from` on if a
    // gap is allowed, else exactly at `from`.
    let mut from = 0;
    let mut gap = true;
    for line in snippet {
        if line.trim().starts_with(ELISION) {
            gap = true;
            continue;
        }
        let want = code_of(line);
        if want.is_empty() {
            continue;
        }
        let found = if gap {
            src[from.min(src.len())..]
                .iter()
                .position(|l| *l == want)
                .map(|i| from + i)
        } else {
            (src.get(from) == Some(&want)).then_some(from)
        };
        match found {
            Some(i) => {
                from = i + 1;
                gap = false;
            }
            None if gap => {
                return Err(format!(
                    "`{want}` is not in the file after the lines before it"
                ))
            }
            None => {
                return Err(format!(
                    "`{want}` does not come right after the line before it (the file has `{}`; \
                     mark a gap with `{ELISION}`)",
                    src.get(from).map_or("the end of the file", |s| s.as_str())
                ))
            }
        }
    }
    Ok(())
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose Rust blocks are checked.
fn notes() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("notes"))
        .expect("notes/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    files
}

/// Checks every Rust block of one note; returns how many quote the source
/// and how many show a bug, or the problems found.
fn check_note(note: &Path, root: &Path) -> Result<(usize, usize), String> {
    let text = std::fs::read_to_string(note).map_err(|e| format!("{}: {e}", note.display()))?;
    let (mut quoted, mut wrong) = (0, 0);
    let mut problems = String::new();
    for block in rust_blocks(&text) {
        let here = format!("{}:{}", note.display(), block.line);
        match claim_of(&block) {
            Ok(Claim::Wrong) => wrong += 1,
            Ok(Claim::Quotes(path)) => match std::fs::read_to_string(root.join(&path)) {
                Ok(source) => match find_in_order(&block.lines[1..], &source) {
                    Ok(()) => quoted += 1,
                    Err(why) => writeln!(problems, "{here} ({}): {why}", path.display()).unwrap(),
                },
                Err(e) => {
                    writeln!(problems, "{here}: cannot read {}: {e}", path.display()).unwrap()
                }
            },
            Err(why) => writeln!(problems, "{here}: {why}").unwrap(),
        }
    }
    if problems.is_empty() {
        Ok((quoted, wrong))
    } else {
        Err(problems)
    }
}

#[test]
fn code_in_the_notes_matches_the_source() {
    let root = repo_root();
    let (mut quoted, mut wrong) = (0, 0);
    let mut problems = String::new();
    for note in notes() {
        match check_note(&note, &root) {
            Ok((q, w)) => {
                quoted += q;
                wrong += w;
            }
            Err(p) => problems.push_str(&p),
        }
    }
    assert!(
        problems.is_empty(),
        "code in the notes differs from the source:\n{problems}"
    );
    assert!(
        quoted > 0,
        "no quoted block found: is the fence still ```rust?"
    );
    eprintln!("info: {quoted} blocks quote the source and match; {wrong} show a bug on purpose");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str =
        "fn f() {\n    let a = 1; // why\n\n    // a comment\n    let b = 2;\n    let c = 3;\n}\n";

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn consecutive_lines_must_be_consecutive_in_the_source() {
        assert!(find_in_order(&lines(&["let a = 1;", "let b = 2;"]), SOURCE).is_ok());
        let err = find_in_order(&lines(&["let a = 1;", "let c = 3;"]), SOURCE).unwrap_err();
        assert!(err.contains("right after"), "{err}");
        assert!(find_in_order(&lines(&["let a = 1;", "// ...", "let c = 3;"]), SOURCE).is_ok());
    }

    #[test]
    fn a_changed_line_is_caught() {
        let err = find_in_order(&lines(&["let a = 1;", "let b = 3;"]), SOURCE).unwrap_err();
        assert!(err.contains("let b = 3;"), "{err}");
        assert!(
            find_in_order(&lines(&["let c = 3;", "let b = 2;"]), SOURCE).is_err(),
            "order"
        );
    }

    #[test]
    fn comments_are_the_notes_own_and_doc_examples_count_as_code() {
        assert!(find_in_order(&lines(&["let a = 1;    // the note says why"]), SOURCE).is_ok());
        let doc = "//! ```\n//! let x = f(); // doc\n//! ```\n";
        assert!(find_in_order(&lines(&["let x = f();"]), doc).is_ok());
    }

    #[test]
    fn a_block_names_its_file_or_says_it_is_wrong() {
        let md = "text\n```rust\n// src/raft/mod.rs, kill\nlet x = 1;\n```\n```sh\nls\n```\n```rust\n// WRONG: no lock\n```\n```rust\nlet y = 2;\n```\n";
        let blocks = rust_blocks(md);
        assert_eq!(blocks.len(), 3);
        assert!(
            matches!(claim_of(&blocks[0]), Ok(Claim::Quotes(p)) if p == Path::new("src/raft/mod.rs"))
        );
        assert!(matches!(claim_of(&blocks[1]), Ok(Claim::Wrong)));
        assert!(claim_of(&blocks[2]).is_err());
    }
}
