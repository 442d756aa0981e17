//! Output folders: one writer at a time, results never lost or mixed.
//!
//! - [`lock`]: an exclusive lock on a sibling lock file `.NAME.lock` (flock), taken before
//!   anything in the folder is touched and removed when the writer ends. A second
//!   process is told the folder is in use (exit 1) and changes nothing.
//! - [`claim`]: what a folder holds decides whether a command may write into it: a run
//!   replaces a run of the same scenario (by `name`), a sweep continues a sweep of the
//!   same plan; anything else orchsim wrote is refused (exit 2) unless `--force`.
//! - [`Staging`]: a run is written into a sibling temporary folder `.NAME.tmp-PID`, then
//!   exchanged with the old folder in one atomic `renameat2(RENAME_EXCHANGE)`. A kill at
//!   any instant leaves the old complete folder or the new complete one. The user's own
//!   files in the old folder are carried over as hard links before the exchange.
//! - Leftovers of killed writers (`.NAME.tmp-*`, `.NAME.old-*`) are removed by the next
//!   writer, under the lock. No deletion ever follows a symbolic link.
//!
//! Test hook: with `ORCHSIM_TEST_KILL_AFTER=<file name>` the process aborts (as if killed
//! with `kill -9`) right after that file is written; `swap` names the exchange itself.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable of the deterministic kill hook (tests only).
pub const KILL_AFTER: &str = "ORCHSIM_TEST_KILL_AFTER";

/// Aborts the process if the kill hook names `name` (a file name, or `swap`).
pub fn kill_point(name: &str) {
    if std::env::var_os(KILL_AFTER).is_some_and(|v| v == name) {
        std::process::abort();
    }
}

/// Checks that `out` can be an output folder and returns it with symbolic links of the
/// folder itself resolved (so the link stays and its target is replaced).
pub fn target(out: &Path) -> Result<PathBuf> {
    let meta = std::fs::symlink_metadata(out);
    let resolved = match meta {
        Ok(m) if m.file_type().is_symlink() => out.canonicalize().map_err(|e| Error::io(out, e))?,
        _ => out.to_path_buf(),
    };
    if resolved.exists() && !resolved.is_dir() {
        return Err(Error::Usage(format!("--out {}: is a file, not a folder; choose a folder", out.display())));
    }
    if resolved.file_name().is_none() {
        return Err(Error::Usage(format!("--out {}: must name a folder (not `..` or `/`)", out.display())));
    }
    Ok(resolved)
}

/// The output folder of a command: `--out`, or `default()` (named after the scenario,
/// whose name must then be usable as a folder name: exit 2 otherwise).
pub fn choose(out: Option<&Path>, name: &str, default: impl FnOnce() -> PathBuf) -> Result<PathBuf> {
    if let Some(o) = out {
        return target(o);
    }
    let ok =
        !name.is_empty() && name.len() <= 200 && !name.starts_with('.') && !name.chars().any(|c| c.is_control() || c == '/' || c == '\\');
    if !ok {
        return Err(Error::Usage(format!(
            "scenario name {name:?} cannot name the default output folder (1 to 200 characters, no control characters, \
             slashes or leading dot); give --out DIR"
        )));
    }
    target(&default())
}

fn parent_and_name(out: &Path) -> Result<(PathBuf, String)> {
    let name =
        out.file_name().ok_or_else(|| Error::Usage(format!("--out {}: must name a folder", out.display())))?.to_string_lossy().into_owned();
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    Ok((parent, name))
}

/// An exclusive lock on an output folder; released (and its file removed) on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    _file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held: a process that opened the old file re-checks the
        // path after locking and retries on the new one.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Takes the lock of `out` (creating its parent folder), or says it is in use (exit 1).
