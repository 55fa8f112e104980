//! Chunk framing with sizes near `u64::MAX`: the input picks a sequence of chunks, each
//! either small (with its data) or of a size within 2^16 of `u64::MAX` (or of a power of
//! two), written in hex with the input's choice of case and leading zeros, and the piece
//! size the answer arrives in. The reader of `src/http.rs` must refuse any answer whose
//! running total passes the limit (an overflowing sum must never lift it), return exactly
//! the data of an answer within it (a wrapped sum shows as a body over the limit, a wrong
//! body, or memory past libFuzzer's RSS limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcsms::fuzzing::read_answer_from;

const LIMIT: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&step, mut rest)) = data.split_first() else { return };
    let step = usize::from(step % 64) + 1;
    let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut expected = Vec::new();
    // The running total, without overflow, and whether it passed the limit.
    let mut total: u128 = 0;
    let mut over = false;
    while let [kind, a, b, tail @ ..] = rest {
        rest = tail;
        let near = u16::from_le_bytes([*a, *b]) as u64;
        let size = match kind % 4 {
            0 => u64::MAX - near,
            1 => 1u64.checked_shl(u32::from(*a % 64)).unwrap_or(1).wrapping_add(near & 0xff),
            2 => LIMIT.wrapping_sub(total as u64).wrapping_add(near % 3).wrapping_sub(1),
            _ => near % 200,
        };
        let hex = if kind & 4 != 0 { format!("{size:X}") } else { format!("{size:x}") };
        let zeros = if kind & 8 != 0 { "000" } else { "" };
        answer.extend_from_slice(format!("{zeros}{hex}\r\n").as_bytes());
        if size == 0 {
            break;
        }
        total += u128::from(size);
        if total > u128::from(LIMIT) {
            over = true;
            // The reader must stop at this size line: nothing after it matters.
            answer.extend_from_slice(b"data that must never be read");
            break;
        }
        let chunk: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        answer.extend_from_slice(&chunk);
        answer.extend_from_slice(b"\r\n");
        expected.extend_from_slice(&chunk);
    }
    if !over {
        answer.extend_from_slice(b"0\r\n\r\n");
    }
    match read_answer_from(&answer, step, LIMIT) {
        Ok((status, body, _)) => {
            assert!(!over, "an answer of {total} bytes passed a limit of {LIMIT}");
            assert_eq!(status, 200);
            assert_eq!(body, expected, "the body is not the chunks' data");
        }
        Err(message) => {
            // Only an answer over the limit may be refused, and only for its size (a
            // zero-padded size longer than the chunk-size line allows is malformed).
            let malformed = message.contains("malformed");
            assert!(over || malformed, "a valid answer of {total} bytes refused: {message}");
            if over && !malformed {
                assert!(message.contains("larger than request limit"), "{message}");
            }
        }
    }
});
