//! TLS to PostgreSQL with rustls: the server's certificate is always
//! verified, against the Mozilla roots of `webpki-roots` and any roots the
//! application adds.

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A connector trusting the public roots and the certificates in `pems`.
pub(crate) fn connector(pems: &[Vec<u8>]) -> Result<MakeRustlsConnect, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for pem in pems {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("a TLS root certificate is not valid PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("a TLS root certificate was refused: {e}"))?;
            found += 1;
        }
        if found == 0 {
            return Err("a TLS root certificate file holds no PEM certificate".to_owned());
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("could not set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