pub fn lock(out: &Path) -> Result<Lock> {
    let (parent, name) = parent_and_name(out)?;
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let path = parent.join(format!(".{name}.lock"));
    loop {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        // File::try_lock is Rust 1.89, which statrs 0.19 needs anyway (the manifest's
        // `rust-version` is behind).
        #[allow(clippy::incompatible_msrv)]
        let locked = file.try_lock();
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Other(format!(
                    "{}: in use by another orchsim process (lock {}); wait for it to finish (a run or sweep can also write elsewhere with --out)",
                    out.display(),
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let held = file.metadata().map_err(|e| Error::io(&path, e))?;
        match std::fs::metadata(&path) {
            Ok(now) if same_file(&held, &now) => return Ok(Lock { path, _file: file }),
            _ => continue, // the previous holder removed it meanwhile
        }
    }
}

/// What an output folder holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Nothing (missing or empty).
    Nothing,
    /// A run of the scenario with this name.
    Run(String),
    /// A sweep (complete or not) with this plan (`sweep_plan.json`).
    Sweep(Vec<u8>),
    /// Files that orchsim did not write (or cannot identify).
    Other,
}

/// Looks at what `out` holds.
pub fn holds(out: &Path) -> Holds {
    let Ok(mut entries) = std::fs::read_dir(out) else { return Holds::Nothing };
    if entries.next().is_none() {
        return Holds::Nothing;
    }
    if let Ok(plan) = std::fs::read(out.join("sweep_plan.json")) {
        return Holds::Sweep(plan);
    }
    let Ok(bytes) = std::fs::read(out.join("manifest.json")) else { return Holds::Other };
    let Ok(m) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return Holds::Other };
    // Folders of other commands (`sensitivity`, `horizon`) record their kind: a run and
    // a sensitivity analysis of one scenario are different results.
    let name = m["scenario"]["name"].as_str().or_else(|| m["scenario_name"].as_str());
    match (name, m["kind"].as_str()) {
        (Some(name), Some(kind)) => Holds::Run(format!("{kind}:{name}")),
        (Some(name), None) if m.get("sweep").is_none() => Holds::Run(name.to_string()),
        _ => Holds::Other,
    }
}

/// Whether a command may write `want` into `out`, given what it holds. Refusals are
/// exit 2 and say how to proceed.
pub fn claim(out: &Path, want: &Holds, force: bool) -> Result<()> {
    let have = holds(out);
    let what = match (&have, want) {
        (Holds::Nothing | Holds::Other, _) => return Ok(()),
        (Holds::Run(a), Holds::Run(b)) if a == b => return Ok(()),
        (Holds::Sweep(a), Holds::Sweep(b)) if a == b => return Ok(()),
        (Holds::Run(a), _) => format!("the results of a run of scenario `{a}`"),
        (Holds::Sweep(_), Holds::Sweep(_)) => "the results of a different sweep (scenario, grid, replications or version differ)".into(),
        (Holds::Sweep(_), _) => "the results of a sweep".into(),
    };
    if force {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{}: holds {what}; nothing was changed. Choose another folder with --out DIR, or replace it with --force",
        out.display()
    )))
}

/// Removes the leftovers of killed writers of `out`: `.NAME.tmp-*` and `.NAME.old-*`
/// beside it (a folder swapped out but not yet removed is put back first if `out` is
/// missing). Call it only while holding the lock.
pub fn clean_leftovers(out: &Path) -> Result<()> {
    let (parent, name) = parent_and_name(out)?;
    let Ok(entries) = std::fs::read_dir(&parent) else { return Ok(()) };
    let (tmp, old) = (format!(".{name}.tmp-"), format!(".{name}.old-"));
    let mut stale: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if f.starts_with(&old) && std::fs::symlink_metadata(out).is_err() {
            // Swapped out by a writer killed before the new folder was renamed in.
            std::fs::rename(e.path(), out).map_err(|x| Error::io(out, x))?;
        } else if f.starts_with(&tmp) || f.starts_with(&old) {
            stale.push(e.path());
        }
    }
    for p in stale {
        remove_tree(&p)?;
    }
    Ok(())
}

/// Removes a file, a symbolic link (never its target) or a folder tree (never following
/// the links in it).
pub fn remove_tree(p: &Path) -> Result<()> {
    let res = match std::fs::symlink_metadata(p) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
    };
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(p, e)),
        _ => Ok(()),
    }
}

