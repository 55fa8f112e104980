//! Differential: the same answer bytes go to tcsms's HTTP/1.1 answer reader
//! (src/transport/http.rs, delivered in pieces of a size the first input byte chooses) and
//! to ureq-proto's client state machine (the protocol crate ureq itself uses, given the
//! whole answer). When both read a complete answer, they must agree on the status, on the
//! body byte for byte, and on framing: a connection tcsms would use again is one
//! ureq-proto does not need closed. (Where only one of them accepts the bytes, the two
//! differ by design: tcsms refuses more than 256 header lines, bodies over its limit,
//! answers with bytes left over, 101 Switching Protocols, an HTTP/1.0 answer with
//! Transfer-Encoding, whose framing RFC 9112 section 6.1 calls faulty, and a final transfer
//! coding other than chunked, which it never asks for and which ureq-proto frames by a
//! Content-Length beside it where RFC 9112 section 6.3 reads until close, and a
//! Transfer-Encoding with non-ASCII bytes, whose line ureq-proto skips whole.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcsms::fuzzing::read_answer_from;
use ureq_proto::client::{Call, RecvBodyResult, RecvResponseResult, SendRequestResult};
use ureq_proto::http::Request;

const LIMIT: u64 = 4096;

/// ureq-proto's reading of `answer` to a GET: status, body, must the connection close;
/// `None` when it reads no complete answer.
fn ureq_proto_answer(answer: &[u8]) -> Option<(u16, Vec<u8>, bool)> {
    let request = Request::get("http://127.0.0.1/").body(()).ok()?;
    let mut call = Call::new(request).ok()?.proceed();
    let mut output = vec![0u8; 1024];
    call.write(&mut output).ok()?;
    let Ok(Some(SendRequestResult::RecvResponse(mut call))) = call.proceed() else { return None };
    let mut at = 0;
    let status = loop {
        let (used, response) = call.try_response(&answer[at..], false).ok()?;
        at += used;
        if let Some(response) = response {
            break response.status().as_u16();
        }
        if used == 0 {
            return None; // an incomplete head
        }
    };
    let mut body = Vec::new();
    let cleanup = match call.proceed()? {
        RecvResponseResult::RecvBody(mut call) => {
            let mut buf = vec![0u8; 8192];
            loop {
                let (used, produced) = call.read(&answer[at..], &mut buf).ok()?;
                at += used;
                body.extend_from_slice(&buf[..produced]);
                if used == 0 && produced == 0 {
                    break;
                }
            }
            // The bytes ended: a close-delimited body is complete, others must have ended.
            match call.proceed()? {
                RecvBodyResult::Cleanup(c) => c,
                RecvBodyResult::Redirect(r) => r.proceed(),
            }
        }
        RecvResponseResult::Cleanup(c) => c,
        RecvResponseResult::Redirect(r) => r.proceed(),
    };
    Some((status, body, cleanup.must_close_connection()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, answer)) = data.split_first() else { return };
    let step = usize::from(step % 64) + 1;
    let Ok((status, body, reusable)) = read_answer_from(answer, step, LIMIT) else { return };
    let Some((their_status, their_body, must_close)) = ureq_proto_answer(answer) else { return };
    assert_eq!(status, their_status, "status");
    assert!(
        body == their_body,
        "bodies differ: {:?} vs ureq-proto {:?}",
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&their_body)
    );
    assert!(!(reusable && must_close), "tcsms would reuse a connection ureq-proto must close");
});
