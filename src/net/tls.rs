//! TLS for Room's one listener: a certificate from PEM files, or one made in memory.
//!
//! Browsers allow cameras only on https pages (or on localhost), so a meeting across a LAN needs
//! TLS. `--tls-self-signed` makes a certificate for this machine's names and addresses at start;
//! browsers warn about it once, and then the call works.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use futures_rustls::TlsAcceptor;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot read {path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the certificate and key.
    #[error("unusable certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
    /// The self-signed certificate could not be made.
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// An acceptor for the certificate chain in `cert` and the private key in `key` (both PEM),
/// and the chain's first certificate (the server's own), for the names it is valid for.
pub(crate) fn from_files(
    cert: &Path,
    key: &Path,
) -> Result<(TlsAcceptor, CertificateDer<'static>), TlsError> {
    let pem_error = |path: &Path, reason: String| TlsError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| pem_error(cert, err.to_string()))?;
    if chain.is_empty() {
        return Err(pem_error(cert, "no certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| pem_error(key, err.to_string()))?;
    let leaf = chain[0].clone();
    Ok((acceptor(chain, key)?, leaf))
}

/// A self-signed certificate for `localhost`, this machine's host name and every address of
/// its network interfaces. Returns the acceptor and the names the certificate holds.
pub(crate) fn self_signed() -> Result<(TlsAcceptor, Vec<String>), TlsError> {
    let mut names = vec!["localhost".to_owned()];
    if let Some(host) = host_name() {
        names.push(host);
    }
    let addresses = if_addrs::get_if_addrs().unwrap_or_default();
    names.extend(addresses.iter().map(|iface| iface.ip().to_string()));
    for loopback in [
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
    ] {
        let loopback = loopback.to_string();
        if !names.contains(&loopback) {
            names.push(loopback);
        }
    }
    let made = rcgen::generate_simple_self_signed(names.clone())?;
    let key = PrivatePkcs8KeyDer::from(made.key_pair.serialize_der());
    let acceptor = acceptor(vec![made.cert.der().clone()], key.into())?;
    Ok((acceptor, names))
}

fn acceptor(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // Room speaks HTTP/1.1 only; the WebSocket upgrade needs it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// This machine's host name, if the system says.
pub(crate) fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME").map_err(|err| io::Error::other(err.to_string())))
        .ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_names_localhost_and_loopback() {
        let (_, names) = self_signed().expect("a certificate is made");
        assert!(names.contains(&"localhost".to_owned()));
        assert!(names.contains(&"127.0.0.1".to_owned()));
        assert!(names.contains(&"::1".to_owned()));
    }

    #[test]
    fn missing_pem_files_are_reported_by_name() {
        let Err(err) = from_files(
            Path::new("/nonexistent/cert.pem"),
            Path::new("/nonexistent/key.pem"),
        ) else {
            panic!("missing files were accepted");
        };
        assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
    }
}