/// A sibling temporary folder that becomes `out` on [`Staging::commit`], or is removed.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
}

impl Staging {
    /// Creates `.NAME.tmp-PID` beside `out`. Call it while holding the lock.
    pub fn new(out: &Path) -> Result<Staging> {
        clean_leftovers(out)?;
        let (parent, name) = parent_and_name(out)?;
        let dir = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        remove_tree(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging { dir, out: out.to_path_buf() })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Carries the user's own files over from the old folder, then puts the new folder
    /// in place of the old one atomically and removes the old one.
    pub fn commit(self) -> Result<()> {
        let old_is_ours = !matches!(holds(&self.out), Holds::Other | Holds::Nothing);
        if self.out.is_dir() {
            carry(&self.out, &self.dir, Path::new(""), old_is_ours)?;
        }
        let res = if std::fs::symlink_metadata(&self.out).is_ok() {
            match exchange(&self.dir, &self.out) {
                Ok(()) => Ok(()),
                Err(_) => {
                    // No atomic exchange here: two renames; a kill between them is put
                    // right by the next writer (see `clean_leftovers`).
                    let (parent, name) = parent_and_name(&self.out)?;
                    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
                    std::fs::rename(&self.out, &old).map_err(|e| Error::io(&self.out, e))?;
                    std::fs::rename(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e))?;
                    std::fs::rename(&old, &self.dir).map_err(|e| Error::io(&old, e))
                }
            }
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e))
        };
        res?;
        kill_point("swap");
        // `self.dir` now holds the old folder; Drop removes it.
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = remove_tree(&self.dir);
    }
}

/// Is `rel` (a path relative to an output folder) a file orchsim writes there?
fn is_ours(rel: &Path) -> bool {
    let parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    match parts.as_slice() {
        [f] => super::OUTPUTS.contains(&f.as_str()) && f != "charts" && f != "parts" || f.starts_with('.') && f.contains(".tmp-"),
        [d, f] if d == "charts" => {
            super::CHARTS.iter().any(|c| *f == format!("{c}.svg") || *f == format!("{c}.png")) || f.starts_with('.') && f.contains(".tmp-")
        }
        [d, f] if d == "parts" => f.starts_with("point-") && f.ends_with(".csv") || f.starts_with('.') && f.contains(".tmp-"),
        _ => false,
    }
}

