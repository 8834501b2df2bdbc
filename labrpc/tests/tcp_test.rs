//! The TCP transport: the same services and errors as the simulated network,
//! over real sockets on 127.0.0.1 (ports the OS picks), and what a real
//! network does wrong: a server that is down, restarts, never answers, or is
//! sent garbage.

use labrpc::tcp::TcpServer;
use labrpc::{ClientEnd, RpcError, Server, Service};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn echo_server() -> Arc<Server> {
    let server = Server::new();
    server.add_service(
        Service::new("Echo")
            .method("Upper", |s: String| s.to_uppercase())
            .method("Slow", |ms: u64| {
                thread::sleep(Duration::from_millis(ms)); // a handler that takes time
                ms
            }),
    );
    server
}

#[test]
fn calls_reach_the_service_and_errors_come_back() {
    let srv = TcpServer::start("127.0.0.1:0", echo_server()).unwrap();
    let end = ClientEnd::tcp(srv.addr());
    let r: String = end.call("Echo.Upper", &"hello".to_string()).unwrap();
    assert_eq!(r, "HELLO");
    let e = end.call::<_, String>("Echo.Nope", &1u64).unwrap_err();
    assert_eq!(e, RpcError::UnknownMethod("Echo.Nope".into()));
    let e = end.call::<_, String>("Echo.Upper", &7u64).unwrap_err();
    assert!(matches!(e, RpcError::BadArgs(_)), "{e:?}");
    let e = end
        .call::<_, bool>("Echo.Upper", &"x".to_string())
        .unwrap_err();
    assert!(matches!(e, RpcError::BadReply(_)), "{e:?}");
    srv.stop();
}

#[test]
fn concurrent_calls_get_their_own_replies() {
    let srv = TcpServer::start("127.0.0.1:0", echo_server()).unwrap();
    let end = ClientEnd::tcp(srv.addr());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let end = end.clone();
            thread::spawn(move || {
                for i in 0..200 {
                    let s = format!("t{t}-{i}");
                    let r: String = end.call("Echo.Upper", &s).unwrap();
                    assert_eq!(r, s.to_uppercase());
                }
            })
        })
        .collect();
    // A slow call does not hold up the fast ones on the same connection.
    let slow = end.call_async::<_, u64>("Echo.Slow", &300u64);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(slow.wait().unwrap(), 300);
    srv.stop();
}

#[test]
fn a_stopped_server_fails_calls_and_a_restarted_one_is_reached_again() {
    let srv = TcpServer::start("127.0.0.1:0", echo_server()).unwrap();
    let addr = srv.addr();
    let end = ClientEnd::tcp(addr);
    let _: String = end.call("Echo.Upper", &"a".to_string()).unwrap();
    // A call waiting when the server goes away fails, it does not hang.
    let waiting = end.call_async::<_, u64>("Echo.Slow", &2000u64);
    srv.stop();
    let t0 = Instant::now();
    assert_eq!(waiting.wait().unwrap_err(), RpcError::Failed);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(
        end.call::<_, String>("Echo.Upper", &"b".to_string())
            .unwrap_err(),
        RpcError::Failed
    );
    // The same port again (a restarted node): the end reconnects after its backoff.
    let srv = TcpServer::start(&addr.to_string(), echo_server()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match end.call::<_, String>("Echo.Upper", &"c".to_string()) {
            Ok(r) => break assert_eq!(r, "C"),
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e, RpcError::Failed);
                thread::sleep(Duration::from_millis(20)); // the test's own pacing
            }
            Err(e) => panic!("no reconnect in 5 s: {e}"),
        }
    }
    srv.stop();
}

#[test]
fn a_server_that_never_answers_fails_the_call_after_the_timeout() {
    // Accepts, reads, never writes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let end = ClientEnd::tcp(addr);
    let t0 = Instant::now();
    let e = end
        .call::<_, String>("Echo.Upper", &"x".to_string())
        .unwrap_err();
    assert_eq!(e, RpcError::Failed);
    let took = t0.elapsed();
    assert!(took >= labrpc::tcp::client::CALL_TIMEOUT, "{took:?}");
    drop(end); // closes the connection: the silent server sees its end
    silent.join().unwrap();
}

#[test]
fn garbage_and_huge_lengths_close_that_connection_only() {
    let srv = TcpServer::start("127.0.0.1:0", echo_server()).unwrap();
    let addr = srv.addr();
    for bytes in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        [b"LRPC".as_slice(), &u32::MAX.to_le_bytes()].concat(),
        [
            b"LRPC".as_slice(),
            &5u32.to_le_bytes(),
            b"hello",
            &[0, 0, 0, 0],
        ]
        .concat(),
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&bytes).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        // The server closes the connection without a reply.
        assert_eq!(s.read_to_end(&mut rest).unwrap(), 0);
    }
    // Everyone else is still served.
    let end = ClientEnd::tcp(addr);
    let r: String = end.call("Echo.Upper", &"still here".to_string()).unwrap();
    assert_eq!(r, "STILL HERE");
    srv.stop();
}

#[test]
fn a_server_that_is_down_fails_fast() {
    // Bind and drop: nobody listens on this port now.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let end = ClientEnd::tcp(addr);
    let t0 = Instant::now();
    for _ in 0..100 {
        assert_eq!(
            end.call::<_, String>("Echo.Upper", &"x".to_string())
                .unwrap_err(),
            RpcError::Failed
        );
    }
    // One refused connect, then the backoff answers at once.
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}
