//! The id of the calling process without a syscall on every call.
//!
//! Pooled connections, completion queues, the shared rate-limit store and credential
//! refreshes compare the current process with the one that made them, so that a child
//! of `fork()` never uses its parent's sockets, threads or fetches. `getpid(2)` is a
//! syscall (glibc no longer caches it), which a call made three or four times. Here the
//! id is read once and kept in a page the kernel zeroes in a child at `fork()`
//! (`MADV_WIPEONFORK`, Linux 4.14 and later): a child finds 0 there and reads its own
//! id. Where the kernel refuses the advice (older kernels) or elsewhere than Linux,
//! [`id`] asks the kernel every time, as before. No lock is taken, so a child forked
//! while another thread was in here cannot be stuck.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

/// The page holding the id, once made (null: not yet).
static SLOT: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());
/// The kernel refused to make such a page.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// The id of the calling process, as [`std::process::id`] says.
pub fn id() -> u32 {
    let Some(slot) = slot() else { return std::process::id() };
    match slot.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            slot.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

#[allow(unsafe_code)] // turns the page's address into a reference
fn slot() -> Option<&'static AtomicU32> {
    let made = SLOT.load(Ordering::Acquire);
    if !made.is_null() {
        // SAFETY: a non-null SLOT points to a zeroed, aligned page mapped for the life of
        // the process (never unmapped once stored).
        return Some(unsafe { &*made });
    }
    if UNAVAILABLE.load(Ordering::Relaxed) {
        return None;
    }
    let Some(page) = wiped_on_fork() else {
        UNAVAILABLE.store(true, Ordering::Relaxed);
        return None;
    };
    let kept = match SLOT.compare_exchange(std::ptr::null_mut(), page, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => page,
        Err(other) => {
            // Another thread made one first: use that one, give this one back.
            unmap(page);
            other
        }
    };
    // SAFETY: `kept` is the page stored in SLOT, as above.
    Some(unsafe { &*kept })
}

const PAGE: usize = 4096;

/// A zeroed private page the kernel zeroes again in a child at `fork()`, or None.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // mmap(2) and madvise(2), which std does not offer
fn wiped_on_fork() -> Option<*mut AtomicU32> {
    // SAFETY: asks for a new anonymous private mapping (no existing memory is touched)
    // and checks the result; the advice applies to that mapping only.
    unsafe {
        let page = libc::mmap(
            std::ptr::null_mut(),
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if page == libc::MAP_FAILED {
            return None;
        }
        if libc::madvise(page, PAGE, libc::MADV_WIPEONFORK) != 0 {
            libc::munmap(page, PAGE);
            return None;
        }
        // Page-aligned, zeroed: a valid AtomicU32 holding 0.
        Some(page.cast())
    }
}

#[cfg(not(target_os = "linux"))]
fn wiped_on_fork() -> Option<*mut AtomicU32> {
    None
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // munmap(2)
fn unmap(page: *mut AtomicU32) {
    // SAFETY: `page` is a mapping of PAGE bytes this module made and nobody else has seen.
    unsafe {
        libc::munmap(page.cast(), PAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn unmap(_: *mut AtomicU32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_process_s_and_a_forked_child_sees_its_own() {
        assert_eq!(id(), std::process::id());
        assert_eq!(id(), std::process::id(), "the second read, from the page");
        #[cfg(target_os = "linux")]
        {
            assert!(!SLOT.load(Ordering::Acquire).is_null(), "the kernel keeps a page wiped on fork");
            // SAFETY: fork(2) in a test; the child only reads ids, compares and _exits
            // (nothing that takes a lock another thread may have held).
            #[allow(unsafe_code)]
            let child = unsafe { libc::fork() };
            if child == 0 {
                // SAFETY: getpid(2) and _exit(2), async-signal-safe.
                #[allow(unsafe_code)]
                unsafe {
                    let own = libc::getpid() as u32;
                    libc::_exit(if id() == own && own != 0 { 0 } else { 1 });
                }
            }
            assert!(child > 0, "fork failed");
            let mut status = 0;
            // SAFETY: waits for the child just made, into a live local.
            #[allow(unsafe_code)]
            let waited = unsafe { libc::waitpid(child, &mut status, 0) };
            assert_eq!(waited, child);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child read its parent's id");
            assert_eq!(id(), std::process::id(), "the parent's id is unchanged");
        }
    }
}
