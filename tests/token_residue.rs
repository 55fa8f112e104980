//! No heap copy of the session token (or the secret key) outlives the client: every
//! block of memory freed by this test binary is searched for them on its way back to
//! the allocator. A block that still holds a secret when it is freed is a copy left
//! behind in the heap, readable by whatever reuses that memory (issue 10 finding 8).
//!
//! One test only: the allocator counts for the whole process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use zeroize::Zeroizing;

#[path = "support/hostile.rs"]
mod hostile;
use hostile::next_request;

const TOKEN: &[u8] = b"residue-token-5b1f0c7e93";
const SECRET_KEY: &[u8] = b"residue-secret-key-8e2d41";

static FREED_WITH_TOKEN: AtomicUsize = AtomicUsize::new(0);
static FREED_WITH_KEY: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the test's own server thread, whose reads are not the client's copies.
    static NOT_COUNTED: Cell<bool> = const { Cell::new(false) };
}

struct Scanning;

fn holds(block: &[u8], needle: &[u8]) -> bool {
    block.windows(needle.len()).any(|w| w == needle)
}

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the block is live until System.dealloc below.
        let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
        if !NOT_COUNTED.with(Cell::get) {
            if holds(block, TOKEN) {
                FREED_WITH_TOKEN.fetch_add(1, Ordering::SeqCst);
            }
            if holds(block, SECRET_KEY) {
                FREED_WITH_KEY.fetch_add(1, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    // realloc: the default moves through alloc + dealloc, so a moved block is scanned.
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 84\r\n\r\n{\"Response\":{\"ReportConversionStatus\":{\"Code\":\"OK\",\"Message\":\"ok\"},\"RequestId\":\"r\"}}";

/// Answers `requests` requests on one connection, reading into a stack buffer.
fn serve(listener: TcpListener, requests: usize) {
    NOT_COUNTED.with(|c| c.set(true));
    let (mut stream, _) = listener.accept().unwrap();
    let mut buf = [0u8; 8192];
    for _ in 0..requests {
        // Each request is one small write (head and body together); read it whole.
        let mut got = 0;
        loop {
            got += stream.read(&mut buf[got..]).unwrap();
            if got == 0 || buf[..got].ends_with(b"}") {
                break;
            }
        }
        stream.write_all(ANSWER).unwrap();
    }
}

/// Serves the instance metadata service of a CVM role `r` whose temporary keys are the
/// test's secrets (chunked in pieces of 7 bytes when `chunked`, so that the body grows as
/// it is read), and answers anything else as the SMS API, on each connection accepted.
fn serve_role(listener: TcpListener, chunked: bool) {
    NOT_COUNTED.with(|c| c.set(true));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        std::thread::spawn(move || {
            NOT_COUNTED.with(|c| c.set(true));
            let mut seen = Vec::new();
            while let Some((head, _)) = next_request(&mut stream, &mut seen) {
                if !head.starts_with("GET /latest/meta-data/cam/security-credentials/r ") {
                    stream.write_all(ANSWER).unwrap();
                    continue;
                }
                let expires =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
                let body = format!(
                    r#"{{"TmpSecretId":"AKIDtmp","TmpSecretKey":"{}","ExpiredTime":{expires},"Token":"{}","Code":"Success"}}"#,
                    std::str::from_utf8(SECRET_KEY).unwrap(),
                    std::str::from_utf8(TOKEN).unwrap()
                );
                let answer = if chunked {
                    let mut answer = String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                    for piece in body.as_bytes().chunks(7) {
                        answer.push_str(&format!("{:x}\r\n{}\r\n", piece.len(), std::str::from_utf8(piece).unwrap()));
                    }
                    answer + "0\r\n\r\n"
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                };
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
    }
}

/// Set for the child process of the test (see its end).
const CHILD: &str = "TCSMS_RESIDUE_CHILD";

#[test]
fn no_copy_of_the_token_or_key_is_freed_without_being_zeroed() {
    if std::env::var_os(CHILD).is_some() {
        return profile_larger_than_its_size();
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve(listener, 3));

    // Built without reallocating, and zeroed on drop: the test leaves no copy itself.
    let mut config = Zeroizing::new(String::with_capacity(512));
    config.push_str(r#"{"secret_id":"AKIDresidue","secret_key":""#);
    config.push_str(std::str::from_utf8(SECRET_KEY).unwrap());
    config.push_str(r#"","token":""#);
    config.push_str(std::str::from_utf8(TOKEN).unwrap());
    config.push_str(r#"","max_retries":0,"endpoint":"http://127.0.0.1:"#);
    config.push_str(&port.to_string());
    config.push_str(r#""}"#);

    let client = tcsms::Client::from_json(&config).unwrap();
    for _ in 0..3 {
        client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1"}"#).unwrap();
        // The one connection rests after each exchange before it carries the next.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(client);
    drop(config);
    server.join().unwrap();

    // The same secrets from a profile file (read, parsed into its lines, then kept): with
    // nothing else configured, the client has them from there or fails to build.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || serve(listener, 1));
    let path = std::env::temp_dir().join(format!("tcsms-residue-{}.ini", std::process::id()));
    let mut profile = Zeroizing::new(String::with_capacity(512));
    profile.push_str("[other]\nsecret_id = AKIDother\n\n[default]\nsecret_id = AKIDresidue\nsecret_key = ");
    profile.push_str(std::str::from_utf8(SECRET_KEY).unwrap());
    profile.push_str("\ntoken = ");
    profile.push_str(std::str::from_utf8(TOKEN).unwrap());
    profile.push('\n');
    std::fs::write(&path, profile.as_bytes()).unwrap();
    drop(profile);
    std::env::set_var("TENCENTCLOUD_CREDENTIALS_FILE", &path);
    let client =
        tcsms::Client::from_json(&format!(r#"{{"max_retries":0,"endpoint":"http://127.0.0.1:{port}"}}"#)).unwrap();
    client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1"}"#).unwrap();
    drop(client);
    server.join().unwrap();
    let _ = std::fs::remove_file(&path);

    // The same secrets as a CVM role's temporary keys, answered by the metadata service
    // with a length and chunked: the answer passes through the connection's input buffer
    // and, chunked, a body that grows as it is read.
    for chunked in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        std::thread::spawn(move || serve_role(listener, chunked));
        let client = tcsms::Client::from_json(&format!(
            r#"{{"max_retries":0,"endpoint":"{url}","metadata_endpoint":"{url}","credential_source":"cvm_role","cvm_role_name":"r"}}"#
        ))
        .unwrap();
        client.call("ReportConversion", r#"{"SmsSdkAppId":"1400000001","SerialNo":"2433:1"}"#).unwrap();
        drop(client);
    }

    let (token, key) = (FREED_WITH_TOKEN.load(Ordering::SeqCst), FREED_WITH_KEY.load(Ordering::SeqCst));
    assert_eq!(token, 0, "blocks freed with the token still in them");
    assert_eq!(key, 0, "blocks freed with the secret key still in them");

    // A profile file larger than its size says, so that reading it must grow the
    // buffer: /proc/self/environ of a child whose environment holds a [default] section
    // (then 16 KiB more, read after the secrets). Spawned last: the copies of the
    // secrets this process makes for the child's environment are not the client's.
    let mut profile = String::from("\n[default]\nsecret_id = AKIDresidue\nsecret_key = ");
    profile.push_str(std::str::from_utf8(SECRET_KEY).unwrap());
    profile.push_str("\ntoken = ");
    profile.push_str(std::str::from_utf8(TOKEN).unwrap());
    profile.push('\n');
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_copy_of_the_token_or_key_is_freed_without_being_zeroed", "--nocapture"])
        .env(CHILD, "1")
        .env("TCSMS_RESIDUE_A_PROFILE", &profile)
        .env("TCSMS_RESIDUE_B_PADDING", "p".repeat(16 << 10))
        .env("TENCENTCLOUD_CREDENTIALS_FILE", "/proc/self/environ")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "the child reading its profile from /proc/self/environ: {}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
}

/// The child's part: a client whose credentials come from a profile file of size 0 that
/// is not empty.
fn profile_larger_than_its_size() {
    assert_eq!(std::fs::metadata("/proc/self/environ").unwrap().len(), 0);
    let client = tcsms::Client::from_json(r#"{"max_retries":0,"endpoint":"http://127.0.0.1:9"}"#)
        .expect("credentials from the profile in /proc/self/environ");
    drop(client);
    let (token, key) = (FREED_WITH_TOKEN.load(Ordering::SeqCst), FREED_WITH_KEY.load(Ordering::SeqCst));
    assert_eq!(token, 0, "blocks freed with the token still in them (profile of size 0)");
    assert_eq!(key, 0, "blocks freed with the secret key still in them (profile of size 0)");
}
