//! The checker's tests: known-good and known-bad histories, the cases that
//! broke the first checker (a hard key hiding an illegal one, the deadline,
//! the memo's memory), and a comparison with a brute-force reference on
//! thousands of random small histories.

use super::kv::{KvInput, KvModel, KvOp, KvOperation, KvOutput};
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn op(
    client: usize,
    kind: KvOp,
    key: &str,
    value: &str,
    out: &str,
    call: i64,
    ret: i64,
) -> KvOperation {
    Operation {
        client_id: client,
        input: KvInput {
            op: kind,
            key: key.into(),
            value: value.into(),
        },
        call,
        output: KvOutput::new(out),
        ret,
    }
}

fn verdict(h: &[KvOperation]) -> CheckResult {
    check_operations(&KvModel, h, Some(Duration::from_secs(5)))
}

fn with(h: &[KvOperation], workers: usize, timeout: Duration) -> (CheckResult, LinearizationInfo) {
    let options = CheckOptions {
        timeout: Some(timeout),
        workers,
        ..CheckOptions::default()
    };
    check_operations_with(&KvModel, h, &options)
}

#[test]
fn sequential_and_concurrent_good_histories() {
    use KvOp::*;
    // One client, in order.
    let h = vec![
        op(0, Put, "x", "a", "", 0, 10),
        op(0, Append, "x", "b", "", 20, 30),
        op(0, Get, "x", "", "ab", 40, 50),
    ];
    assert_eq!(verdict(&h), CheckResult::Ok);
    // Two concurrent writes; each read sees some order consistent with time.
    let h = vec![
        op(0, Put, "x", "1", "", 0, 100),
        op(1, Put, "x", "2", "", 10, 90),
        op(2, Get, "x", "", "1", 95, 110), // 2 then 1
        op(3, Get, "x", "", "1", 120, 130),
    ];
    assert_eq!(verdict(&h), CheckResult::Ok);
    // A read concurrent with a write may see either value.
    let h = vec![
        op(0, Put, "y", "old", "", 0, 5),
        op(0, Put, "y", "new", "", 10, 50),
        op(1, Get, "y", "", "old", 20, 30),
        op(2, Get, "y", "", "new", 25, 60),
    ];
    assert_eq!(verdict(&h), CheckResult::Ok);
    // Keys are independent; a missing key reads "".
    let h = vec![
        op(0, Put, "a", "1", "", 0, 10),
        op(1, Get, "b", "", "", 0, 10),
    ];
    assert_eq!(verdict(&h), CheckResult::Ok);
    // Operations that touch (one returns when the other is called) are concurrent.
    let h = vec![
        op(0, Put, "t", "1", "", 0, 10),
        op(1, Get, "t", "", "", 10, 20),
    ];
    assert_eq!(verdict(&h), CheckResult::Ok);
    assert_eq!(verdict(&[]), CheckResult::Ok);
}

#[test]
fn stale_read_after_a_write_returned_is_illegal() {
    use KvOp::*;
    let h = vec![
        op(0, Put, "x", "1", "", 0, 10),
        op(0, Put, "x", "2", "", 20, 30),
        op(1, Get, "x", "", "1", 40, 50), // the write of 2 had returned
    ];
    assert_eq!(verdict(&h), CheckResult::Illegal);
    // The verbose check says where: both puts placed, then the get cannot be.
    let (r, info) = check_operations_verbose(&KvModel, &h, None);
    assert_eq!(r, CheckResult::Illegal);
    let part = &info.partitions[0];
    assert_eq!(part.result, CheckResult::Illegal);
    assert_eq!(part.linearization, vec![0, 1]);
    assert_eq!(part.blocker, Some(2));
}

#[test]
fn concurrent_writes_seen_in_two_orders_is_illegal() {
    use KvOp::*;
    // Writes of 1 and 2 overlap, but one reader sees 1 then 2 and
    // another, later, sees 2 then 1: no single order explains both.
    let h = vec![
        op(0, Put, "x", "1", "", 0, 100),
        op(1, Put, "x", "2", "", 0, 100),
        op(2, Get, "x", "", "1", 10, 20),
        op(2, Get, "x", "", "2", 30, 40),
        op(3, Get, "x", "", "2", 50, 60),
        op(3, Get, "x", "", "1", 70, 80),
    ];
    assert_eq!(verdict(&h), CheckResult::Illegal);
}

