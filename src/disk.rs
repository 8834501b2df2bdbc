//! A persister's file on a real disk: the Raft state and the snapshot in one
//! file, replaced atomically and durably at every save.
//!
//! ```text
//!  dir/raft.state = sealed blob (kind PersistedFile: magic, version, CRC-32C) of
//!                   | raft state length, u64 LE | raft state | snapshot |
//! ```
//!
//! A save writes the whole file to `raft.state.tmp` in the same directory,
//! fsyncs it, renames it over `raft.state`, and fsyncs the directory: a crash
//! at any moment leaves either the old file or the new one, never a mix, and
//! once `write` returns the new one survives a power cut. Why one file: Raft
//! saves a snapshot together with the state that refers to it (the log's base
//! index, the snapshot's CRC); two files could be caught with one replaced
//! and not the other. A file that was torn or rotted anyway (a disk that lies
//! about fsync, a bit flipped at rest) fails its seal, and [`DiskFile::open`]
//! refuses it with the path and the reason instead of starting a peer on it.

use crate::sealed::{self, Kind};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file of one persister.
pub(crate) struct DiskFile {
    path: PathBuf,
    tmp: PathBuf,
    dir: PathBuf,
    /// fsync the file and the directory at every save (off only to measure
    /// what it costs).
    sync: bool,
}

/// What a persister's file held when it was opened.
pub(crate) struct Loaded {
    pub(crate) raft_state: Vec<u8>,
    pub(crate) snapshot: Vec<u8>,
}

impl DiskFile {
    /// Opens (creating `dir` if needed) the persister file in `dir` and reads
    /// what it holds: nothing for a new directory; the saved state and
    /// snapshot otherwise; an error naming the file and what is wrong with
    /// it if it is not a whole, sealed file. A leftover temporary file (a
    /// save cut short) is removed: the file it would have replaced is whole.
    pub(crate) fn open(dir: &Path, sync: bool) -> Result<(DiskFile, Loaded), String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        let file = DiskFile {
            path: dir.join("raft.state"),
            tmp: dir.join("raft.state.tmp"),
            dir: dir.to_path_buf(),
            sync,
        };
        match fs::remove_file(&file.tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(format!("{}: cannot remove: {e}", file.tmp.display()))
            }
            _ => {}
        }
        let bytes = match fs::read(&file.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let empty = Loaded {
                    raft_state: Vec::new(),
                    snapshot: Vec::new(),
                };
                return Ok((file, empty));
            }
            Err(e) => return Err(format!("{}: cannot read: {e}", file.path.display())),
        };
        let loaded = parse(&bytes).map_err(|why| format!("{}: {why}", file.path.display()))?;
        Ok((file, loaded))
    }

    /// Replaces the file's contents with `raft_state` and `snapshot`, as one
    /// step that survives a crash (see the module's comment).
    pub(crate) fn write(&self, raft_state: &[u8], snapshot: &[u8]) -> io::Result<()> {
        let mut blob =
            Vec::with_capacity(sealed::HEADER_LEN + 8 + raft_state.len() + snapshot.len());
        sealed::begin(&mut blob);
        blob.extend_from_slice(&(raft_state.len() as u64).to_le_bytes());
        blob.extend_from_slice(raft_state);
        blob.extend_from_slice(snapshot);
        sealed::finish(Kind::PersistedFile, &mut blob);
        let mut f = File::create(&self.tmp)?;
        f.write_all(&blob)?;
        if self.sync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&self.tmp, &self.path)?;
        if self.sync {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// The state and snapshot in a file's bytes, or why they are not a whole file.
fn parse(bytes: &[u8]) -> Result<Loaded, String> {
    let payload = sealed::open(Kind::PersistedFile, bytes)?;
    let Some((len, rest)) = payload.split_first_chunk::<8>() else {
        return Err("too short for its length field".into());
    };
    let len = u64::from_le_bytes(*len);
    if len > rest.len() as u64 {
        return Err(format!(
            "raft state of {len} bytes in a {}-byte file",
            bytes.len()
        ));
    }
    let (raft_state, snapshot) = rest.split_at(len as usize);
    Ok(Loaded {
        raft_state: raft_state.to_vec(),
        snapshot: snapshot.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("raft-disk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_new_directory_is_empty_and_a_save_comes_back() {
        let dir = scratch("roundtrip");
        let (f, l) = DiskFile::open(&dir, true).unwrap();
        assert!(l.raft_state.is_empty() && l.snapshot.is_empty());
        f.write(b"state", b"snap").unwrap();
        let (_, l) = DiskFile::open(&dir, true).unwrap();
        assert_eq!(
            (&l.raft_state[..], &l.snapshot[..]),
            (&b"state"[..], &b"snap"[..])
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A save cut at every byte: the file holds the previous save or is
    /// refused with its path; never another state. And a save cut before
    /// its rename leaves the previous one whole.
    #[test]
    fn a_torn_file_is_refused_and_a_torn_temporary_is_ignored() {
        let dir = scratch("torn");
        let (f, _) = DiskFile::open(&dir, false).unwrap();
        f.write(b"old state", b"old snapshot").unwrap();
        let old = fs::read(dir.join("raft.state")).unwrap();
        f.write(b"new state, longer", b"new snapshot").unwrap();
        let new = fs::read(dir.join("raft.state")).unwrap();
        for cut in 0..=new.len() {
            // The data file itself torn (a disk that lied about fsync).
            fs::write(dir.join("raft.state"), &new[..cut]).unwrap();
            match DiskFile::open(&dir, false) {
                Ok((_, l)) => {
                    assert_eq!(cut, new.len(), "cut {cut} opened");
                    assert_eq!(l.raft_state, b"new state, longer");
                }
                Err(e) => assert!(e.contains("raft.state"), "cut {cut}: {e}"),
            }
            // A crash during the write of the temporary: the old file stands.
            fs::write(dir.join("raft.state"), &old).unwrap();
            fs::write(dir.join("raft.state.tmp"), &new[..cut]).unwrap();
            let (_, l) = DiskFile::open(&dir, false).unwrap();
            assert_eq!(
                (&l.raft_state[..], &l.snapshot[..]),
                (&b"old state"[..], &b"old snapshot"[..])
            );
            assert!(!dir.join("raft.state.tmp").exists());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let dir = scratch("rot");
        let (f, _) = DiskFile::open(&dir, false).unwrap();
        f.write(b"state", b"snapshot").unwrap();
        let good = fs::read(dir.join("raft.state")).unwrap();
        for bit in 0..good.len() * 8 {
            let mut bad = good.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            fs::write(dir.join("raft.state"), &bad).unwrap();
            let e = DiskFile::open(&dir, false)
                .err()
                .unwrap_or_else(|| panic!("bit {bit}"));
            assert!(e.contains("raft.state"), "{e}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
