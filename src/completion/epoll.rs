//! The queue's descriptor on Linux: an epoll set holding the sockets of the calls that
//! wait for their answers, the workers' wake-up descriptor and a timer for the nearest
//! deadline. Its system calls are the only `unsafe` here, each with its SAFETY note.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The token of the workers' wake-up descriptor.
pub(super) const SIGNAL: u64 = u64::MAX;
/// The token of the deadline timer.
pub(super) const TIMER: u64 = u64::MAX - 1;
/// The most events taken from the set at once.
pub(super) const EVENTS: usize = 64;

pub(super) struct Poller {
    epoll: i32,
    timer: i32,
    closed: AtomicBool,
}

fn check(result: i32) -> io::Result<i32> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

#[allow(unsafe_code)] // epoll and timerfd system calls
impl Poller {
    /// A set holding `signal` (readable while completions wait) and the timer.
    pub(super) fn new(signal: i32) -> io::Result<Poller> {
        // SAFETY: plain syscall; the result is checked.
        let epoll = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: plain syscall; the result is checked.
        let timer =
            match check(unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) })
            {
                Ok(timer) => timer,
                Err(e) => {
                    // SAFETY: closes the descriptor just created and owned here.
                    unsafe { libc::close(epoll) };
                    return Err(e);
                }
            };
        let poller = Poller { epoll, timer, closed: AtomicBool::new(false) };
        // Non-blocking, as the eventfd it replaces: Go's runtime polls a descriptor only
        // when it is (os.NewFile), and nobody may block reading it.
        // SAFETY: plain syscalls on the descriptor just created; the result is checked.
        check(unsafe { libc::fcntl(epoll, libc::F_SETFL, libc::fcntl(epoll, libc::F_GETFL) | libc::O_NONBLOCK) })?;
        poller.control(libc::EPOLL_CTL_ADD, signal, libc::EPOLLIN as u32, SIGNAL)?;
        poller.control(libc::EPOLL_CTL_ADD, timer, libc::EPOLLIN as u32, TIMER)?;
        Ok(poller)
    }

    pub(super) fn fd(&self) -> i32 {
        self.epoll
    }

    fn control(&self, op: i32, fd: i32, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: registers `fd` in our set with a live event description.
        check(unsafe { libc::epoll_ctl(self.epoll, op, fd, &mut event) }).map(drop)
    }

    /// Reports `fd` once (with `token`) when it becomes readable or its peer hangs up,
    /// then not again until it is watched again: a socket stays in the set, disarmed,
    /// between its calls (re-arming it costs one `epoll_ctl`, adding and removing it two).
    pub(super) fn watch(&self, fd: i32, token: u64) -> io::Result<()> {
        let events = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT) as u32;
        match self.control(libc::EPOLL_CTL_MOD, fd, events, token) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.control(libc::EPOLL_CTL_ADD, fd, events, token),
            other => other,
        }
    }

    /// Hands `each` the token of everything ready now (up to [`EVENTS`]), without
    /// waiting; returns how many.
    pub(super) fn ready(&self, mut each: impl FnMut(u64)) -> usize {
        let mut events = std::mem::MaybeUninit::<[libc::epoll_event; EVENTS]>::uninit();
        let first = events.as_mut_ptr().cast::<libc::epoll_event>();
        // SAFETY: epoll_wait writes at most EVENTS entries into the array.
        let n = unsafe { libc::epoll_wait(self.epoll, first, EVENTS as i32, 0) };
        for i in 0..n.max(0) as usize {
            // SAFETY: entry i < n was written by epoll_wait (read unaligned: the struct is packed).
            let event = unsafe { first.add(i).read_unaligned() };
            each(event.u64);
        }
        n.max(0) as usize
    }

    /// Makes the timer fire `after` from now (at least a nanosecond: zero would disarm it).
    pub(super) fn arm(&self, after: Duration) {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: after.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: sets our timer from a live description; no old value is asked for.
        unsafe { libc::timerfd_settime(self.timer, 0, &spec, std::ptr::null_mut()) };
    }

    /// Takes the timer's expiry, so that it no longer reads as ready.
    pub(super) fn clear_timer(&self) {
        let mut expirations = 0u64;
        // SAFETY: reads 8 bytes into a live local from our non-blocking timer.
        let _ = unsafe { libc::read(self.timer, (&mut expirations as *mut u64).cast(), 8) };
    }

    /// Closes the descriptors, once.
    pub(super) fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: descriptors owned by this value, closed once (the flag above).
        unsafe {
            libc::close(self.timer);
            libc::close(self.epoll);
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.close();
    }
}
