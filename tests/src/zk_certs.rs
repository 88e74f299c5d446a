//! A throw-away CA and certificates for a TLS ZooKeeper, made with the `openssl` command line:
//! the server's (for 127.0.0.1 and localhost) and a client's (`CN=kafka-broker`), as PEM files
//! in the layouts ZooKeeper and Kafka read (`ssl.keyStore.type=PEM`: key and chain in one file).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The client certificate's subject, which ZooKeeper's x509 provider makes the session's id.
pub const CLIENT_SUBJECT: &str = "CN=kafka-broker";

/// PEM files in a temporary directory, deleted on drop.
pub struct ZkCerts {
    /// The CA certificate: the truststore of both sides.
    pub ca: PathBuf,
    /// Server key + certificate (ZooKeeper's `ssl.keyStore.location`).
    pub server_keystore: PathBuf,
    /// Client key + certificate (Kafka's `zookeeper.ssl.keystore.location`).
    pub client_keystore: PathBuf,
    _dir: tempfile::TempDir,
}

impl ZkCerts {
    /// Makes the CA, the server and the client certificates (2-day validity).
    pub fn generate() -> io::Result<ZkCerts> {
        let dir = tempfile::Builder::new().prefix("zk-certs-").tempdir()?;
        let d = dir.path();
        openssl(
            d,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=zk-test-ca",
            ],
        )?;
        let server = leaf(
            d,
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        )?;
        let client = leaf(
            d,
            "client",
            "/CN=kafka-broker",
            "extendedKeyUsage=clientAuth",
        )?;
        Ok(ZkCerts {
            ca: d.join("ca.pem"),
            server_keystore: server,
            client_keystore: client,
            _dir: dir,
        })
    }
}

/// A key and a CA-signed certificate with extension `ext`, concatenated into `<name>.pem`.
fn leaf(dir: &Path, name: &str, subject: &str, ext: &str) -> io::Result<PathBuf> {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    let ext_file = format!("{name}.ext");
    std::fs::write(dir.join(&ext_file), format!("{ext}\n"))?;
    openssl(
        dir,
        &["req", "-newkey", "rsa:2048", "-nodes"],
        &["-keyout", &key, "-out", &csr, "-subj", subject],
    )?;
    openssl(
        dir,
        &[
            "x509", "-req", "-days", "2", "-CA", "ca.pem", "-CAkey", "ca.key",
        ],
        &[
            "-CAcreateserial",
            "-in",
            &csr,
            "-out",
            &crt,
            "-extfile",
            &ext_file,
        ],
    )?;
    let pem = dir.join(format!("{name}.pem"));
    let both = std::fs::read_to_string(dir.join(&key))? + &std::fs::read_to_string(dir.join(&crt))?;
    std::fs::write(&pem, both)?;
    Ok(pem)
}

fn openssl(dir: &Path, args: &[&str], more: &[&str]) -> io::Result<()> {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .args(more)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}