#[test]
fn lost_or_duplicated_append_is_illegal() {
    use KvOp::*;
    // An append that returned but is missing from a later read.
    let h = vec![
        op(0, Append, "k", "a", "", 0, 10),
        op(1, Append, "k", "b", "", 5, 15),
        op(2, Get, "k", "", "a", 20, 30),
    ];
    assert_eq!(verdict(&h), CheckResult::Illegal);
    // An append applied twice (a retry without duplicate detection).
    let h = vec![
        op(0, Append, "k", "a", "", 0, 10),
        op(1, Get, "k", "", "aa", 20, 30),
    ];
    assert_eq!(verdict(&h), CheckResult::Illegal);
}

/// Forty fully concurrent appends and a read no order explains: deciding it
/// means trying about 2^40 subsets, so no check finishes it in time.
fn hard_key(key: &str, client0: usize) -> Vec<KvOperation> {
    let mut h: Vec<KvOperation> = (0..40)
        .map(|i| {
            op(
                client0 + i,
                KvOp::Append,
                key,
                &format!("<{i}>"),
                "",
                0,
                1000,
            )
        })
        .collect();
    h.push(op(client0 + 99, KvOp::Get, key, "", "impossible", 0, 1000));
    h
}

/// A key whose history is plainly illegal (a stale read).
fn illegal_key(key: &str, client0: usize) -> Vec<KvOperation> {
    vec![
        op(client0, KvOp::Put, key, "1", "", 0, 10),
        op(client0, KvOp::Put, key, "2", "", 20, 30),
        op(client0 + 1, KvOp::Get, key, "", "1", 40, 50),
    ]
}

#[test]
fn time_limit_gives_unknown() {
    let r = check_operations(&KvModel, &hard_key("k", 0), Some(Duration::from_millis(50)));
    assert_eq!(r, CheckResult::Unknown);
}

#[test]
fn a_hard_key_does_not_hide_an_illegal_one_whatever_their_names() {
    // The first checker went key by key in name order and stopped at the
    // first undecided key: "a" (hard) hid "b" (illegal) until the deadline.
    for (hard, bad) in [("a", "b"), ("b", "a")] {
        for workers in [1, 2, 4] {
            let mut h = hard_key(hard, 0);
            h.extend(illegal_key(bad, 200));
            let start = Instant::now();
            let (r, _) = with(&h, workers, Duration::from_secs(20));
            assert_eq!(
                r,
                CheckResult::Illegal,
                "hard {hard:?}, illegal {bad:?}, {workers} workers"
            );
            // Not a timing assert: it shows the verdict came from the search of
            // the illegal key, not from running out the clock.
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "took {:?}",
                start.elapsed()
            );
        }
    }
}

#[test]
fn many_hard_keys_do_not_hide_an_illegal_one() {
    let mut h = Vec::new();
    for k in 0..8 {
        h.extend(hard_key(&format!("hard{k}"), 100 * k));
    }
    h.extend(illegal_key("zzz", 5000));
    let (r, _) = with(&h, 2, Duration::from_secs(20));
    assert_eq!(r, CheckResult::Illegal);
}

#[test]
fn unknown_only_when_nothing_is_illegal() {
    let mut h = hard_key("hard", 0);
    h.extend(illegal_key("x", 200).into_iter().take(2)); // legal: no stale read
    let (r, info) = with(&h, 2, Duration::from_millis(200));
    assert_eq!(r, CheckResult::Unknown);
    let verdicts: Vec<_> = info.partitions.iter().map(|p| p.result).collect();
    assert_eq!(verdicts, vec![CheckResult::Unknown, CheckResult::Ok]);
}

