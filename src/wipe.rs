//! Buffers that may hold secrets (a profile or token file, an answer carrying temporary
//! keys) grow without leaving a copy behind: `Vec`'s own growth reallocates and frees the
//! old block as it was, readable by whatever reuses that memory.

use zeroize::Zeroize;

/// Makes room for `additional` more bytes in `bytes`. When it must grow, what it holds
/// moves to a new block (twice as large, or as large as needed) and the old block is
/// zeroed before it is freed.
pub(crate) fn reserve(bytes: &mut Vec<u8>, additional: usize) {
    if bytes.capacity() - bytes.len() >= additional {
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
    }
}
