//! Kv histories as JSON lines, so that a history recorded anywhere (a Go
//! kvraft, another store, this project's tests) can be checked with the
//! `lincheck` command. One object per line:
//!
//! ```text
//! {"client":0,"op":"append","key":"k","value":"x 0 1 y","call":1200,"return":3400}
//! {"client":1,"op":"get","key":"k","output":"x 0 1 y","call":3500,"return":3900}
//! ```
//!
//! `value` is what a put or append wrote, `output` what a get returned (both
//! default to ""); `call` and `return` are integers in any unit that grows
//! with time. Fields other than these are refused, so a misspelt
//! `"ouptut"` is an error, not a get that read "".
//!
//! Reading and writing lines needs serde_json, which only the tools use:
//! those functions exist with the default `tools` feature.

use super::kv::{KvInput, KvOp, KvOperation, KvOutput};
use super::Operation;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One operation of a history file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryLine {
    /// Which client did it.
    pub client: usize,
    /// `get`, `put` or `append`.
    pub op: KvOp,
    /// The key.
    pub key: String,
    /// What a put or append wrote.
    #[serde(default)]
    pub value: String,
    /// What a get returned.
    #[serde(default)]
    pub output: String,
    /// When it was called.
    pub call: i64,
    /// When it returned (at or after `call`).
    #[serde(rename = "return")]
    pub ret: i64,
}

/// What is wrong with a history file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based line number (0: not about one line).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

impl std::error::Error for HistoryError {}

impl HistoryLine {
    /// The operation the checker takes, or why this line cannot be one.
    pub fn to_operation(&self) -> Result<KvOperation, String> {
        if self.ret < self.call {
            return Err(format!(
                "\"return\" ({}) is before \"call\" ({})",
                self.ret, self.call
            ));
        }
        // A put's or append's "output" and a get's "value" mean nothing to the
        // model and are ignored, as porcupine's kv model does (histories
        // converted from other tools often record "OK" as a write's output).
        Ok(Operation {
            client_id: self.client,
            input: KvInput {
                op: self.op,
                key: self.key.as_str().into(),
                value: self.value.as_str().into(),
            },
            call: self.call,
            output: KvOutput::new(&self.output),
            ret: self.ret,
        })
    }
}

/// Reads a history: one [`HistoryLine`] per line; blank lines are skipped.
#[cfg(feature = "tools")]
pub fn read_history(reader: impl std::io::BufRead) -> Result<Vec<KvOperation>, HistoryError> {
    read_history_lines(reader).map(|(ops, _)| ops)
}

/// [`read_history`], with the line of the file each operation came from
/// (1-based; blank lines are skipped, so the two can differ), for saying
/// where in the file a history breaks.
#[cfg(feature = "tools")]
pub fn read_history_lines(
    reader: impl std::io::BufRead,
) -> Result<(Vec<KvOperation>, Vec<usize>), HistoryError> {
    let (mut ops, mut lines) = (Vec::new(), Vec::new());
    for_each_json_line(reader, |parsed: HistoryLine, line| {
        ops.push(parsed.to_operation()?);
        lines.push(line);
        Ok(())
    })?;
    Ok((ops, lines))
}

/// The lines of a history file as written, values and all (a tool that
/// looks for the values themselves, not only their fingerprints).
#[cfg(feature = "tools")]
pub fn read_raw_history(reader: impl std::io::BufRead) -> Result<Vec<HistoryLine>, HistoryError> {
    let mut lines = Vec::new();
    for_each_json_line(reader, |line: HistoryLine, _| {
        lines.push(line);
        Ok(())
    })?;
    Ok(lines)
}

/// Reads annotations (faults, phases, failed checks) as JSON lines, one
/// [`Annotation`](super::visualize::Annotation) per line:
/// `{"time":1200,"end":3400,"kind":"partition","text":"[0 1 2] | [3 4]"}`
/// (`end` only for a band), on the history's clock. Blank lines are skipped.
#[cfg(feature = "tools")]
pub fn read_annotations(
    reader: impl std::io::BufRead,
) -> Result<Vec<super::visualize::Annotation>, HistoryError> {
    let mut out = Vec::new();
    for_each_json_line(reader, |a: super::visualize::Annotation, _| {
        if let Some(end) = a.end.filter(|&end| end < a.time) {
            return Err(format!("\"end\" ({end}) is before \"time\" ({})", a.time));
        }
        out.push(a);
        Ok(())
    })?;
    Ok(out)
}

