//! rustls server configurations for the tests' TLS servers on 127.0.0.1.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A server configuration presenting `cert` (PEM) with `key`, speaking `versions`
/// (`rustls::DEFAULT_VERSIONS`: TLS 1.2 and 1.3).
pub fn server_config(
    versions: &[&'static rustls::SupportedProtocolVersion],
    cert: &str,
    key: &str,
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("certificate")],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
        )
        .expect("server config");
    Arc::new(config)
}