#[test]
fn the_deadline_holds() {
    // Every search polls the clock every 256 steps (well under a millisecond
    // of work), and dropping a memo is a handful of frees, so the checker
    // gives up within the limit + 5% + 20 ms. On a quiet machine that is
    // what the wall clock shows (the benchmark's `checker_deadline_overrun_ms`
    // measures it); on a loaded one the wall time to the return also counts
    // the time the thread waited for a core, tens of milliseconds at a load
    // of 30 on two cores. So the tight bound here is on the work: this
    // thread's time on a CPU (one worker: the search runs on this thread),
    // which waiting cannot stretch. The wall clock bounds what waiting cannot
    // explain: a search that does not stop at the deadline at all would run
    // on these keys for minutes, not a second.
    let mut h = hard_key("a", 0);
    h.extend(hard_key("b", 100));
    h.extend(hard_key("c", 200));
    for limit_ms in [100u64, 400] {
        let limit = Duration::from_millis(limit_ms);
        let (start, cpu_before) = (Instant::now(), thread_cpu_time());
        let (r, _) = with(&h, 1, limit);
        let (wall, cpu_after) = (start.elapsed(), thread_cpu_time());
        assert_eq!(r, CheckResult::Unknown);
        assert!(
            wall >= limit,
            "gave up after {wall:?}, before the limit {limit:?}"
        );
        assert!(
            wall <= limit + Duration::from_secs(1),
            "limit {limit:?}: returned after {wall:?}"
        );
        if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
            let work = after - before;
            assert!(
                work <= limit + limit / 20 + Duration::from_millis(20),
                "limit {limit:?}: searched for {work:?} of CPU time"
            );
        }
    }
    // Several workers stop on the same deadline.
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let (r, _) = with(&h, 2, limit);
    assert_eq!(r, CheckResult::Unknown);
    assert!(start.elapsed() <= limit + Duration::from_secs(1));
}

/// The time this thread has spent running on a CPU (Linux's per-thread
/// schedstat, in nanoseconds); `None` where there is none.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[test]
fn a_small_memo_budget_costs_time_not_the_verdict() {
    // With a 64 KiB budget the hard key's memo is emptied again and again.
    let options = CheckOptions {
        timeout: Some(Duration::from_millis(300)),
        memo_budget: 64 << 10,
        verbose: true,
        ..CheckOptions::default()
    };
    let (r, info) = check_operations_with(&KvModel, &hard_key("k", 0), &options);
    assert_eq!(r, CheckResult::Unknown);
    assert!(info.partitions[0].memo_resets > 0);
    // And a legal history still checks as ok with no memo at all.
    let h = generated(2000, 10, 3, &mut StdRng::seed_from_u64(1));
    let options = CheckOptions {
        memo_budget: 0,
        ..CheckOptions::default()
    };
    assert_eq!(
        check_operations_with(&KvModel, &h, &options).0,
        CheckResult::Ok
    );
}

#[test]
fn a_long_linearizable_history_is_ok() {
    let h = generated(20_000, 20, 5, &mut StdRng::seed_from_u64(7));
    let (r, info) = check_operations_verbose(&KvModel, &h, Some(Duration::from_secs(60)));
    assert_eq!(r, CheckResult::Ok);
    // Verbose: each part's linearization holds all its operations.
    for p in &info.partitions {
        assert_eq!(p.linearization.len(), p.ops.len());
    }
}

