//! The Go labrpc test suite, ported, plus tests of what the Rust port adds:
//! long delays, long reordering, dead-server rules, bad payloads, thread count.
//! Every test sits in the module `labrpc`, so `cargo test labrpc` runs them all.

mod labrpc {
    use ::labrpc::{ClientEnd, Network, RpcError, Server, Service};
    use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
    use parking_lot::Mutex;
    use serde::{Deserialize, Serialize};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    #[derive(Serialize, Deserialize, Default)]
    struct JunkArgs {
        x: i64,
    }
    #[derive(Serialize, Deserialize, Default, Debug)]
    struct JunkReply {
        x: String,
    }

    /// The Go tests' JunkServer: handlers that record what they saw.
    #[derive(Default)]
    struct Junk {
        log1: Mutex<Vec<String>>,
        log2: Mutex<Vec<i64>>,
        /// Handler3 blocks until this channel is closed (Go: sleeps 20 s).
        gate: Mutex<Option<Receiver<()>>>,
    }

    fn junk_service(js: &Arc<Junk>) -> Service {
        let (j1, j2, j3) = (js.clone(), js.clone(), js.clone());
        Service::new("JunkServer")
            .method("Handler1", move |args: String| -> i64 {
                j1.log1.lock().push(args.clone());
                args.parse().unwrap_or(0)
            })
            .method("Handler2", move |args: i64| -> String {
                j2.log2.lock().push(args);
                format!("handler2-{args}")
            })
            .method("Handler3", move |args: i64| -> i64 {
                let gate = j3.gate.lock().clone();
                if let Some(g) = gate {
                    let _ = g.recv_timeout(Duration::from_secs(20));
                }
                -args
            })
            .method("Handler4", |_: JunkArgs| JunkReply {
                x: "pointer".into(),
            })
            .method("Handler5", |_: JunkArgs| JunkReply {
                x: "no pointer".into(),
            })
            .method("Handler6", |args: String| -> i64 { args.len() as i64 })
            .method("Handler7", |args: i64| -> String {
                "y".repeat(args as usize)
            })
    }

    /// A network with one junk server `server` and one enabled end `end`.
    fn setup(server: &str, end: &str) -> (Network, Arc<Junk>, ClientEnd) {
        let net = Network::new();
        let js = Arc::new(Junk::default());
        let rs = Server::new();
        rs.add_service(junk_service(&js));
        net.add_server(server, rs);
        let e = net.make_end(end);
        net.connect(end, server);
        net.enable(end, true);
        (net, js, e)
    }

    /// A gate for Handler3: it blocks until the returned sender is dropped.
    fn close_gate_later(js: &Junk) -> Sender<()> {
        let (tx, rx) = bounded(0);
        *js.gate.lock() = Some(rx);
        tx
    }

    #[test]
    fn basic() {
        let (_net, _js, e) = setup("server99", "end1-99");
        let r: String = e.call("JunkServer.Handler2", &111i64).unwrap();
        assert_eq!(r, "handler2-111", "wrong reply from Handler2");
        let r: i64 = e.call("JunkServer.Handler1", &"9099".to_string()).unwrap();
        assert_eq!(r, 9099, "wrong reply from Handler1");
    }

    #[test]
    fn types() {
        let (_net, _js, e) = setup("server99", "end1-99");
        let r: JunkReply = e.call("JunkServer.Handler4", &JunkArgs::default()).unwrap();
        assert_eq!(r.x, "pointer");
        let r: JunkReply = e.call("JunkServer.Handler5", &JunkArgs { x: 4 }).unwrap();
        assert_eq!(r.x, "no pointer");
    }

    #[test]
    fn disconnect() {
        let (net, _js, e) = setup("server99", "end1-99");
        net.enable("end1-99", false);
        let r = e.call::<_, String>("JunkServer.Handler2", &111i64);
        assert_eq!(
            r.unwrap_err(),
            RpcError::Failed,
            "reply through a disabled end"
        );
        net.enable("end1-99", true);
        let r: i64 = e.call("JunkServer.Handler1", &"9099".to_string()).unwrap();
        assert_eq!(r, 9099);
    }

