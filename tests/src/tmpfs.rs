//! A small tmpfs for a test: a disk that fills up. Unmounted when dropped (after the brokers
//! using it, which must be declared after it so that they drop first).
//!
//! Mounting needs root (or CAP_SYS_ADMIN); without it [`Tmpfs::mount`] says why, and the tests
//! that need one print SKIPPED and pass, as the docker tests do without Docker.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A mounted tmpfs of a fixed size.
pub struct Tmpfs {
    mount_point: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: "12m") on a new temporary directory; the
    /// error says why it could not (not root, no mount command).
    pub fn mount(size: &str) -> Result<Tmpfs, String> {
        let mount_point = tempfile::Builder::new()
            .prefix("tmpfs-")
            .tempdir()
            .map_err(|e| format!("cannot make a mount point: {e}"))?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(mount_point.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(Tmpfs { mount_point })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.mount_point.path()
    }

    /// Writes a file of `bytes` bytes named `name` (space to free later); returns its path.
    pub fn ballast(&self, name: &str, bytes: usize) -> io::Result<PathBuf> {
        let path = self.path().join(name);
        fs::write(&path, vec![0u8; bytes])?;
        Ok(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.mount_point.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a process holding a file there): detach it now, freed when unused.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.mount_point.path())
                .status();
        }
    }
}
