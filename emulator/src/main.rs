//! `tcsms-emulator`: a local Tencent Cloud SMS API 2021-01-11 service for demos and tests.
//! See `--help` and docs/emulator.md. This binary parses its arguments and serves; the
//! emulator itself is the `tcsms_emulator` library.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use tcsms_emulator::cli::{self, Command};
use tcsms_emulator::{serve, Service};

fn main() -> ExitCode {
    let cfg = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Help) => {
            print!("{}", cli::help());
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
    match run(&cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcsms-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cfg: &cli::Config) -> Result<(), String> {
    let service = Arc::new(Service::new(cfg)?);
    let listener = std::net::TcpListener::bind(cfg.listen.as_str())
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("the listener has no address: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| format!("cannot set up the listener: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
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
    eprintln!("tcsms-emulator: {}", summary(cfg));

    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|e| format!("cannot set up the listener: {e}"))?;
        tokio::select! {
            result = serve(listener, service) => result.map_err(|e| format!("cannot accept connections: {e}")),
            _ = interrupt.recv() => { eprintln!("tcsms-emulator: SIGINT, stopping"); Ok(()) }
            _ = terminate.recv() => { eprintln!("tcsms-emulator: SIGTERM, stopping"); Ok(()) }
        }
    })?;
    // Connections still open are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(())
}

/// The startup line on stderr: SecretIds (never keys), apps, options that change answers.
fn summary(cfg: &cli::Config) -> String {
    let ids: Vec<&str> = cfg.key_pairs.iter().map(|p| p.secret_id.as_str()).collect();
    let mut line = format!("SecretId {}, apps {}", ids.join(", "), cfg.app_ids.join(", "));
    if let Some(f) = cfg.fault {
        line.push_str(&format!(", fault {} every {} request(s)", f.name(), cfg.fault_every));
    }
    if cfg.clock_offset_secs != 0 {
        line.push_str(&format!(", clock offset {} s", cfg.clock_offset_secs));
    }
    if cfg.doc_examples {
        line.push_str(", documentation examples seeded");
    }
    line
}