/// Decodes each non-blank line of `reader` as a `T` and hands it to `each`
/// with its line number (1-based); the first line that cannot be read or
/// decoded, or that `each` refuses, ends the reading with its number and why.
#[cfg(feature = "tools")]
fn for_each_json_line<T: serde::de::DeserializeOwned>(
    reader: impl std::io::BufRead,
    mut each: impl FnMut(T, usize) -> Result<(), String>,
) -> Result<(), HistoryError> {
    for (i, line) in reader.split(b'\n').enumerate() {
        let at = |reason: String| HistoryError {
            line: i + 1,
            reason,
        };
        let bytes = line.map_err(|e| at(format!("cannot read: {e}")))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| at(format!("not UTF-8 (byte {})", e.valid_up_to() + 1)))?;
        if text.trim().is_empty() {
            continue;
        }
        let value: T = serde_json::from_str(text).map_err(|e| at(e.to_string()))?;
        each(value, i + 1).map_err(at)?;
    }
    Ok(())
}

/// One line of a history file, without its newline.
#[cfg(feature = "tools")]
pub fn to_json_line(line: &HistoryLine) -> String {
    serde_json::to_string(line).expect("a HistoryLine always serializes")
}

#[cfg(all(test, feature = "tools"))]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<KvOperation>, HistoryError> {
        read_history(text.as_bytes())
    }

    #[test]
    fn reads_what_it_writes() {
        let line = HistoryLine {
            client: 3,
            op: KvOp::Get,
            key: "k\"1".into(),
            value: String::new(),
            output: "a\nb".into(),
            call: 5,
            ret: 9,
        };
        let text = format!("{}\n\n", to_json_line(&line));
        let ops = read(&text).unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].input.key, "k\"1");
        assert_eq!(ops[0].output, KvOutput::new("a\nb"));
        assert_eq!((ops[0].call, ops[0].ret, ops[0].client_id), (5, 9, 3));
    }

    #[test]
    fn bad_lines_are_named_with_their_number_and_reason() {
        let good = r#"{"client":0,"op":"put","key":"k","value":"v","call":1,"return":2}"#;
        let cases = [
            ("{\"client\":0", "EOF"),
            (
                r#"{"client":0,"op":"delete","key":"k","call":1,"return":2}"#,
                "unknown variant",
            ),
            (
                r#"{"client":0,"op":"get","key":"k","ouptut":"v","call":1,"return":2}"#,
                "unknown field",
            ),
            (
                r#"{"client":0,"op":"get","key":"k","call":5,"return":2}"#,
                "before",
            ),
            (
                r#"{"client":-1,"op":"get","key":"k","call":1,"return":2}"#,
                "invalid value",
            ),
            (
                r#"{"client":0,"op":"get","key":"k","call":1.5,"return":2}"#,
                "invalid type",
            ),
            (
                r#"{"client":0,"op":"get","key":"k","call":1}"#,
                "missing field",
            ),
        ];
        for (bad, why) in cases {
            let err = read(&format!("{good}\n{bad}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{bad}");
            assert!(err.reason.contains(why), "{bad}: {err}");
        }
        // "Get" and "GET" are read as "get" (other tools capitalize).
        let ops = read(r#"{"client":0,"op":"GET","key":"k","call":1,"return":2}"#).unwrap();
        assert_eq!(ops[0].input.op, KvOp::Get);
        // A write's output and a get's value are ignored, not refused.
        let ops = read(
            r#"{"client":0,"op":"put","key":"k","value":"v","output":"OK","call":1,"return":2}"#,
        )
        .unwrap();
        assert_eq!(ops[0].output, KvOutput::new("OK"));
        let err = read_history(&b"\xff\xfe\n"[..]).unwrap_err();
        assert_eq!(err.to_string(), "line 1: not UTF-8 (byte 1)");
    }
}
