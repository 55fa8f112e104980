//! Fault injection (`--fault KIND --fault-every N`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of fault the command line can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// HTTP 500 with an HTML body, as a load balancer in front of a broken backend sends.
    Http500,
    /// The connection is closed without any response.
    Close,
    /// The request is processed, but the answer comes after the fault delay.
    Slow,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
}

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        match s {
            "http500" => Some(FaultKind::Http500),
            "close" => Some(FaultKind::Close),
            "slow" => Some(FaultKind::Slow),
            "garbage" => Some(FaultKind::Garbage),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Http500 => "http500",
            FaultKind::Close => "close",
            FaultKind::Slow => "slow",
            FaultKind::Garbage => "garbage",
        }
    }
}

/// How the metadata service or STS fails (`--metadata-fault`, `--sts-fault`, or
/// `POST /_emulator/credentials/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointFault {
    /// HTTP 500 with an HTML body.
    Http500,
    /// No answer for the fault delay, then the connection is closed.
    Hang,
    /// HTTP 200 with a body that is not what the client expects (not JSON).
    Garbage,
}

impl EndpointFault {
    pub fn parse(s: &str) -> Option<EndpointFault> {
        match s {
            "http500" => Some(EndpointFault::Http500),
            "hang" => Some(EndpointFault::Hang),
            "garbage" => Some(EndpointFault::Garbage),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EndpointFault::Http500 => "http500",
            EndpointFault::Hang => "hang",
            EndpointFault::Garbage => "garbage",
        }
    }
}

pub const HTTP500_BODY: &str = "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n\
<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>tcsms-emulator</center>\r\n\
</body>\r\n</html>\r\n";

pub const GARBAGE_BODY: &str = "<<tcsms-emulator: this body is deliberately not JSON>>";

/// Decides which API requests get the fault: every Nth one, counting from the first.
#[derive(Debug)]
pub struct FaultPlan {
    pub kind: FaultKind,
    pub every: u64,
    pub delay_ms: u64,
    seen: AtomicU64,
}

impl FaultPlan {
    pub fn new(kind: FaultKind, every: u64, delay_ms: u64) -> FaultPlan {
        FaultPlan { kind, every: every.max(1), delay_ms, seen: AtomicU64::new(0) }
    }

    /// Counts one API request; returns the fault it must suffer, if any.
    pub fn next(&self) -> Option<FaultKind> {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        (n % self.every == 0).then_some(self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_faults() {
        let plan = FaultPlan::new(FaultKind::Close, 3, 0);
        let hits: Vec<bool> = (0..6).map(|_| plan.next().is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
    }
}
