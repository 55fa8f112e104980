//! Identifiers the service hands out: RequestIds (UUID v4 form) and SerialNos.
//!
//! They only need to be unique and well-formed, not secret: a SplitMix64 sequence seeded
//! from the clock and the process id gives distinct values for every call in a process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SEED: OnceLock<u64> = OnceLock::new();

fn seed() -> u64 {
    *SEED.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    })
}

/// A fresh pseudo-random 64-bit value (never repeats within the process).
pub fn next_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = seed().wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A RequestId: a lowercase UUID in version-4 form.
pub fn request_id() -> String {
    let hi = next_u64();
    let lo = next_u64();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000; // version 4
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000; // variant 10
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// The prefix of every SerialNo this emulator issues.
pub const SERIAL_PREFIX: &str = "2433:";

static SERIALS: AtomicU64 = AtomicU64::new(0);

/// A SerialNo in the service's format: four digits, a colon, 28 digits.
pub fn serial_no(unix_secs: u64) -> String {
    let n = SERIALS.fetch_add(1, Ordering::Relaxed) % 100_000_000;
    format!("{SERIAL_PREFIX}{:010}{n:08}{:010}", unix_secs % 10_000_000_000, next_u64() % 10_000_000_000)
}

/// Longest SerialNo ReportConversion takes (the service's are 33 or 36 characters).
const MAX_SERIAL_LEN: usize = 64;

/// Whether the service could have issued `s` as a SerialNo. The documentation shows two
/// shapes, `5000:1045710669157053657849499619` (SendSms) and a UUID-like one
/// (`a12gb4e2-sd11-5dx6-aav9-8f3d97xa2xu7`, not even hex), so any short run of letters,
/// digits, `:`, `-` and `_` passes; empty, long or spaced text does not.
pub fn plausible_serial_no(s: &str) -> bool {
    (1..=MAX_SERIAL_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b":-_".contains(&b))
}

/// `n` random characters from [A-Za-z0-9], from the kernel's generator (the clock-seeded
/// sequence of this module when that fails).
pub fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    // /dev/urandom rather than getrandom(2)'s libc wrapper, which glibc 2.17 (the portable
    // build's floor) lacks.
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        for b in &mut bytes {
            *b = next_u64() as u8;
        }
    }
    // 62 does not divide 256; the bias is irrelevant for a test emulator's keys.
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_alphanumeric_and_distinct() {
        let (a, b) = (random_alnum(160), random_alnum(160));
        assert_eq!(a.len(), 160);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn request_ids_are_uuid_v4() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn serial_numbers_have_the_real_shape() {
        let s = serial_no(1_700_000_000);
        assert!(s.starts_with("2433:"));
        assert_eq!(s.len(), 5 + 28);
        assert!(plausible_serial_no(&s));
        assert_ne!(s, serial_no(1_700_000_000));
    }

    #[test]
    fn documented_serial_numbers_are_plausible() {
        for good in ["5000:1045710669157053657849499619", "a12gb4e2-sd11-5dx6-aav9-8f3d97xa2xu7", "2433:12"] {
            assert!(plausible_serial_no(good), "{good}");
        }
        for bad in ["", "not a serial", "2433:1\n", &"9".repeat(65), "序列号"] {
            assert!(!plausible_serial_no(bad), "{bad:?}");
        }
    }
}
