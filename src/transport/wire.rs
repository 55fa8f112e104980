//! What a completion queue's event loop needs of a connection beyond ureq's
//! [`Transport`]: its socket, to wait for with epoll, and a read that never waits.
//!
//! The loop sends a request on a pooled connection and returns; when epoll says the
//! socket is readable it moves what has arrived into the connection's input buffer with
//! [`Wire::pump`], and reads the answer once it is whole there. Everything else (a
//! connection through a proxy, a chunked answer, an answer larger than the buffer) goes
//! the blocking way, on a worker.

use std::os::fd::RawFd;
use ureq::unversioned::transport::{Either, Transport};

/// What [`Wire::pump`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pumped {
    /// Bytes were added to the input buffer.
    More,
    /// Nothing has arrived since the last read (or the input buffer is full).
    Nothing,
    /// The peer closed the connection (after the bytes read before, if any).
    Closed,
}

/// A connection an event loop can drive. `Transport` is a supertrait, so a
/// `Box<dyn Wire>` is a ureq transport too (ureq implements it for boxes).
pub(crate) trait Wire: Transport {
    /// The socket to wait for, or None when this connection cannot be driven by an event
    /// loop (it goes through a proxy's tunnel).
    fn fd(&self) -> Option<RawFd>;

    /// Moves what has arrived into the input buffer without waiting. An error is the
    /// socket's (or the TLS layer's): the connection is then done for.
    fn pump(&mut self) -> Result<Pumped, ureq::Error>;
}

/// The start of the connector chain: no connection yet.
impl Wire for () {
    fn fd(&self) -> Option<RawFd> {
        None
    }

    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        Ok(Pumped::Closed)
    }
}

/// A proxy's tunnel (ureq's own transport): driven the blocking way only.
impl Wire for Box<dyn Transport> {
    fn fd(&self) -> Option<RawFd> {
        None
    }

    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        Ok(Pumped::Nothing)
    }
}

impl<A: Wire, B: Wire> Wire for Either<A, B> {
    fn fd(&self) -> Option<RawFd> {
        match self {
            Either::A(a) => a.fd(),
            Either::B(b) => b.fd(),
        }
    }

    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        match self {
            Either::A(a) => a.pump(),
            Either::B(b) => b.pump(),
        }
    }
}

impl Wire for Box<dyn Wire> {
    fn fd(&self) -> Option<RawFd> {
        (**self).fd()
    }

    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        (**self).pump()
    }
}