    #[test]
    fn counts() {
        let (net, _js, e) = setup("99", "end1-99");
        for i in 0..17i64 {
            let r: String = e.call("JunkServer.Handler2", &i).unwrap();
            assert_eq!(r, format!("handler2-{i}"));
        }
        assert_eq!(net.count(99), 17, "wrong count()");
    }

    #[test]
    fn bytes() {
        let (net, _js, e) = setup("99", "end1-99");
        for _ in 0..17 {
            let args = "x".repeat(72 * 4);
            let r: i64 = e.call("JunkServer.Handler6", &args).unwrap();
            assert_eq!(r, args.len() as i64);
        }
        let n = net.total_bytes();
        assert!(
            (4828..=6000).contains(&n),
            "wrong total_bytes() {n}, expected about 5000"
        );
        for _ in 0..17 {
            let r: String = e.call("JunkServer.Handler7", &107i64).unwrap();
            assert_eq!(r.len(), 107);
        }
        let nn = net.total_bytes() - n;
        assert!(
            (1800..=2500).contains(&nn),
            "wrong total_bytes() {nn}, expected about 2000"
        );
    }

    #[test]
    fn concurrent_many() {
        let net = Arc::new(Network::new());
        let js = Arc::new(Junk::default());
        let rs = Server::new();
        rs.add_service(junk_service(&js));
        net.add_server(1000, rs);
        let (nclients, nrpcs) = (20, 10);
        let handles: Vec<_> = (0..nclients)
            .map(|i| {
                let net = net.clone();
                thread::spawn(move || {
                    let e = net.make_end(i);
                    net.connect(i, 1000);
                    net.enable(i, true);
                    for j in 0..nrpcs {
                        let arg = i * 100 + j;
                        let r: String = e.call("JunkServer.Handler2", &arg).unwrap();
                        assert_eq!(r, format!("handler2-{arg}"));
                    }
                    nrpcs
                })
            })
            .collect();
        let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, nclients * nrpcs);
        assert_eq!(net.count(1000), total as u64);
    }

    #[test]
    fn unreliable() {
        let net = Arc::new(Network::new());
        net.set_reliable(false);
        let js = Arc::new(Junk::default());
        let rs = Server::new();
        rs.add_service(junk_service(&js));
        net.add_server(1000, rs);
        let handles: Vec<_> = (0..300i64)
            .map(|i| {
                let net = net.clone();
                thread::spawn(move || {
                    let e = net.make_end(i);
                    net.connect(i, 1000);
                    net.enable(i, true);
                    let arg = i * 100;
                    match e.call::<_, String>("JunkServer.Handler2", &arg) {
                        Ok(r) => {
                            assert_eq!(r, format!("handler2-{arg}"));
                            1
                        }
                        Err(_) => 0,
                    }
                })
            })
            .collect();
        let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(
            total != 300 && total != 0,
            "all or no RPCs succeeded despite unreliable ({total})"
        );
    }

    #[test]
    fn concurrent_one() {
        let (net, js, e) = setup("1000", "c");
        let nrpcs = 20;
        let handles: Vec<_> = (0..nrpcs)
            .map(|i| {
                let e = e.clone();
                thread::spawn(move || {
                    let arg = 100 + i;
                    let r: String = e.call("JunkServer.Handler2", &arg).unwrap();
                    assert_eq!(r, format!("handler2-{arg}"));
                    1
                })
            })
            .collect();
        let total: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, nrpcs);
        assert_eq!(
            js.log2.lock().len() as i64,
            nrpcs,
            "wrong number of RPCs delivered"
        );
        assert_eq!(net.count(1000), total as u64);
    }

    /// An RPC delayed while its end is disabled must not delay later RPCs.
    #[test]
    fn regression1() {
        let (net, js, e) = setup("1000", "c");
        net.enable("c", false);
        let handles: Vec<_> = (0..20i64)
            .map(|i| {
                let e = e.clone();
                thread::spawn(move || e.call::<_, String>("JunkServer.Handler2", &(100 + i)))
            })
            .collect();
        thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        net.enable("c", true);
        let r: String = e.call("JunkServer.Handler2", &99i64).unwrap();
        assert_eq!(r, "handler2-99");
        let dur = t0.elapsed();
        assert!(
            dur <= Duration::from_millis(30),
            "RPC took too long ({dur:?}) after enable"
        );
        for h in handles {
            let _ = h.join().unwrap();
        }
        assert_eq!(js.log2.lock().len(), 1, "wrong number of RPCs delivered");
        assert_eq!(net.count(1000), 1);
    }

    /// An RPC stuck in a server that is deleted gets unstuck, and fails.
    #[test]
    fn killed() {
        let (net, js, e) = setup("server99", "end1-99");
        let _gate = close_gate_later(&js);
        let (tx, rx) = unbounded();
        thread::spawn(move || {
            let _ = tx.send(e.call::<_, i64>("JunkServer.Handler3", &99i64));
        });
        thread::sleep(Duration::from_millis(1000));
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "Handler3 should not have returned yet"
        );
        net.delete_server("server99");
        // The Go test allows 100 ms; the dead-server check runs every 100 ms,
        // so the answer can take up to 100 ms after the deletion plus scheduling.
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => assert!(
                r.is_err(),
                "Handler3 returned successfully despite delete_server"
            ),
            Err(_) => panic!("Handler3 should return after delete_server"),
        }
    }

    #[test]
    fn long_delay_race() {
        let (net, _js, e) = setup("server99", "end1-99");
        let _: i64 = e.call("JunkServer.Handler1", &"9099".to_string()).unwrap();
        net.set_long_delays(true);
        net.delete_server("server99");
        let (tx, rx) = unbounded();
        thread::spawn(move || {
            let _ = tx.send(e.call::<_, i64>("JunkServer.Handler1", &"9099".to_string()));
        });
        net.set_long_delays(true);
        if let Ok(r) = rx.recv_timeout(Duration::from_millis(200)) {
            assert!(r.is_err());
        }
        net.set_long_delays(true);
    }

    // ----- Beyond the Go suite: the modes and rules the Raft tests lean on. -----

    /// With long delays, a call to an unreachable server fails after up to 7 s;
    /// without, within 100 ms.
    #[test]
    fn long_delays() {
        let (net, _js, e) = setup("s", "e");
        net.enable("e", false);
        let t0 = Instant::now();
        let pending: Vec<_> = (0..20i64)
            .map(|i| e.call_async::<_, String>("JunkServer.Handler2", &i))
            .collect();
        for p in pending {
            assert_eq!(p.wait().unwrap_err(), RpcError::Failed);
        }
        // Up to 100 ms each; the bound is loose so a busy machine cannot fail it,
        // and still far below what long delays give (checked next).
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "short delays took {:?}",
            t0.elapsed()
        );

        net.set_long_delays(true);
        let t0 = Instant::now();
        let pending: Vec<_> = (0..20i64)
            .map(|i| e.call_async::<_, String>("JunkServer.Handler2", &i))
            .collect();
        let mut times = Vec::new();
        for p in pending {
            assert_eq!(p.wait().unwrap_err(), RpcError::Failed);
            times.push(t0.elapsed());
        }
        let longest = times.into_iter().max().unwrap();
        // 20 draws of rand(7000): the longest is under 1 s with probability 1e-17.
        assert!(
            longest > Duration::from_secs(1),
            "long delays too short: {longest:?}"
        );
        assert!(
            longest < Duration::from_millis(7200),
            "long delays too long: {longest:?}"
        );
    }

    /// With long reordering, most replies are held back 200 ms to 2.2 s, so
    /// replies come back in a different order than the calls went out.
    #[test]
    fn long_reordering() {
        let (net, _js, e) = setup("s", "e");
        net.set_long_reordering(true);
        let t0 = Instant::now();
        let (tx, rx) = unbounded();
        let n = 60i64;
        for i in 0..n {
            let p = e.call_async::<_, String>("JunkServer.Handler2", &i);
            let tx = tx.clone();
            // One waiter thread per call keeps the test simple; the network
            // itself holds no thread for the delayed replies.
            thread::spawn(move || {
                let r = p.wait();
                let _ = tx.send((i, r, t0.elapsed()));
            });
        }
        drop(tx);
        let got: Vec<_> = rx.iter().collect();
        assert_eq!(got.len(), n as usize);
        let order: Vec<i64> = got.iter().map(|g| g.0).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_ne!(order, sorted, "no reordering at all");
        let delayed = got
            .iter()
            .filter(|g| g.2 >= Duration::from_millis(200))
            .count();
        assert!(
            delayed > 20 && delayed < 60,
            "{delayed} of 60 replies delayed, expected ~40"
        );
        for (i, r, t) in got {
            assert_eq!(r.unwrap(), format!("handler2-{i}"));
            // At most 2.2 s of delay; loose, so a busy machine cannot fail it,
            // but a delay in the wrong unit (seconds) would.
            assert!(t < Duration::from_secs(5), "reply {i} took {t:?}");
        }
    }

    /// A reply from a server that was replaced while its handler ran is never
    /// delivered, even if the handler finishes before any periodic check.
    #[test]
    fn server_replaced_mid_call() {
        let (net, js, e) = setup("s", "e");
        let gate = close_gate_later(&js);
        let p = e.call_async::<_, i64>("JunkServer.Handler3", &7i64);
        thread::sleep(Duration::from_millis(20));
        let fresh = Server::new();
        fresh.add_service(junk_service(&Arc::new(Junk::default())));
        net.add_server("s", fresh);
        drop(gate); // the old handler returns now
        assert_eq!(p.wait().unwrap_err(), RpcError::Failed);
        // The new server answers.
        let r: String = e.call("JunkServer.Handler2", &1i64).unwrap();
        assert_eq!(r, "handler2-1");
    }

    /// Disabling the end while the handler runs fails the call, and the late
    /// reply is discarded.
    #[test]
    fn disabled_end_mid_call() {
        let (net, js, e) = setup("s", "e");
        let gate = close_gate_later(&js);
        let p = e.call_async::<_, i64>("JunkServer.Handler3", &7i64);
        thread::sleep(Duration::from_millis(20));
        net.enable("e", false);
        let t0 = Instant::now();
        let (tx, rx) = unbounded();
        thread::spawn(move || tx.send(p.wait()));
        // The handler is held for up to 20 s; the call must fail long before.
        let r = rx
            .recv_timeout(Duration::from_secs(2))
            .expect("call still stuck");
        assert_eq!(r.unwrap_err(), RpcError::Failed);
        assert!(t0.elapsed() < Duration::from_secs(2));
        drop(gate);
    }

    #[test]
    fn unknown_method() {
        let (net, _js, e) = setup("s", "e");
        let r = e.call::<_, String>("JunkServer.NoSuchHandler", &1i64);
        assert_eq!(
            r.unwrap_err(),
            RpcError::UnknownMethod("JunkServer.NoSuchHandler".into())
        );
        let r = e.call::<_, String>("NoSuchService.Handler2", &1i64);
        assert_eq!(
            r.unwrap_err(),
            RpcError::UnknownMethod("NoSuchService.Handler2".into())
        );
        let r = e.call::<_, String>("no dot at all", &1i64);
        assert!(matches!(r, Err(RpcError::UnknownMethod(_))));
        // The server counted the requests and is still healthy.
        assert_eq!(net.count("s"), 3);
        let ok: String = e.call("JunkServer.Handler2", &5i64).unwrap();
        assert_eq!(ok, "handler2-5");
    }

    /// Every message carries a checksum: a garbled frame is refused before
    /// the handler sees it, and a frame with a good checksum but bytes that
    /// are not the handler's type is `BadArgs`. Neither reaches a handler.
    #[test]
    fn garbled_frames_never_reach_a_handler() {
        use ::labrpc::{checksum, codec};
        let (_net, js, e) = setup("s", "e");
        let good = checksum::seal(codec::encode(&"77".to_string()).unwrap());
        let payload = e.call_raw("JunkServer.Handler1", good.clone()).unwrap();
        assert_eq!(codec::decode::<i64>(&payload).unwrap(), 77);
        assert_eq!(js.log1.lock().len(), 1);
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            let r = e.call_raw("JunkServer.Handler1", bad);
            assert!(matches!(r, Err(RpcError::Corrupt(_))), "bit {bit}: {r:?}");
        }
        for frame in [vec![], vec![1, 2, 3], good[..good.len() - 1].to_vec()] {
            let r = e.call_raw("JunkServer.Handler1", frame);
            assert!(matches!(r, Err(RpcError::Corrupt(_))), "{r:?}");
        }
        // Past the checksum, bytes that do not decode as the handler's type.
        let r = e.call_raw("JunkServer.Handler1", checksum::seal(vec![0xff; 9]));
        assert!(matches!(r, Err(RpcError::BadArgs(_))), "{r:?}");
        assert_eq!(js.log1.lock().len(), 1, "no garbled call ran the handler");
    }

    /// A handler with nobody to answer for (`method_or_fail` returning None)
    /// fails the call like a server that is gone; it makes up no reply.
    #[test]
    fn handler_that_declines_fails_the_call() {
        let net = Network::new();
        let rs = Server::new();
        rs.add_service(
            Service::new("Maybe").method_or_fail("Echo", |x: i64| (x >= 0).then_some(x)),
        );
        net.add_server("m", rs);
        let e = net.make_end("me");
        net.connect("me", "m");
        net.enable("me", true);
        assert_eq!(e.call::<_, i64>("Maybe.Echo", &7i64), Ok(7));
        assert_eq!(
            e.call::<_, i64>("Maybe.Echo", &-1i64),
            Err(RpcError::Failed)
        );
        assert_eq!(
            net.count("m"),
            2,
            "the request was delivered; only the reply is missing"
        );
    }

    /// Arguments of the wrong type, or a reply read as the wrong type, fail the
    /// call with an error naming the cause; nothing panics.
    #[test]
    fn malformed_payload() {
        let (_net, _js, e) = setup("s", "e");
        // Handler4 wants JunkArgs { x: i64 }; a long string is not that.
        let r = e.call::<_, JunkReply>("JunkServer.Handler4", &"not junk args".repeat(10));
        match r {
            Err(RpcError::BadArgs(m)) => assert!(m.contains("Handler4"), "{m}"),
            other => panic!("expected BadArgs, got {other:?}"),
        }
        // Handler2 replies with a String; reading it as a bool fails.
        let r = e.call::<_, bool>("JunkServer.Handler2", &1i64);
        assert!(matches!(r, Err(RpcError::BadReply(_))), "{r:?}");
        // Still healthy afterwards.
        let ok: String = e.call("JunkServer.Handler2", &5i64).unwrap();
        assert_eq!(ok, "handler2-5");
    }

    /// 1,000 calls held in long-reordering delays cost heap entries, not threads.
    #[test]
    fn thread_count_under_delayed_calls() {
        let (net, _js, e) = setup("s", "e");
        net.set_long_reordering(true);
        let before = ::labrpc::os_thread_count().expect("/proc/self/status");
        let pending: Vec<_> = (0..1000i64)
            .map(|i| e.call_async::<_, String>("JunkServer.Handler2", &i))
            .collect();
        thread::sleep(Duration::from_millis(100));
        let during = ::labrpc::os_thread_count().unwrap();
        println!("threads: {before} before, {during} while 1000 calls are delayed");
        // Generous: the timer, the handler pool's soft cap, and the test harness.
        assert!(
            during <= before + 32,
            "{during} threads for 1000 delayed calls (was {before})"
        );
        let ok = pending.into_iter().filter_map(|p| p.wait().ok()).count();
        assert_eq!(ok, 1000, "reliable network lost a reordered reply");
    }

    /// Derived seeds repeat with the network's seed, call by call, and differ
    /// from one call to the next (Raft draws its election timeouts from them).
    #[test]
    fn derived_seeds_replay_with_the_network_seed() {
        let draw = |seed| {
            let net = Network::with_seed(seed);
            let e = net.make_end("e");
            (0..5).map(|_| e.derive_seed()).collect::<Vec<u64>>()
        };
        let (a, b, other) = (draw(42), draw(42), draw(43));
        assert_eq!(a, b);
        assert_ne!(a, other);
        let mut distinct = a.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), a.len(), "{a:?}");
        assert!(!a.contains(&42));
    }
}
