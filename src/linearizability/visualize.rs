//! A self-contained HTML page showing a checked history: per partition (per
//! key), each client's operations on a time axis, numbered in the order of the
//! longest partial linearization the search found; the operations it could
//! not place are drawn in red. No scripts, no external files.

use super::search::LinearizationInfo;
use super::{Model, Operation};
use std::fmt::Write as _;
use std::path::Path;

const WIDTH: f64 = 1100.0;
const ROW: f64 = 30.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the page for `history` (checked with `info`) to `path`.
pub fn visualize<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
    path: &Path,
) -> std::io::Result<()> {
    std::fs::write(path, render(model, history, info))
}

fn render<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>linearizability check</title><style>\
         body{font-family:sans-serif;margin:20px} h2{margin-top:32px} .bad{color:#b00} .ok{color:#070}\
         svg{border:1px solid #ccc;background:#fafafa} li{font-family:monospace}\
         </style></head><body><h1>Linearizability check</h1>\
         <p>Each bar is one operation, from its call to its return, on its client's row. Numbered green \
         bars are the longest order found that explains their outputs; red bars could not be added to it \
         (at least one of them saw a value no order allows). Hover a bar for details.</p>",
    );
    // Illegal partitions first: they are why anyone opens this page.
    let mut parts: Vec<_> = info.partitions.iter().enumerate().collect();
    parts.sort_by_key(|(_, p)| p.ok);
    for (k, part) in parts {
        let best = part
            .longest
            .iter()
            .max_by_key(|l| l.len())
            .cloned()
            .unwrap_or_default();
        let position = |i: usize| best.iter().position(|&b| b == i);
        let ops: Vec<&Operation<M::Input, M::Output>> =
            part.ops.iter().map(|&i| &history[i]).collect();
        let t0 = ops.iter().map(|o| o.call).min().unwrap_or(0);
        let t1 = ops.iter().map(|o| o.ret).max().unwrap_or(1).max(t0 + 1);
        let x = |t: i64| 10.0 + (t - t0) as f64 / (t1 - t0) as f64 * (WIDTH - 20.0);
        let mut clients: Vec<usize> = ops.iter().map(|o| o.client_id).collect();
        clients.sort_unstable();
        clients.dedup();
        let height = ROW * clients.len() as f64 + 40.0;
        let (class, verdict) = if part.ok {
            ("ok", "linearizable")
        } else {
            ("bad", "NOT linearizable")
        };
        let _ = write!(
            html,
            "<h2 class=\"{class}\">Partition {k}: {verdict} ({} operations)</h2>",
            ops.len()
        );
        let _ = write!(
            html,
            "<svg width=\"{WIDTH}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">"
        );
        for (row, c) in clients.iter().enumerate() {
            let y = 20.0 + ROW * row as f64;
            let _ = write!(
                html,
                "<text x=\"2\" y=\"{}\" font-size=\"9\" fill=\"#888\">c{c}</text>",
                y - 2.0
            );
        }
        for (i, op) in ops.iter().enumerate() {
            let row = clients.iter().position(|&c| c == op.client_id).unwrap_or(0);
            let y = 20.0 + ROW * row as f64;
            let (x0, x1) = (x(op.call), x(op.ret).max(x(op.call) + 3.0));
            let desc = escape(&model.describe_operation(&op.input, &op.output));
            let (fill, label) = match position(i) {
                Some(p) => ("#9d9", format!("{}", p + 1)),
                None => ("#e88", String::from("?")),
            };
            let _ = write!(
                html,
                "<g><title>{desc}\ncall {} .. return {}</title><rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{fill}\" stroke=\"#333\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{label} {desc}</text></g>",
                op.call,
                op.ret,
                x1 - x0,
                ROW - 8.0,
                x0 + 2.0,
                y + 14.0
            );
        }
        html.push_str("</svg><h3>Longest order found</h3><ol>");
        let mut state = model.init();
        for &i in best.iter() {
            let op = ops[i];
            if let Some(next) = model.step(&state, &op.input, &op.output) {
                state = next;
            }
            let _ = write!(
                html,
                "<li>{} &nbsp; &rarr; state {}</li>",
                escape(&model.describe_operation(&op.input, &op.output)),
                escape(&model.describe_state(&state))
            );
        }
        html.push_str("</ol>");
        let left: Vec<String> = (0..ops.len())
            .filter(|&i| position(i).is_none())
            .map(|i| escape(&model.describe_operation(&ops[i].input, &ops[i].output)))
            .collect();
        if !left.is_empty() {
            let _ = write!(
                html,
                "<h3 class=\"bad\">Not placed ({})</h3><ul>",
                left.len()
            );
            for l in left {
                let _ = write!(html, "<li>{l}</li>");
            }
            html.push_str("</ul>");
        }
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::super::kv::{KvInput, KvModel, KvOp, KvOutput};
    use super::super::{check_operations_verbose, CheckResult, Operation};
    use super::*;

    #[test]
    fn an_illegal_history_renders_with_its_partial_order() {
        let h = vec![
            Operation {
                client_id: 0,
                input: KvInput {
                    op: KvOp::Put,
                    key: "x".into(),
                    value: "1".into(),
                },
                call: 0,
                output: KvOutput::new(""),
                ret: 10,
            },
            Operation {
                client_id: 1,
                input: KvInput {
                    op: KvOp::Get,
                    key: "x".into(),
                    value: String::new(),
                },
                call: 20,
                output: KvOutput::new("2"),
                ret: 30,
            },
        ];
        let (r, info) = check_operations_verbose(&KvModel, &h, None);
        assert_eq!(r, CheckResult::Illegal);
        let page = render(&KvModel, &h, &info);
        assert!(page.contains("NOT linearizable"));
        assert!(page.contains("put('x', '1')"));
        assert!(page.contains("Not placed (1)"));
        assert!(page.contains("get('x') -&gt; '2'"));
    }
}
