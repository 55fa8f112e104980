//! TLS: the client configuration (roots, session cache) and the connector that wraps a
//! connection in rustls. Verification is always on.
//!
//! # Paid once per process
//!
//! Parsing roots costs far more than anything else a new client does, and a new client
//! that starts without TLS sessions pays a full handshake on its first call. So the
//! rustls configuration is shared by every client of the process that trusts the same
//! roots: the built-in roots (no `ca_file`), or one `ca_file` content (keyed by the
//! SHA-256 of its bytes, read again for each client so that a changed file is seen) plus
//! the system bundle, parsed once. Each shared configuration holds a bounded TLS session
//! cache (per server name), so a new client resumes the session an earlier one got.
//! Configurations are immutable once built; a child process after `fork()` inherits them
//! and their sessions. TLS 1.3 early data (0-RTT) is never sent: a replayed SendSms would
//! send twice.
//!
//! The shared state sits behind one mutex, held only to look up or store an `Arc` (never
//! while parsing). A lock that cannot be had soon (for example one that another thread
//! held when the process forked) is given up, and the client builds its own configuration.

use super::wire::{Pumped, Wire};
use crate::error::Error;
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use ureq::unversioned::transport::time::{Duration as Remaining, Instant as At};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
};
use zeroize::Zeroizing;

/// System CA bundles that `ca_file` roots are added to.
const SYSTEM_CA_BUNDLES: [&str; 3] =
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The largest `ca_file` accepted (the whole system bundle is about 220 KiB).
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// The most TLS sessions kept per trust configuration (rustls keys them by server name).
pub const MAX_SESSIONS: usize = 256;
/// The most distinct trust configurations kept for the process; clients beyond that
/// build their own.
const MAX_SHARED_CONFIGS: usize = 16;

/// The roots a configuration trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roots {
    /// The built-in roots (the webpki-roots bundle, as ureq uses by default).
    BuiltIn,
    /// A `ca_file`, by the SHA-256 of its content, plus the system bundle.
    CaFile([u8; 32]),
}

/// What the clients of the process share.
struct Shared {
    /// The system bundle's roots, parsed once.
    system: Option<Arc<RootCertStore>>,
    configs: Vec<(Roots, Arc<ClientConfig>)>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared { system: None, configs: Vec::new() });

/// How many rustls configurations (root stores) this process has built.
static BUILT: AtomicU64 = AtomicU64::new(0);

/// The shared state, or `None` when its lock stays busy (see the module's notes).
fn shared() -> Option<MutexGuard<'static, Shared>> {
    super::lock_soon(&SHARED)
}

/// The rustls configuration for clients trusting the built-in roots, or `ca_file`'s
/// PEM roots plus the system bundle's; shared with every client of the process that
/// trusts the same roots.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let pem = ca_file.map(read_ca_file).transpose()?;
    let roots = match &pem {
        None => Roots::BuiltIn,
        Some(pem) => Roots::CaFile(Sha256::digest(pem).into()),
    };
    if let Some(config) = shared().and_then(|s| s.configs.iter().find(|(r, _)| *r == roots).map(|(_, c)| c.clone())) {
        return Ok(config);
    }
    let store = match (&pem, ca_file) {
        (Some(pem), Some(path)) => ca_file_roots(pem, path)?,
        _ => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    let built = build(store)?;
    let Some(mut shared) = shared() else { return Ok(built) };
    // Another client may have built the same meanwhile: the first one stored is kept.
    if let Some((_, config)) = shared.configs.iter().find(|(r, _)| *r == roots) {
        return Ok(config.clone());
    }
    if shared.configs.len() < MAX_SHARED_CONFIGS {
        shared.configs.push((roots, built.clone()));
    }
    Ok(built)
}

/// `ca_file`'s roots (`pem`, read from `path`) plus those of the system bundle.
fn ca_file_roots(pem: &[u8], path: &Path) -> Result<RootCertStore, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid_config(format!("ca_file {} is not valid PEM: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::invalid_config(format!("ca_file {} holds no certificate", path.display())));
    }
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(certs);
    store.roots.extend(system_roots().roots.iter().cloned());
    Ok(store)
}

