//! Benchmarks of the simulated network (their figures are in the README's
//! Results and notes/labrpc.md): sequential call latency, throughput with 16
//! client threads, and the OS threads alive while 1,000 calls are delayed.
//!
//! `cargo bench -p labrpc` runs the full version; `-- --quick` (or
//! `BENCH_QUICK=1`) a short one. Each figure prints as `BENCH <name> <value> <unit>`.

use labrpc::{Network, Server, Service};
use std::time::{Duration, Instant};

fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var("BENCH_QUICK").is_ok()
}

fn echo_net() -> (Network, labrpc::ClientEnd) {
    let net = Network::new();
    let server = Server::new();
    server.add_service(Service::new("Echo").method("Handler2", |x: i64| format!("handler2-{x}")));
    net.add_server("s", server);
    let end = net.make_end("e");
    net.connect("e", "s");
    net.enable("e", true);
    (net, end)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn main() {
    let n = if quick() { 10_000 } else { 100_000 };
    println!(
        "labrpc benchmarks ({} mode)",
        if quick() { "quick" } else { "full" }
    );

    // Sequential calls from one client (the Go labrpc's TestBenchmark).
    let (_net, end) = echo_net();
    let mut lat = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n as i64 {
        let t = Instant::now();
        let r: String = end.call("Echo.Handler2", &i).unwrap();
        lat.push(t.elapsed());
        assert_eq!(r.len(), format!("handler2-{i}").len());
    }
    let total = t0.elapsed();
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.5), percentile(&lat, 0.99));
    println!(
        "  sequential: {n} calls in {:.2} s; p50 {p50:.1} us, p99 {p99:.1} us",
        total.as_secs_f64()
    );

    // 16 client threads.
    let (net16, end16) = echo_net();
    let per_thread = n / 16;
    let t0 = Instant::now();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let e = end16.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread as i64 {
                    let _: String = e.call("Echo.Handler2", &i).unwrap();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let rate = (16 * per_thread) as f64 / t0.elapsed().as_secs_f64();
    println!("  16 clients: {rate:.0} calls/s");
    drop(net16);

    // Threads alive while 1,000 calls wait in long-reordering delays.
    let (net, end) = echo_net();
    net.set_long_reordering(true);
    let before = labrpc::os_thread_count().unwrap_or(0);
    let pending: Vec<_> = (0..1000i64)
        .map(|i| end.call_async::<_, String>("Echo.Handler2", &i))
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    let during = labrpc::os_thread_count().unwrap_or(0);
    let ok = pending.into_iter().filter_map(|p| p.wait().ok()).count();
    assert_eq!(ok, 1000);
    println!("  1000 delayed calls: {during} threads in the process ({before} before)");
    drop(net);

    println!("BENCH labrpc_call_p50 {p50:.1} us");
    println!("BENCH labrpc_call_p99 {p99:.1} us");
    println!("BENCH labrpc_calls_per_s {rate:.0} /s");
    println!("BENCH labrpc_threads_delayed {during} threads");
}
