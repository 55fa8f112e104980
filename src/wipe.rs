//! Buffers that may hold secrets (a profile or token file, an answer carrying temporary
//! keys) grow without leaving a copy behind: `Vec`'s own growth reallocates and frees the
//! old block as it was, readable by whatever reuses that memory.

use zeroize::Zeroize;

/// The largest block [`reserve`] zeroes as it leaves it: the files that hold secrets
/// are at most 64 KiB (`MAX_PROFILE_FILE_BYTES`, `MAX_TOKEN_FILE_BYTES`) and answers
/// with temporary keys a few hundred bytes. Larger blocks grow in place: a copy beside
/// each would hold a 16 MiB body three times over (old, new and the new one's room), and
/// the allocator keeps the freed blocks resident.
pub(crate) const WIPED_UP_TO: usize = 64 << 10;

/// Makes room for `additional` more bytes in `bytes`. When it must grow from a block of
/// at most [`WIPED_UP_TO`] bytes, what it holds moves to a new block (twice as large, or
/// as large as needed) and the old block is zeroed before it is freed.
pub(crate) fn reserve(bytes: &mut Vec<u8>, additional: usize) {
    if bytes.capacity() - bytes.len() >= additional {
        return;
    }
    if bytes.capacity() > WIPED_UP_TO {
        bytes.reserve(additional);
        return;
    }
    let needed = bytes.len().saturating_add(additional);
    let mut larger = Vec::with_capacity(needed.max(bytes.capacity().saturating_mul(2)));
    larger.extend_from_slice(bytes);
    let mut old = std::mem::replace(bytes, larger);
    old.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_the_bytes_and_room_is_not_taken_twice() {
        let mut bytes = Vec::with_capacity(4);
        bytes.extend_from_slice(b"abc");
        reserve(&mut bytes, 1);
        assert_eq!(bytes.capacity(), 4, "room enough: no new block");
        reserve(&mut bytes, 2);
        assert_eq!(&bytes[..], b"abc");
        assert!(bytes.capacity() >= 8, "doubled: {}", bytes.capacity());
        reserve(&mut bytes, 100);
        assert_eq!(&bytes[..], b"abc");
        assert!(bytes.capacity() >= 103);
        // Past the largest block wiped, on as Vec grows.
        bytes.resize(WIPED_UP_TO + 1, 1);
        reserve(&mut bytes, 1 << 20);
        assert!(bytes.capacity() >= WIPED_UP_TO + 1 + (1 << 20));
        assert!(bytes.starts_with(b"abc") && bytes[3..].iter().all(|&b| b == 1));
    }
}