/// Links (or copies) into `to` every entry of `from/rel` that `to` lacks, except, when
/// `from` is an orchsim folder, orchsim's own outputs. Links are copied as links.
fn carry(from: &Path, to: &Path, rel: &Path, skip_ours: bool) -> Result<()> {
    let dir = from.join(rel);
    for e in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?.flatten() {
        let r = rel.join(e.file_name());
        if skip_ours && is_ours(&r) {
            continue;
        }
        let (src, dst) = (from.join(&r), to.join(&r));
        let meta = std::fs::symlink_metadata(&src).map_err(|x| Error::io(&src, x))?;
        let dst_meta = std::fs::symlink_metadata(&dst).ok();
        if meta.file_type().is_symlink() {
            if dst_meta.is_none() {
                copy_link(&src, &dst)?;
            }
        } else if meta.is_dir() {
            match &dst_meta {
                None => std::fs::create_dir(&dst).map_err(|x| Error::io(&dst, x))?,
                Some(m) if m.is_dir() => {}
                Some(_) => continue,
            }
            carry(from, to, &r, skip_ours)?;
            // A folder left empty (it held only our old files) is not kept.
            if dst_meta.is_none() {
                let _ = std::fs::remove_dir(&dst);
            }
        } else if dst_meta.is_none() {
            std::fs::hard_link(&src, &dst).or_else(|_| std::fs::copy(&src, &dst).map(|_| ())).map_err(|x| Error::io(&dst, x))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_link(src: &Path, dst: &Path) -> Result<()> {
    let target = std::fs::read_link(src).map_err(|e| Error::io(src, e))?;
    std::os::unix::fs::symlink(target, dst).map_err(|e| Error::io(dst, e))
}

#[cfg(not(unix))]
fn copy_link(_: &Path, _: &Path) -> Result<()> {
    Ok(())
}

/// Exchanges two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call;
    // the syscall reads them and takes no other memory.
    let r = unsafe { libc::syscall(libc::SYS_renameat2, libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_replaces_the_folder_and_keeps_the_users_files() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        std::fs::create_dir_all(out.join("charts")).unwrap();
        std::fs::write(out.join("summary.csv"), "old").unwrap();
        std::fs::write(out.join("tasks.csv"), "old").unwrap();
        std::fs::write(out.join("manifest.json"), r#"{"scenario":{"name":"x"}}"#).unwrap();
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        std::fs::write(out.join("charts/latency.png"), "old").unwrap();
        std::fs::write(out.join("charts/mine.txt"), "mine").unwrap();
        let _l = lock(&out).unwrap();
        assert!(lock(&out).is_err(), "a second writer is refused");
        let s = Staging::new(&out).unwrap();
        std::fs::write(s.path().join("summary.csv"), "new").unwrap();
        std::fs::write(s.path().join("manifest.json"), r#"{"scenario":{"name":"x"}}"#).unwrap();
        s.commit().unwrap();
        let read = |p: &str| std::fs::read_to_string(out.join(p)).ok();
        assert_eq!(read("summary.csv").as_deref(), Some("new"));
        assert_eq!(read("tasks.csv"), None, "an old output of orchsim is not carried over");
        assert_eq!(read("charts/latency.png"), None);
        assert_eq!(read("notes.txt").as_deref(), Some("mine"));
        assert_eq!(read("charts/mine.txt").as_deref(), Some("mine"));
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 2, "only the folder and its lock file: {left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn leftovers_are_removed_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let precious = d.path().join("precious");
        std::fs::create_dir(&precious).unwrap();
        std::fs::write(precious.join("point-000000.csv"), "keep").unwrap();
        let out = d.path().join("o");
        let stale = d.path().join(".o.tmp-1");
        std::fs::create_dir_all(&stale).unwrap();
        std::os::unix::fs::symlink(&precious, stale.join("parts")).unwrap();
        std::fs::create_dir(&out).unwrap();
        clean_leftovers(&out).unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read_to_string(precious.join("point-000000.csv")).unwrap(), "keep");
    }

    #[test]
    fn a_folder_swapped_out_by_a_killed_writer_is_put_back() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        std::fs::create_dir(d.path().join(".o.old-7")).unwrap();
        std::fs::write(d.path().join(".o.old-7/summary.csv"), "old").unwrap();
        clean_leftovers(&out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("summary.csv")).unwrap(), "old");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn two_folders_are_exchanged_in_one_step() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(a.join("f"), "a").unwrap();
        std::fs::write(b.join("f"), "b").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(std::fs::read_to_string(a.join("f")).unwrap(), "b");
        assert_eq!(std::fs::read_to_string(b.join("f")).unwrap(), "a");
    }

    #[test]
    fn claims() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("o");
        assert!(claim(&out, &Holds::Run("a".into()), false).is_ok());
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("manifest.json"), r#"{"scenario":{"name":"a"}}"#).unwrap();
        assert!(claim(&out, &Holds::Run("a".into()), false).is_ok());
        let e = claim(&out, &Holds::Run("b".into()), false).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("--force"), "{e}");
        assert!(claim(&out, &Holds::Run("b".into()), true).is_ok());
        assert!(claim(&out, &Holds::Sweep(b"p".to_vec()), false).is_err());
        std::fs::write(out.join("sweep_plan.json"), "p").unwrap();
        assert!(claim(&out, &Holds::Sweep(b"p".to_vec()), false).is_ok());
        assert!(claim(&out, &Holds::Sweep(b"q".to_vec()), false).is_err());
        assert!(claim(&out, &Holds::Run("a".into()), false).is_err());
    }
}
