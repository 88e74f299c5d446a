//! Throw-away TLS material made with the `openssl` command in a temp dir: a CA, then broker
//! and client certificates it signs (P-256 keys: quick to make, served by every client).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::process;

/// How long one `openssl` invocation may take.
const OPENSSL_DEADLINE: Duration = Duration::from_secs(20);

/// A certificate and its key, as separate PEM files and as one keystore file (key + chain).
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Private key then certificate, as `ssl.keystore.location` takes them.
    pub keystore: PathBuf,
}

/// A CA in a temp dir (deleted on drop), and what it issued.
pub struct Certs {
    dir: TempDir,
    /// The CA certificate (PEM): the truststore.
    pub ca: PathBuf,
    ca_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let mut command = Command::new("openssl");
    command.current_dir(dir).args(args);
    let output = process::run(command, None, OPENSSL_DEADLINE)?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "openssl {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

impl Certs {
    /// Makes a new CA (`CN=test-ca`).
    pub fn new() -> io::Result<Certs> {
        let dir = tempfile::Builder::new().prefix("certs-").tempdir()?;
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
        args.extend(EC_KEY);
        args.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir.path(), &args)?;
        Ok(Certs {
            ca: dir.path().join("ca.pem"),
            ca_key: dir.path().join("ca.key"),
            dir,
        })
    }

    /// The temp dir everything lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A broker certificate for 127.0.0.1 and localhost, with serial `serial` (hex digits).
    pub fn broker(&self, name: &str, serial: &str) -> io::Result<Issued> {
        self.issue(
            name,
            "/CN=localhost/O=test",
            serial,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
    }

    /// A client certificate with subject `subject` (OpenSSL's `/CN=alice/OU=eng/O=corp` form).
    pub fn client(&self, name: &str, subject: &str) -> io::Result<Issued> {
        self.issue(name, subject, "1001", "extendedKeyUsage=clientAuth\n")
    }

    fn issue(&self, name: &str, subject: &str, serial: &str, ext: &str) -> io::Result<Issued> {
        let dir = self.dir.path();
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let cert = format!("{name}.pem");
        let ext_file = format!("{name}.ext");
        fs::write(
            dir.join(&ext_file),
            format!("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n{ext}"),
        )?;
        let mut args = vec!["req", "-new", "-nodes"];
        args.extend(EC_KEY);
        args.extend(["-keyout", &key, "-out", &csr, "-subj", subject]);
        openssl(dir, &args)?;
        let ca = self.ca.to_string_lossy().into_owned();
        let ca_key = self.ca_key.to_string_lossy().into_owned();
        let serial = format!("0x{serial}");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca,
                "-CAkey",
                &ca_key,
                "-set_serial",
                &serial,
                "-days",
                "2",
                "-out",
                &cert,
                "-extfile",
                &ext_file,
            ],
        )?;
        let keystore = dir.join(format!("{name}.keystore.pem"));
        let mut both = fs::read(dir.join(&key))?;
        both.extend(fs::read(dir.join(&cert))?);
        fs::write(&keystore, both)?;
        Ok(Issued {
            cert: dir.join(cert),
            key: dir.join(key),
            keystore,
        })
    }

    /// `issued`'s key encrypted as PKCS#8 with `password` (BEGIN ENCRYPTED PRIVATE KEY),
    /// followed by its certificate: a keystore that needs `ssl.key.password`.
    pub fn encrypted_keystore(&self, issued: &Issued, password: &str) -> io::Result<PathBuf> {
        let dir = self.dir.path();
        let out = dir.join("encrypted.key");
        let key = issued.key.to_string_lossy().into_owned();
        let out_arg = out.to_string_lossy().into_owned();
        let pass = format!("pass:{password}");
        openssl(
            dir,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                &key,
                "-out",
                &out_arg,
                "-v2",
                "aes-256-cbc",
                "-passout",
                &pass,
            ],
        )?;
        let keystore = dir.join("encrypted.keystore.pem");
        let mut both = fs::read(&out)?;
        both.extend(fs::read(&issued.cert)?);
        fs::write(&keystore, both)?;
        Ok(keystore)
    }
}
