//! PEM material and the client side of TLS, shared by the broker (its listeners and its
//! inter-broker client) and by kafka-tools: certificates, private keys (PKCS#8 encrypted or
//! not, PKCS#1, SEC1), trust roots, ring's crypto provider, and a client configuration that
//! verifies the server's chain with or without its host name
//! (`ssl.endpoint.identification.algorithm`).

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedProtocolVersion,
};

/// Why PEM material or a configuration built from it cannot be used. The caller says which
/// file or setting it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemError(pub String);

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PemError {}

fn err(e: impl ToString) -> PemError {
    PemError(e.to_string())
}

/// A private key and the certificate chain that goes with it.
pub type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// Every certificate of `pem` (at least one).
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    if certs.is_empty() {
        return Err(err("no PEM certificate found"));
    }
    Ok(certs)
}

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// The private key of `pem`: PKCS#8 (decrypted with `password`, Kafka's `ssl.key.password`, if
/// encrypted), PKCS#1 or SEC1.
pub fn private_key(pem: &str, password: Option<&str>) -> Result<PrivateKeyDer<'static>, PemError> {
    if let Some(start) = pem.find(ENCRYPTED_BEGIN) {
        let Some(password) = password else {
            return Err(err("the private key is encrypted: set ssl.key.password"));
        };
        let end = pem[start..]
            .find(ENCRYPTED_END)
            .map(|e| start + e + ENCRYPTED_END.len())
            .ok_or_else(|| err("unterminated encrypted private key"))?;
        let (_, der) = pkcs8::der::pem::decode_vec(&pem.as_bytes()[start..end]).map_err(err)?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(err)?;
        let plain = info
            .decrypt(password.as_bytes())
            .map_err(|e| err(format!("cannot decrypt with ssl.key.password: {e}")))?;
        return Ok(PrivatePkcs8KeyDer::from(plain.as_bytes().to_vec()).into());
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| err(format!("no usable PEM private key ({e})")))
}

/// The key pair of a keystore: `chain_pem` and `key_pem` may be the same text (one PEM file).
pub fn key_pair(
    chain_pem: &str,
    key_pem: &str,
    password: Option<&str>,
) -> Result<KeyPair, PemError> {
    Ok((certificates(chain_pem)?, private_key(key_pem, password)?))
}

/// The CA certificates of `pem` as trust roots.
pub fn trust_roots(pem: &str) -> Result<Arc<RootCertStore>, PemError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem)? {
        roots.add(cert).map_err(err)?;
    }
    Ok(Arc::new(roots))
}

/// ring's provider (it builds with the C compiler alone, quickly; rustls marks it deprecated
/// only because ring has no post-quantum key exchange).
pub fn ring_provider() -> CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// A client configuration: the server's chain is verified against `roots` (and its name
/// against the host connected to when `verify_hostname`); `key_pair` is the client
/// certificate, if any.
pub fn client_config(
    provider: Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    roots: Arc<RootCertStore>,
    verify_hostname: bool,
    key_pair: Option<KeyPair>,
) -> Result<Arc<ClientConfig>, PemError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(err)?;
    let verifier: Arc<dyn ServerCertVerifier> = if verify_hostname {
        verifier
    } else {
        Arc::new(AnyHostName(verifier))
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match key_pair {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(err)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// `ssl.endpoint.identification.algorithm` empty: the chain is verified as usual, but the
/// certificate need not name the host connected to.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
