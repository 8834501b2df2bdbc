//! The history page: one self-contained HTML file (inline CSS and script, no
//! network) that shows a checked history the way porcupine's page does.
//!
//! Each partition (each key) gets its verdict (illegal ones first, an
//! undecided one is never drawn as illegal), a time axis, one row per
//! client, and a bar per operation from its call to its return. The bars of
//! the longest linearization the search found are numbered in its order; in
//! an illegal partition the operation that could not come next is red, and
//! the view opens on it. Zoom buttons and horizontal scrolling keep thousands
//! of operations legible; hovering a bar shows its input, output, call and
//! return times, and the model's state after it.
//!
//! Rust writes the data (as JSON, by hand: the library has no JSON crate)
//! and the page's script draws it.

use super::check::{CheckResult, LinearizationInfo, PartitionResult};
use super::{Model, Operation};
use std::fmt::Write as _;
use std::path::Path;

/// How the page labels things.
#[derive(Clone, Debug)]
pub struct PageOptions {
    /// The page's heading.
    pub title: String,
    /// The history's times are nanoseconds (shown as milliseconds); if
    /// false they are shown as the raw numbers they are.
    pub nanoseconds: bool,
    /// Where each operation came from, shown first when it is hovered (for
    /// `lincheck`: its line in the file, with the file's own call and return
    /// times, since the page counts time from the first call). Empty, or one
    /// per operation of the history.
    pub op_labels: Vec<String>,
    /// What happened beside the operations (faults, phases, failed checks).
    pub annotations: Vec<Annotation>,
    /// Parts to open and list first after any illegal one, by the name the
    /// model gives them (e.g. `key '3'` when a test's Get of "3" failed).
    pub focus: Vec<String>,
}

impl Default for PageOptions {
    fn default() -> Self {
        PageOptions {
            title: "Linearizability check".into(),
            nanoseconds: false,
            op_labels: Vec::new(),
            annotations: Vec::new(),
            focus: Vec::new(),
        }
    }
}

/// Something that happened beside the operations, drawn on the page's time
/// axis above each part's clients: a fault the tester injected (a partition,
/// a crash), a phase of the test, a check that failed. With `end` it is a band
/// (a partition until it healed, a server until it restarted), else a moment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// When it happened, on the history's clock (the unit of `call` and `return`).
    pub time: i64,
    /// When it stopped, for a band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// What kind of thing: `partition`, `crash`, `network`, `check`, `info`
    /// (the page colours these; any other word is drawn as `info`).
    pub kind: String,
    /// What the page says when it is hovered.
    pub text: String,
}

/// Writes the page for `history` (checked verbosely, giving `info`) to `path`.
pub fn visualize<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
    path: &Path,
) -> std::io::Result<()> {
    visualize_with(model, history, info, &PageOptions::default(), path)
}