/// The roots of the system bundle (when there is one), parsed once per process.
fn system_roots() -> Arc<RootCertStore> {
    if let Some(system) = shared().and_then(|s| s.system.clone()) {
        return system;
    }
    let mut store = RootCertStore::empty();
    if let Some(bundle) = SYSTEM_CA_BUNDLES.iter().find_map(|p| std::fs::read(p).ok()) {
        store.add_parsable_certificates(CertificateDer::pem_slice_iter(&bundle).map_while(Result::ok));
    }
    let store = Arc::new(store);
    match shared() {
        Some(mut shared) => shared.system.get_or_insert(store).clone(),
        None => store,
    }
}

/// A client configuration trusting `roots`, with its own bounded session cache and
/// without early data.
fn build(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    // The provider ureq would pick: the process default, else ring.
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Error::invalid_config(format!("TLS cannot be set up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::in_memory_sessions(MAX_SESSIONS);
    // Never 0-RTT: early data can be replayed, and a replayed SendSms sends twice.
    config.enable_early_data = false;
    BUILT.fetch_add(1, Ordering::Relaxed);
    Ok(Arc::new(config))
}

/// Wraps connections to `https://` endpoints in TLS with a shared configuration.
#[derive(Debug, Clone)]
pub(crate) struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl TlsConnector {
    /// See [`client_config`].
    pub(crate) fn new(ca_file: Option<&Path>) -> Result<TlsConnector, Error> {
        Ok(TlsConnector { config: client_config(ca_file)? })
    }

    /// The rustls configuration its connections were made with: shared by the clients
    /// that trust the same roots, so the same `Arc` means the same trust.
    pub(crate) fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

impl<In: Wire> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else { return Err(ureq::Error::ConnectionFailed) };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().ok_or(ureq::Error::Tls("no host to name in TLS"))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name =
            ServerName::try_from(host).map_err(|_| ureq::Error::Tls("Rustls invalid dns name error"))?.to_owned();
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = Socket::new(Box::new(transport));
        // The handshake gets what is left of the connection's time limit.
        sock.set_timeout(left_since(details.timeout, details.now, (details.current_time)()));
        conn.complete_io(&mut sock)?;
        let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        Ok(Some(Either::B(TlsTransport { buffers, stream: StreamOwned { conn, sock } })))
    }
}

/// `timeout`, set at `started`, as it stands at `now`.
fn left_since(mut timeout: NextTimeout, started: At, now: At) -> NextTimeout {
    if let (Remaining::Exact(limit), At::Exact(started), At::Exact(now)) = (timeout.after, started, now) {
        timeout.after = Remaining::Exact(limit.saturating_sub(now.saturating_duration_since(started)));
    }
    timeout
}

/// The connection under rustls: read and written through the chained transport's
/// buffers (as ureq's `TransportAdapter` does, within the time set last), or, while the
/// event loop pumps it ([`Wire::pump`]), read without waiting.
#[derive(Debug)]
struct Socket {
    inner: Box<dyn Wire>,
    timeout: NextTimeout,
    set_at: std::time::Instant,
    /// Reads take only what has arrived: `WouldBlock` when nothing has.
    now_only: bool,
    /// While reads take only what has arrived: a read from the socket left room in the
    /// buffer, so the socket had nothing more then. Later reads report `WouldBlock`
    /// without asking the socket again: what arrives after that, epoll reports.
    drained: bool,
}

impl Socket {
    fn new(inner: Box<dyn Wire>) -> Socket {
        Socket {
            inner,
            timeout: NextTimeout::default(),
            set_at: std::time::Instant::now(),
            now_only: false,
            drained: false,
        }
    }

    fn set_timeout(&mut self, timeout: NextTimeout) {
        self.timeout = timeout;
        self.set_at = std::time::Instant::now();
    }

    /// The time limit as it stands now.
    fn timeout_now(&self) -> NextTimeout {
        let mut timeout = self.timeout;
        if let Remaining::Exact(limit) = timeout.after {
            timeout.after = Remaining::Exact(limit.saturating_sub(self.set_at.elapsed()));
        }
        timeout
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.buffers().input().is_empty() {
            if self.now_only {
                if self.drained {
                    return Err(std::io::ErrorKind::WouldBlock.into());
                }
                match self.inner.pump().map_err(ureq::Error::into_io)? {
                    Pumped::More => self.drained = !self.inner.buffers().input_append_buf().is_empty(),
                    Pumped::Nothing => return Err(std::io::ErrorKind::WouldBlock.into()),
                    Pumped::Closed => return Ok(0),
                }
            } else {
                self.inner.await_input(self.timeout_now()).map_err(ureq::Error::into_io)?;
            }
        }
        let input = self.inner.buffers().input();
        let n = buf.len().min(input.len());
        buf[..n].copy_from_slice(&input[..n]);
        self.inner.buffers().input_consume(n);
        Ok(n)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let output = self.inner.buffers().output();
        let n = buf.len().min(output.len());
        output[..n].copy_from_slice(&buf[..n]);
        self.inner.transmit_output(n, self.timeout_now()).map_err(ureq::Error::into_io)?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A connection in TLS.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, Socket>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        self.stream.write_all(&self.buffers.output()[..amount])?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let amount = self.stream.read(self.buffers.input_append_buf())?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// Open when the peer sent nothing while the connection was idle, or only TLS records
    /// that carry no data: a TLS 1.3 server sends its session tickets after the
    /// handshake, and a connection opened ahead reads nothing until its first call.
    fn is_open(&mut self) -> bool {
        for _ in 0..IDLE_READS {
            if self.stream.get_mut().inner.is_open() {
                return true;
            }
            if !self.read_idle_records() {
                return false;
            }
        }
        false
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl Wire for TlsTransport {
    fn fd(&self) -> Option<RawFd> {
        self.stream.sock.inner.fd()
    }

    /// Reads the records that have arrived and moves their data into the input buffer,
    /// without waiting.
    fn pump(&mut self) -> Result<Pumped, ureq::Error> {
        let StreamOwned { conn, sock } = &mut self.stream;
        sock.now_only = true;
        sock.drained = false;
        let pumped = pump_records(conn, sock, &mut self.buffers);
        sock.now_only = false;
        pumped
    }
}

/// [`Wire::pump`] for TLS: records in, data out, until nothing more has arrived or the
/// input buffer is full.
fn pump_records(
    conn: &mut ClientConnection,
    sock: &mut Socket,
    buffers: &mut LazyBuffers,
) -> Result<Pumped, ureq::Error> {
    use std::io::ErrorKind;
    let mut more = false;
    let mut ended = false;
    loop {
        let mut arrived = false;
        if !ended {
            match conn.read_tls(sock) {
                Ok(0) => ended = true,
                Ok(_) => {
                    arrived = true;
                    conn.process_new_packets()
                        .map_err(|e| ureq::Error::Io(std::io::Error::new(ErrorKind::InvalidData, e)))?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(ureq::Error::Io(e)),
            }
        }
        loop {
            let space = buffers.input_append_buf();
            if space.is_empty() {
                return Ok(if more { Pumped::More } else { Pumped::Nothing });
            }
            match conn.reader().read(space) {
                Ok(0) => return Ok(if more { Pumped::More } else { Pumped::Closed }),
                Ok(n) => {
                    buffers.input_appended(n);
                    more = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // Closed without close_notify: the blocking read reports it.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Ok(if more { Pumped::More } else { Pumped::Closed })
                }
                Err(e) => return Err(ureq::Error::Io(e)),
            }
        }
        if !arrived {
            return Ok(if more {
                Pumped::More
            } else if ended {
                Pumped::Closed
            } else {
                Pumped::Nothing
            });
        }
    }
}

/// How many times TLS records that arrived while idle are read before a connection is
/// given up as talkative.
const IDLE_READS: usize = 4;
/// How long reading records that are already there may take.
const IDLE_READ_LIMIT: std::time::Duration = std::time::Duration::from_millis(50);

impl TlsTransport {
    /// Reads and processes the TLS records that arrived while the connection was idle;
    /// `false` when they end the connection or carry data (an answer to no request).
    fn read_idle_records(&mut self) -> bool {
        let limit = NextTimeout {
            after: Remaining::Exact(IDLE_READ_LIMIT),
            reason: ureq::Timeout::Global,
            per_read: None,
            per_write: None,
        };
        let StreamOwned { conn, sock } = &mut self.stream;
        sock.set_timeout(limit);
        match conn.read_tls(sock) {
            Ok(0) | Err(_) => false,
            Ok(_) => match conn.process_new_packets() {
                Ok(state) => state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed(),
                Err(_) => false,
            },
        }
    }
}

/// Reads `ca_file` without ever blocking or reading without bound: only a regular
/// file of at most [`MAX_CA_FILE_BYTES`] is read (not a FIFO, a device or a directory).
fn read_ca_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    crate::files::read_bounded(path, MAX_CA_FILE_BYTES)
        .map(|read| read.bytes)
        .map_err(|why| Error::invalid_config(format!("ca_file {} {why}", path.display())))
}

/// The tests' one rustls server configuration.
#[cfg(test)]
#[path = "../../tests/support/tls.rs"]
mod support_tls;

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL_CA: &str = include_str!("../../tests/support/certs/local-ca.pem");

    /// A `ca_file` holding the local test CA and `note` (a PEM comment), so that each test
    /// has a content of its own.
    fn ca_file(note: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("tcsms-tls-{note}-{}.pem", std::process::id()));
        std::fs::write(&path, format!("{note}\n{LOCAL_CA}")).unwrap();
        path
    }

    #[test]
    fn clients_trusting_the_same_roots_share_one_configuration() {
        let path = ca_file("shared");
        let before = BUILT.load(Ordering::Relaxed);
        let first = client_config(Some(&path)).unwrap();
        assert!(BUILT.load(Ordering::Relaxed) > before, "the first client builds the configuration");
        // Eight clients made at once, from eight threads, get the same one.
        let others: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| client_config(Some(&path)).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for other in &others {
            assert!(Arc::ptr_eq(&first, other), "a client rebuilt the roots");
        }
        // Another content is another configuration; the built-in roots are one too.
        let other_path = ca_file("other");
        let other = client_config(Some(&other_path)).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(Arc::ptr_eq(&client_config(None).unwrap(), &client_config(None).unwrap()));
        assert!(!Arc::ptr_eq(&first, &client_config(None).unwrap()));
        // The same file with a changed content is seen as changed.
        std::fs::write(&path, format!("changed\n{LOCAL_CA}")).unwrap();
        assert!(!Arc::ptr_eq(&first, &client_config(Some(&path)).unwrap()));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&other_path);
    }

    #[test]
    fn configurations_never_send_early_data() {
        let path = ca_file("early");
        for config in [client_config(None).unwrap(), client_config(Some(&path)).unwrap()] {
            assert!(!config.enable_early_data, "0-RTT data could be replayed");
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn ca_file_roots_add_the_system_bundle() {
        let path = ca_file("system");
        let pem = std::fs::read(&path).unwrap();
        let store = ca_file_roots(&pem, &path).unwrap();
        assert_eq!(store.roots.len(), 1 + system_roots().roots.len());
        assert!(Arc::ptr_eq(&system_roots(), &system_roots()), "the system bundle is parsed once");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn bad_ca_files_are_refused_every_time() {
        let path = std::env::temp_dir().join(format!("tcsms-tls-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "no certificate here\n").unwrap();
        for _ in 0..2 {
            let error = client_config(Some(&path)).unwrap_err();
            assert!(error.to_string().contains("holds no certificate"), "{error}");
        }
        let _ = std::fs::remove_file(&path);
    }

    /// The socket under a [`TlsTransport`] in memory: what has "arrived" is read by
    /// `pump`, which counts the reads.
    #[derive(Debug, Default)]
    struct Arrivals {
        bytes: Vec<u8>,
        reads: usize,
    }

    #[derive(Debug)]
    struct InMemory {
        buffers: LazyBuffers,
        arrivals: Arc<Mutex<Arrivals>>,
    }

    impl Transport for InMemory {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }
        fn transmit_output(&mut self, _: usize, _: NextTimeout) -> Result<(), ureq::Error> {
            Ok(())
        }
        fn await_input(&mut self, _: NextTimeout) -> Result<bool, ureq::Error> {
            Ok(self.pump()? == Pumped::More)
        }
        fn is_open(&mut self) -> bool {
            true
        }
    }

    impl Wire for InMemory {
        fn fd(&self) -> Option<RawFd> {
            None
        }
        fn pump(&mut self) -> Result<Pumped, ureq::Error> {
            let mut arrivals = self.arrivals.lock().unwrap();
            arrivals.reads += 1;
            let space = self.buffers.input_append_buf();
            let n = space.len().min(arrivals.bytes.len());
            if n == 0 {
                return Ok(Pumped::Nothing);
            }
            space[..n].copy_from_slice(&arrivals.bytes[..n]);
            arrivals.bytes.drain(..n);
            self.buffers.input_appended(n);
            Ok(Pumped::More)
        }
    }

    /// The event loop's read of a TLS answer asks the socket once per readiness: a read
    /// that left room in the buffer found the socket empty, and epoll reports what comes
    /// next (reading on until the socket said "would block" cost a `recv` per answer).
    #[test]
    fn a_pump_reads_the_socket_once_when_it_had_less_than_a_buffer() {
        const KEY: &str = include_str!("../../tests/support/certs/local-host.key");
        const CERT: &str = include_str!("../../tests/support/certs/local-host.pem");
        let path = ca_file("pump");
        let server_config = support_tls::server_config(rustls::DEFAULT_VERSIONS, CERT, KEY);
        let mut server = rustls::ServerConnection::new(server_config).unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut client = ClientConnection::new(client_config(Some(&path)).unwrap(), name).unwrap();
        // The handshake, in memory.
        while client.is_handshaking() || server.is_handshaking() {
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut wire.as_slice()).unwrap();
            server.process_new_packets().unwrap();
            wire.clear();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut wire.as_slice()).unwrap();
            client.process_new_packets().unwrap();
        }
        let arrivals = Arc::new(Mutex::new(Arrivals::default()));
        let arrive = |server: &mut rustls::ServerConnection, data: &[u8]| {
            server.writer().write_all(data).unwrap();
            let mut wire = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut wire).unwrap();
            }
            arrivals.lock().unwrap().bytes.extend_from_slice(&wire);
        };
        // The session tickets, then the first part of an answer.
        arrive(&mut server, b"HTTP/1.1 200 OK\r\n");
        let socket = InMemory { buffers: LazyBuffers::new(1 << 16, 1024), arrivals: Arc::clone(&arrivals) };
        let mut transport = TlsTransport {
            buffers: LazyBuffers::new(1 << 16, 1024),
            stream: StreamOwned { conn: client, sock: Socket::new(Box::new(socket)) },
        };
        let reads = || arrivals.lock().unwrap().reads;
        assert_eq!(transport.pump().unwrap(), Pumped::More);
        assert_eq!(transport.buffers.input(), b"HTTP/1.1 200 OK\r\n");
        assert_eq!(reads(), 1, "the socket was read again after a read that left room");
        // Readable again (epoll said so): the rest.
        arrive(&mut server, b"Content-Length: 0\r\n\r\n");
        assert_eq!(transport.pump().unwrap(), Pumped::More);
        assert_eq!(transport.buffers.input(), b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(reads(), 2);
        // Nothing new: one read, which finds nothing.
        assert_eq!(transport.pump().unwrap(), Pumped::Nothing);
        assert_eq!(reads(), 3);
        let _ = std::fs::remove_file(&path);
    }
}