/// One client's 100,000 operations on one key, one after another: the shape
/// of the one-client kv tests. With a memo keyed by a bit set of every
/// operation, each entry would hold 12.5 KB and the search inserts one per
/// operation (over a gigabyte); keyed by the first operation not linearized
/// and a window after it, the whole memo fits in a few megabytes. The memo's
/// budget counts every byte it allocates, so a budget of 16 MiB that is never
/// exceeded (no reset) is the bound.
#[test]
fn a_long_one_client_history_fits_a_small_memo() {
    let n = 100_000;
    let h: Vec<KvOperation> = (0..n)
        .map(|i| {
            let v = (i / 2).to_string();
            let (t, kind, out) = (
                10 * i as i64,
                if i % 2 == 0 { KvOp::Put } else { KvOp::Get },
                v.clone(),
            );
            match kind {
                KvOp::Put => op(0, kind, "k", &v, "", t, t + 5),
                _ => op(0, kind, "k", "", &out, t, t + 5),
            }
        })
        .collect();
    let options = CheckOptions {
        timeout: Some(Duration::from_secs(60)),
        memo_budget: 16 << 20,
        ..CheckOptions::default()
    };
    let (r, info) = check_operations_with(&KvModel, &h, &options);
    assert_eq!(r, CheckResult::Ok);
    assert_eq!(
        info.partitions[0].memo_resets, 0,
        "the memo outgrew 16 MiB on a sequential history"
    );
    // And an illegal read at the end is still found.
    let mut bad = h.clone();
    bad.push(op(
        0,
        KvOp::Get,
        "k",
        "",
        "0",
        10 * n as i64,
        10 * n as i64 + 5,
    ));
    assert_eq!(
        check_operations_with(&KvModel, &bad, &options).0,
        CheckResult::Illegal
    );
}

/// A history of a linearizable in-memory store: each client's operations
/// follow one another with random gaps and overlap the other clients'; each
/// takes effect at a random instant inside its interval.
fn generated(ops: usize, clients: usize, keys: usize, rng: &mut impl Rng) -> Vec<KvOperation> {
    let mut history = Vec::with_capacity(ops);
    let mut points = Vec::with_capacity(ops);
    let mut clock = vec![0i64; clients];
    for n in 0..ops {
        let c = rng.random_range(0..clients);
        let call = clock[c] + rng.random_range(0..4);
        let ret = call + rng.random_range(0..8);
        clock[c] = ret;
        let key = format!("k{}", rng.random_range(0..keys));
        let kind = [KvOp::Get, KvOp::Put, KvOp::Append][rng.random_range(0..3)];
        let value = if kind == KvOp::Get {
            String::new()
        } else {
            format!("{n}.")
        };
        history.push(op(c, kind, &key, &value, "", call, ret));
        // A point strictly inside or at the ends, tie-broken by a random key.
        points.push((rng.random_range(call * 4..=ret * 4), rng.random::<u32>(), n));
    }
    points.sort();
    let mut store: BTreeMap<String, String> = BTreeMap::new();
    for (_, _, n) in points {
        let input = history[n].input.clone();
        let value = store.entry(input.key.into_string()).or_default();
        match input.op {
            KvOp::Get => history[n].output = KvOutput::new(value),
            KvOp::Put => *value = input.value.into_string(),
            KvOp::Append => value.push_str(&input.value),
        }
    }
    history
}

/// The reference: try every order real time allows (an operation may come
/// next unless some other remaining operation returned before it was
/// called), on a plain map of strings. Exponential; fine for eight operations.
fn brute_force(h: &[(KvOperation, String)]) -> CheckResult {
    fn go(h: &[(KvOperation, String)], done: u32, store: &mut BTreeMap<String, String>) -> bool {
        if done.count_ones() as usize == h.len() {
            return true;
        }
        let remaining = (0..h.len()).filter(|i| done & (1 << i) == 0);
        let first_return = remaining.clone().map(|i| h[i].0.ret).min().unwrap();
        for i in remaining {
            let (o, out) = &h[i];
            if o.call > first_return {
                continue; // something else returned before this was called
            }
            let old = store.get(o.input.key.as_str()).cloned();
            let cur = old.clone().unwrap_or_default();
            let ok = match o.input.op {
                KvOp::Get => cur == *out,
                KvOp::Put => {
                    store.insert(o.input.key.to_string(), o.input.value.to_string());
                    true
                }
                KvOp::Append => {
                    store.insert(o.input.key.to_string(), cur + &o.input.value);
                    true
                }
            };
            if ok && go(h, done | (1 << i), store) {
                return true;
            }
            match old {
                Some(v) => store.insert(o.input.key.to_string(), v),
                None => store.remove(o.input.key.as_str()),
            };
        }
        false
    }
    if go(h, 0, &mut BTreeMap::new()) {
        CheckResult::Ok
    } else {
        CheckResult::Illegal
    }
}

