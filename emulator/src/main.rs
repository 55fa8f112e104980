//! `tcsms-emulator`: a local Tencent Cloud SMS API 2021-01-11 service for demos and tests.
//! See `--help` and docs/emulator.md.

mod actions;
mod authorization;
mod cli;
mod clock;
mod envelope;
mod faults;
mod ids;
mod inspect;
mod params;
mod phone;
mod ratelimit;
mod reqlog;
mod schema;
mod server;
mod state;
mod verify;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::cli::Command;
use crate::faults::FaultPlan;
use crate::ratelimit::RateLimiter;
use crate::reqlog::RequestLog;
use crate::server::Service;
use crate::state::{Emulator, Settings, State};
use crate::verify::Verifier;

fn main() -> ExitCode {
    let cfg = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("tcsms-emulator {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tcsms-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    match run(*cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcsms-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cfg: cli::Config) -> Result<(), String> {
    let schema = schema::Schema::load()?;
    let log = match &cfg.log {
        Some(path) => Some(RequestLog::open(path).map_err(|e| format!("cannot open --log {}: {e}", path.display()))?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(cfg.listen.as_str())
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("the listener has no address: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| format!("cannot set up the listener: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;

    let settings = Settings {
        review_delay_ms: cfg.review_delay_ms,
        report_delay_ms: cfg.report_delay_ms,
        auto_reply: cfg.auto_reply.clone(),
    };
    let service = Arc::new(Service {
        verifier: Verifier::new(
            cfg.secret_id.clone(),
            cfg.secret_key.clone(),
            cfg.token.clone(),
            schema,
            RateLimiter::new(&cfg.rate_limits),
        ),
        emulator: Emulator::new(State::seeded(&cfg.app_ids, clock::now_ms()), settings),
        log,
        fault: cfg.fault.map(|kind| FaultPlan::new(kind, cfg.fault_every, cfg.fault_delay_ms)),
    });
    // Watch the signals before announcing the address, so that a SIGINT sent right after
    // the first line stops the emulator cleanly.
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        let watch = |kind| signal(kind).map_err(|e| format!("cannot watch signals: {e}"));
        (watch(SignalKind::interrupt())?, watch(SignalKind::terminate())?)
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(out);
    eprintln!(
        "tcsms-emulator: SecretId {}, apps {}{}",
        cfg.secret_id,
        cfg.app_ids.join(", "),
        cfg.fault.map(|f| format!(", fault {} every {} request(s)", f.name(), cfg.fault_every)).unwrap_or_default()
    );

    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|e| format!("cannot set up the listener: {e}"))?;
        tokio::select! {
            result = server::serve(listener, service) => result.map_err(|e| format!("cannot accept connections: {e}")),
            _ = interrupt.recv() => { eprintln!("tcsms-emulator: SIGINT, stopping"); Ok(()) }
            _ = terminate.recv() => { eprintln!("tcsms-emulator: SIGTERM, stopping"); Ok(()) }
        }
    })?;
    // Connections still open are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}