/// [`visualize`] with a title and a time unit.
pub fn visualize_with<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
    options: &PageOptions,
    path: &Path,
) -> std::io::Result<()> {
    std::fs::write(path, render(model, history, info, options))
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            // "<" escaped so that no value can close the page's <script>.
            '<' => out.push_str("\\u003c"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn verdict_name(r: CheckResult) -> &'static str {
    match r {
        CheckResult::Ok => "ok",
        CheckResult::Illegal => "illegal",
        CheckResult::Unknown => "unknown",
    }
}

/// The page's data: `{verdict, ns, events: [[time, end or -1, kind, text]],
/// partitions: [{name, verdict, blocker, resets, ops: [[client, call, ret,
/// position, bar, input, output, state, label]]}]}`, times relative to the
/// history's first call.
fn data_json<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
    options: &PageOptions,
) -> String {
    let nanoseconds = options.nanoseconds;
    let t0 = history.iter().map(|o| o.call).min().unwrap_or(0);
    let named = |p: &PartitionResult| model.describe_partition(history, &p.ops);
    let focused = |p: &PartitionResult| options.focus.contains(&named(p));
    let mut parts: Vec<_> = info.partitions.iter().collect();
    // Illegal first, then the parts in focus, then undecided, then ok: the
    // page opens on what matters.
    parts.sort_by_key(|p| match p.result {
        CheckResult::Illegal => 0,
        _ if focused(p) => 1,
        CheckResult::Unknown => 2,
        CheckResult::Ok => 3,
    });
    let verdict = parts.first().map_or(CheckResult::Ok, |p| p.result);
    let mut out = format!(
        "{{\"verdict\":\"{}\",\"ns\":{nanoseconds},\"events\":[",
        verdict_name(verdict)
    );
    for (k, a) in options.annotations.iter().enumerate() {
        let _ = write!(
            out,
            "{}[{},{},{},{}]",
            if k > 0 { "," } else { "" },
            a.time - t0,
            a.end.map_or(-1, |e| (e - t0).max(a.time - t0)),
            json_str(&a.kind),
            json_str(&a.text),
        );
    }
    out.push_str("],\"partitions\":[");
    for (k, part) in parts.iter().enumerate() {
        let run: Vec<_> = part.linearization.iter().map(|&i| &history[i]).collect();
        let states = model.describe_run(&run);
        let mut position = std::collections::HashMap::new();
        for (n, &i) in part.linearization.iter().enumerate() {
            position.insert(i, n);
        }
        let blocker = part
            .blocker
            .and_then(|b| part.ops.iter().position(|&i| i == b));
        let _ = write!(
            out,
            "{}{{\"name\":{},\"focus\":{},\"verdict\":\"{}\",\"blocker\":{},\"resets\":{},\"ops\":[",
            if k > 0 { "," } else { "" },
            json_str(&named(part)),
            focused(part),
            verdict_name(part.result),
            blocker.map_or(-1, |b| b as i64),
            part.memo_resets,
        );
        for (j, &i) in part.ops.iter().enumerate() {
            let op = &history[i];
            let pos = position.get(&i).copied();
            let state = pos.and_then(|n| states.get(n)).map_or("", String::as_str);
            let label = options.op_labels.get(i).map_or("", String::as_str);
            let _ = write!(
                out,
                "{}[{},{},{},{},{},{},{},{},{}]",
                if j > 0 { "," } else { "" },
                op.client_id,
                op.call.saturating_sub(t0),
                op.ret.saturating_sub(t0),
                pos.map_or(-1, |n| n as i64),
                json_str(&model.describe_operation(&op.input, &op.output)),
                json_str(&model.describe_input(&op.input)),
                json_str(&model.describe_output(&op.output)),
                json_str(state),
                json_str(label),
            );
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    out
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn render<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    info: &LinearizationInfo,
    options: &PageOptions,
) -> String {
    // Split first, so that neither the title nor the data is searched for
    // the other's placeholder.
    let (head, tail) = PAGE.split_once("@DATA@").expect("the page has a data slot");
    let title = escape_html(&options.title);
    let mut page = head.replace("@TITLE@", &title);
    page.push_str(&data_json(model, history, info, options));
    page.push_str(tail);
    page
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>@TITLE@</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px 20px;color:#222}
h1{font-size:20px;margin:0 0 6px}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:22px;height:11px;border-radius:2px;vertical-align:-1px;margin-right:4px}
details{border:1px solid #ccc;border-radius:6px;margin:12px 0;background:#fff}
summary{padding:8px 12px;cursor:pointer;font-size:15px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;margin-right:8px;font-size:12px}
.b-illegal{background:#c62828}.b-unknown{background:#8d6e00}.b-ok{background:#2e7d32}
.tools{padding:4px 12px;border-top:1px solid #eee;font-size:13px}
.tools button{margin-right:4px}
.scroll{overflow-x:auto;overflow-y:hidden;position:relative;border-top:1px solid #eee}
.canvas{position:relative}
.lbl{position:sticky;left:0;z-index:3;width:86px;background:#f4f4f4;border-right:1px solid #ddd;font:12px monospace;padding-left:6px;box-sizing:border-box;white-space:nowrap}
.row{position:absolute;left:0;right:0;border-bottom:1px solid #f0f0f0}
.axis{position:absolute;top:0;left:0;height:24px;border-bottom:1px solid #bbb}
.tick{position:absolute;top:0;height:24px;border-left:1px solid #bbb;font:11px monospace;padding-left:3px;color:#555;white-space:nowrap}
.grid{position:absolute;top:24px;bottom:0;border-left:1px dashed #eee}
.op{position:absolute;height:20px;border-radius:3px;font:12px/20px monospace;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:0 3px;box-sizing:border-box;cursor:default}
.lin{background:#c8e6c9;border:1px solid #43a047}
.out{background:#eceff1;border:1px solid #90a4ae;color:#555}
.blk{background:#ef5350;border:2px solid #b71c1c;color:#fff;font-weight:700}
.op:hover,.op.hl{outline:2px solid #1565c0;z-index:2}
#tip{position:fixed;display:none;z-index:10;background:#fffde7;border:1px solid #aaa;border-radius:4px;padding:6px 9px;font:12px monospace;max-width:560px;white-space:pre-wrap;box-shadow:0 2px 6px rgba(0,0,0,.25);pointer-events:none}
.note{color:#555;font-size:13px;margin:4px 0}
.ev{position:absolute;top:24px;height:20px;font:11px/20px monospace;white-space:nowrap;overflow:hidden;padding-left:3px;box-sizing:border-box;border-left:2px solid;cursor:default;z-index:1}
.band{position:absolute;top:44px;opacity:.16;pointer-events:none}
.mark{position:absolute;top:44px;width:0;border-left:1px dashed;pointer-events:none}
.k-partition{border-color:#6a1b9a;color:#6a1b9a;background-color:#6a1b9a}
.k-crash{border-color:#c62828;color:#c62828;background-color:#c62828}
.k-network{border-color:#ef6c00;color:#ef6c00;background-color:#ef6c00}
.k-check{border-color:#b71c1c;color:#b71c1c;background-color:#b71c1c}
.k-info{border-color:#1565c0;color:#1565c0;background-color:#1565c0}
.ev.k-partition,.ev.k-crash,.ev.k-network,.ev.k-check,.ev.k-info{background-color:#fff}
.pinned{padding:4px 12px;font:12px monospace;white-space:pre-wrap;color:#333;background:#fafafa;border-top:1px solid #eee;min-height:16px}
</style></head><body>
<h1>@TITLE@</h1>
<div id="summary"></div>
<p class="note">Each bar is one operation, from its call to its return, on its client's row.
Numbered bars form the longest order found that explains every output they saw, in that order.
In an illegal part, the red bar is where that order breaks: no order lets it come next.
Hover a bar for details; zoom with the buttons or <b>+</b>/<b>-</b>; scroll sideways.</p>
<div class="legend"><span><i class="sw lin"></i>in the order found</span><span><i class="sw out"></i>not placed in it</span><span><i class="sw blk"></i>where it breaks</span><span id="evlegend"></span></div>
<div id="parts"></div>
<div id="tip"></div>
<script>
"use strict";
const DATA = @DATA@;
// Events of one kind that start and end together (a whole cluster shut down
// at once) are drawn as one, their texts joined.
const EVENTS = (() => {
  const all = DATA.events.map(e => ({time: e[0], end: e[1], kind: ["partition", "crash", "network", "check", "info"].includes(e[2]) ? e[2] : "info", text: e[3]}));
  let lo = Infinity, hi = -Infinity;
  for (const p of DATA.partitions) for (const o of p.ops) { lo = Math.min(lo, o[1]); hi = Math.max(hi, o[2]); }
  const near = hi > lo ? (hi - lo) / 500 : 0;
  const out = [];
  for (const e of all) {
    const last = out[out.length - 1];
    if (last && last.kind === e.kind && Math.abs(e.time - last.time) <= near &&
        (last.end < 0) === (e.end < 0) && Math.abs(e.end - last.end) <= near) {
      last.text += ", " + e.text;
    } else out.push(e);
  }
  return out;
})();
const LABEL = 86, ROWH = 26, PAD = 40, AXIS = EVENTS.length ? 46 : 24;
if (EVENTS.length) document.getElementById("evlegend").textContent =
  "above the clients: what happened meanwhile (bands last until healed or restarted; hover for details)";
const tip = document.getElementById("tip");
const fmtTime = t => DATA.ns ? (t / 1e6).toFixed(t % 1e6 === 0 ? 0 : 3) + " ms" : String(t);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
const counts = {illegal: 0, unknown: 0, ok: 0};
DATA.partitions.forEach(p => counts[p.verdict]++);
const words = {illegal: "NOT linearizable", unknown: "undecided (time limit reached)", ok: "linearizable"};
const sum = document.getElementById("summary");
sum.appendChild(el("span", "badge b-" + DATA.verdict, DATA.verdict));
sum.appendChild(document.createTextNode(words[DATA.verdict] + " \u2014 " + DATA.partitions.length + " parts: " +
  counts.illegal + " illegal, " + counts.unknown + " undecided, " + counts.ok + " ok"));

function drawPart(p, box) {
  // One or more lanes per client: a client's operations normally follow one
  // another; overlapping ones (from a history recorded elsewhere) get a lane each.
  const ops = p.ops.map((o, i) => ({i, client: o[0], call: o[1], ret: o[2], pos: o[3], bar: o[4], input: o[5], output: o[6], state: o[7], label: o[8]}));
  const clients = [...new Set(ops.map(o => o.client))].sort((a, b) => a - b);
  const lanes = [];
  for (const c of clients) {
    const mine = ops.filter(o => o.client === c).sort((a, b) => a.call - b.call);
    const ends = [];
    for (const o of mine) {
      let l = ends.findIndex(e => e < o.call);
      if (l < 0) { l = ends.length; ends.push(0); lanes.push({client: c, sub: l}); }
      ends[l] = o.ret;
      o.lane = lanes.findIndex(x => x.client === c && x.sub === l);
    }
  }
  const t0 = Math.min(...ops.map(o => o.call));
  // A failed check just after the last operation is still on the axis.
  const t1 = Math.max(...ops.map(o => o.ret), ...EVENTS.filter(e => e.kind === "check" && e.time >= t0).map(e => e.time));
  const span = Math.max(1, t1 - t0);
  const tools = el("div", "tools"), scroll = el("div", "scroll"), canvas = el("div", "canvas");
  scroll.appendChild(canvas);
  box.appendChild(tools); box.appendChild(scroll);
  const zin = el("button", "", "zoom in (+)"), zout = el("button", "", "zoom out (-)"), fit = el("button", "", "fit");
  tools.append(zin, zout, fit);
  let goto = null;
  if (p.blocker >= 0) { goto = el("button", "", "go to where it breaks"); tools.append(goto); }
  const scaleLbl = el("span", "note");
  tools.append(" ", scaleLbl);
  const pinned = el("div", "pinned", "click a bar to keep its details here");
  box.appendChild(pinned);
  const view = () => Math.max(200, scroll.clientWidth - LABEL - PAD - 30);
  const fitScale = () => view() / span;
  const durs = ops.map(o => Math.max(1, o.ret - o.call)).sort((a, b) => a - b);
  const median = durs[Math.floor(durs.length / 2)];
  // Open at the zoom where a typical operation's label can be read; if the
  // whole part fits at that zoom, fit it instead.
  let scale = Math.max(fitScale(), 90 / median);
  const x = t => LABEL + 10 + (t - t0) * scale;
  function draw() {
    canvas.textContent = "";
    const width = LABEL + 20 + span * scale + PAD;
    canvas.style.width = width + "px";
    canvas.style.height = (AXIS + lanes.length * ROWH + 4) + "px";
    scaleLbl.textContent = ops.length + " operations, " + clients.length + " clients; window " + fmtTime(Math.round(view() / scale));
    const axis = el("div", "axis"); axis.style.width = width + "px"; canvas.appendChild(axis);
    const height = lanes.length * ROWH;
    for (const e of EVENTS) {
      const from = Math.max(e.time, t0), to = e.end >= 0 ? Math.min(e.end, t1) : e.time;
      if (to < t0 || from > t1) continue;
      const lab = el("div", "ev k-" + e.kind, e.text);
      lab.style.left = x(from) + "px";
      // A band's label spans the band, so it can be hovered anywhere along it.
      if (e.end >= 0) lab.style.width = Math.max(3, (to - from) * scale) + "px";
      else lab.style.maxWidth = "160px";
      const info = e.kind + " at " + fmtTime(e.time) + (e.end >= 0 ? " until " + fmtTime(e.end) : "") + "\n" + e.text;
      lab.onmousemove = ev => showText(ev, info);
      lab.onmouseleave = () => { tip.style.display = "none"; };
      canvas.appendChild(lab);
      const shade = el("div", (e.end >= 0 ? "band" : "mark") + " k-" + e.kind);
      shade.style.left = x(from) + "px";
      shade.style.top = AXIS + "px";
      if (e.end >= 0) shade.style.width = Math.max(1, (to - from) * scale) + "px";
      shade.style.height = height + "px";
      canvas.appendChild(shade);
    }
    const step = niceStep(90 / scale);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const tk = el("div", "tick", fmtTime(t)); tk.style.left = x(t) + "px"; axis.appendChild(tk);
      const g = el("div", "grid"); g.style.left = x(t) + "px"; g.style.height = (lanes.length * ROWH) + "px"; canvas.appendChild(g);
    }
    lanes.forEach((ln, r) => {
      const row = el("div", "row"); row.style.top = (AXIS + r * ROWH) + "px"; row.style.height = ROWH + "px";
      row.style.width = width + "px";
      const lbl = el("div", "lbl", ln.sub ? "  (lane " + ln.sub + ")" : "client " + ln.client);
      lbl.style.height = ROWH + "px"; lbl.style.lineHeight = ROWH + "px";
      row.appendChild(lbl); canvas.appendChild(row);
    });
    for (const o of ops) {
      const isBlk = o.i === p.blocker;
      const b = el("div", "op " + (isBlk ? "blk" : o.pos >= 0 ? "lin" : "out"),
        (o.pos >= 0 ? "#" + (o.pos + 1) + " " : isBlk ? "\u2717 " : "") + o.bar);
      b.style.left = x(o.call) + "px";
      b.style.width = Math.max(3, (o.ret - o.call) * scale) + "px";
      b.style.top = (AXIS + o.lane * ROWH + 3) + "px";
      b.onmousemove = ev => showTip(ev, o, isBlk);
      b.onclick = () => { pinned.textContent = details(o, isBlk); };
      b.onmouseleave = () => { tip.style.display = "none"; };
      if (isBlk) o.node = b;
      canvas.appendChild(b);
    }
  }
  function showText(ev, text) {
    tip.textContent = text;
    tip.style.display = "block";
    const w = tip.offsetWidth;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (ev.clientY + 16) + "px";
  }
  function showTip(ev, o, isBlk) {
    tip.textContent = details(o, isBlk);
    tip.style.display = "block";
    const w = tip.offsetWidth;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (ev.clientY + 16) + "px";
  }
  function details(o, isBlk) {
    const lines = ["client " + o.client + (o.pos >= 0 ? ", #" + (o.pos + 1) + " in the order found" : ""),
      "input:  " + o.input, "output: " + o.output,
      "call:   " + fmtTime(o.call) + "   return: " + fmtTime(o.ret) + "   (" + fmtTime(o.ret - o.call) + ")"];
    if (o.label) lines.unshift(o.label);
    if (o.pos >= 0) lines.push("state after it: " + o.state);
    else if (isBlk) {
      const placed = p.ops.filter(q => q[3] >= 0);
      const last = placed.find(q => q[3] === placed.length - 1);
      lines.push("WHERE IT BREAKS: after the " + placed.length + " numbered operations, this one had to be placed" +
        "\nbefore it returned, and no place for it gives this output." +
        (last ? "\nthe state after #" + placed.length + ": " + last[7] : ""));
    }
    else if (p.verdict !== "ok") lines.push("not placed in the order found");
    return lines.join("\n");
  }
  function zoom(f) {
    const mid = (scroll.scrollLeft + scroll.clientWidth / 2 - LABEL - 10) / scale + t0;
    scale = Math.min(Math.max(scale * f, fitScale() / 4), 400 / median);
    draw();
    scroll.scrollLeft = x(mid) - scroll.clientWidth / 2;
  }
  function toBreak() {
    const o = ops.find(q => q.i === p.blocker);
    if (o) {
      scroll.scrollLeft = x(o.call) - scroll.clientWidth / 3;
      o.node.classList.add("hl");
      pinned.textContent = details(o, true);
    }
  }
  zin.onclick = () => zoom(2); zout.onclick = () => zoom(0.5);
  fit.onclick = () => { scale = fitScale(); draw(); scroll.scrollLeft = 0; };
  if (goto) goto.onclick = toBreak;
  box.zoom = zoom;
  draw();
  toBreak();
  // A part in focus (a failed check read its key) opens on its end: the
  // failed read is its last operation, the check's mark just after it.
  if (p.focus && p.blocker < 0) scroll.scrollLeft = scroll.scrollWidth;
}

const parts = document.getElementById("parts");
let current = null;
DATA.partitions.forEach((p, k) => {
  const d = el("details");
  const s = el("summary");
  s.appendChild(el("span", "badge b-" + p.verdict, p.verdict));
  const nLin = p.ops.filter(o => o[3] >= 0).length;
  let text = p.name + " \u2014 " + p.ops.length + " operations";
  if (p.verdict === "illegal") text += "; the longest order found places " + nLin + " before it breaks";
  if (p.verdict === "unknown") text += "; undecided when the time ran out (" + nLin + " placed so far)";
  if (p.resets > 0) text += "; memo emptied " + p.resets + "x to stay in its memory budget";
  s.appendChild(document.createTextNode(text));
  d.appendChild(s);
  let drawn = false;
  d.addEventListener("toggle", () => { if (d.open && !drawn) { drawn = true; drawPart(p, d); } if (d.open) current = d; });
  d.addEventListener("mouseenter", () => { current = d; });
  // Open what needs looking at; ok parts stay closed unless there is nothing else.
  if (p.verdict !== "ok" || p.focus || (k === 0 && DATA.partitions.length <= 3)) d.open = true;
  parts.appendChild(d);
});
document.addEventListener("keydown", ev => {
  if (!current || !current.zoom) return;
  if (ev.key === "+" || ev.key === "=") current.zoom(2);
  if (ev.key === "-") current.zoom(0.5);
});
</script></body></html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_cannot_break_out_of_the_script() {
        assert_eq!(json_str("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(json_str("</script>"), r#""\u003c/script>""#);
        assert_eq!(json_str("\u{1}"), r#""\u0001""#);
    }
}