#[test]
fn agrees_with_brute_force_on_random_small_histories() {
    let mut rng = StdRng::seed_from_u64(6824);
    let mut counts = BTreeMap::new();
    let runs = 12_000;
    for run in 0..runs {
        let n = rng.random_range(1..=8);
        let clients = rng.random_range(1..=4);
        let keys = rng.random_range(1..=3);
        // Small values so that appends collide ("a" + "ab" = "aa" + "b").
        let mut h: Vec<(KvOperation, String)> = Vec::new();
        let mut clock = vec![rng.random_range(0..3i64); clients];
        for _ in 0..n {
            let c = rng.random_range(0..clients);
            let call = clock[c] + rng.random_range(0..3);
            let ret = call + rng.random_range(0..5);
            clock[c] = ret;
            let key = ["x", "y", "z"][rng.random_range(0..keys)];
            let kind = [KvOp::Get, KvOp::Put, KvOp::Append][rng.random_range(0..3)];
            let value = match kind {
                KvOp::Get => "",
                _ => ["a", "b", "ab"][rng.random_range(0..3)],
            };
            h.push((op(c, kind, key, value, "", call, ret), String::new()));
        }
        // Outputs from a linearizable run: effects at random instants.
        let mut points: Vec<(i64, u32, usize)> = (0..n)
            .map(|i| {
                (
                    rng.random_range(h[i].0.call * 2..=h[i].0.ret * 2),
                    rng.random(),
                    i,
                )
            })
            .collect();
        points.sort();
        let mut store: BTreeMap<String, String> = BTreeMap::new();
        for (_, _, i) in points {
            let input = h[i].0.input.clone();
            let value = store.entry(input.key.into_string()).or_default();
            match input.op {
                KvOp::Get => h[i].1 = value.clone(),
                KvOp::Put => *value = input.value.into_string(),
                KvOp::Append => value.push_str(&input.value),
            }
        }
        // Half the histories get one wrong output (which may still be
        // explainable by another order: the reference decides).
        let gets: Vec<usize> = (0..n).filter(|&i| h[i].0.input.op == KvOp::Get).collect();
        if run % 2 == 1 && !gets.is_empty() {
            let g = gets[rng.random_range(0..gets.len())];
            let wrong = ["", "a", "b", "ab", "ba", "aab", "bab"][rng.random_range(0..7)];
            h[g].1 = wrong.to_string();
        }
        for (o, out) in h.iter_mut() {
            o.output = KvOutput::new(out);
        }
        let history: Vec<KvOperation> = h.iter().map(|(o, _)| o.clone()).collect();
        let expected = brute_force(&h);
        // The real checker, with one or several workers, and with a memo
        // budget too small for any memo (pruning off must not change a verdict).
        let workers = 1 + run % 3;
        let options = CheckOptions {
            timeout: Some(Duration::from_secs(10)),
            workers,
            memo_budget: if run % 5 == 0 { 0 } else { 512 << 20 },
            verbose: run % 7 == 0,
        };
        let (got, info) = check_operations_with(&KvModel, &history, &options);
        assert_eq!(got, expected, "run {run}: {history:#?}");
        if options.verbose {
            // What the page shows must be true: the order found runs on the
            // model, and in an ok part it holds every operation.
            for p in &info.partitions {
                let mut state = KvModel.init();
                for &i in &p.linearization {
                    let o = &history[i];
                    state = KvModel
                        .step(&state, &o.input, &o.output)
                        .expect("a valid order");
                }
                if p.result == CheckResult::Ok {
                    assert_eq!(p.linearization.len(), p.ops.len());
                } else {
                    assert!(p.blocker.is_some(), "an illegal part says where it breaks");
                }
            }
        }
        *counts.entry(format!("{expected:?}")).or_insert(0) += 1;
    }
    eprintln!("random small histories: {runs} checked, verdicts {counts:?}, 0 disagreements");
    assert!(
        counts["Ok"] > runs / 4 && counts["Illegal"] > runs / 10,
        "{counts:?}"
    );
}
