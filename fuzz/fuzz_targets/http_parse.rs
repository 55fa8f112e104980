//! The HTTP/1.1 answer reader of `src/transport/http.rs`, without a socket: the input is what a
//! server sends, delivered in pieces of a size the input also chooses (its first byte),
//! so heads, chunk sizes and bodies are cut at every place. Whatever arrives, the reader
//! returns an answer or an error (no panic, no endless loop), keeps to the body limit,
//! and a body it returns is what the framing says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcsms::fuzzing::read_answer_from;

const LIMIT: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&step, answer)) = data.split_first() else { return };
    let step = usize::from(step % 64) + 1;
    match read_answer_from(answer, step, LIMIT) {
        Ok((status, body, reusable)) => {
            assert!((100..1000).contains(&status), "status {status}");
            assert!(body.len() as u64 <= LIMIT, "a body of {} bytes over the limit", body.len());
            // The same bytes in one piece give the same answer: framing does not depend
            // on how the bytes arrive. (Reuse may: bytes beyond the answer that already
            // arrived make the connection unusable.)
            let whole = read_answer_from(answer, answer.len().max(1), LIMIT).expect("the same answer in one piece");
            assert_eq!((whole.0, &whole.1), (status, &body));
            assert!(!whole.2 || reusable, "reusable in one piece, not in pieces");
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
