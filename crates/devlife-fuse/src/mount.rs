//! Mounting, serving and stopping one kernel's FUSE filesystem.

use crate::server::{DevlifeFs, Shared};
use crate::sys::SysTree;
use devlife_model::Kernel;
use fuser::{Config, MountOption, Session, SessionACL};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why mounting failed.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// `/dev/fuse` could not be opened or `mount(2)` failed.
    #[error("mounting FUSE on {path}: {source}")]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// What the system call answered.
        source: std::io::Error,
    },
    /// A server thread could not be started.
    #[error("starting the FUSE server: {0}")]
    Thread(std::io::Error),
}

/// How to serve.
pub struct ServeOptions {
    /// FUSE worker threads (each with its own `/dev/fuse` clone); at least 2.
    pub threads: usize,
    /// The host's `/dev` (an `O_PATH` directory fd): `dev/` then holds an
    /// empty `.host` directory to bind it on, and a symlink `name -> .host/name`
    /// for each host entry that is not a model node (`devlife exec`).
    pub host_dev: Option<OwnedFd>,
    /// Called on the session's thread when the session ends by itself
    /// (somebody unmounted it), not when [`Mounted::stop`] ends it.
    pub on_end: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("threads", &self.threads)
            .field("host_dev", &self.host_dev)
            .field("on_end", &self.on_end.is_some())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            threads: 4,
            host_dev: None,
            on_end: None,
        }
    }
}

/// What stopping found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// Files still open by clients when the server stopped (their next call
    /// gets `ENOTCONN`; the mount itself is gone).
    pub open_files: usize,
    /// Whether the connection had to be aborted (clients held files).
    pub aborted: bool,
    /// Signals forwarded to blocked calls during the run.
    pub interrupts: u64,
}

/// A mounted, running server.
///
/// # Invariants
///
/// While it exists the mount at [`dir`](Self::dir) is served. [`stop`](Self::stop)
/// (also run on drop) unplugs every device first, so every pending request is
/// answered, then detaches the mount and every bind of it, so no dead
/// (`ENOTCONN`) mount is left behind.
pub struct Mounted {
    dir: PathBuf,
    shared: Arc<Shared>,
    session: Option<JoinHandle<std::io::Result<()>>>,
    conn: u64,
    binds: Vec<PathBuf>,
    stopped: bool,
    stopping: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mounted")
            .field("dir", &self.dir)
            .field("conn", &self.conn)
            .finish()
    }
}

impl Mounted {
    /// Mounts `kernel`'s nodes (`dir/dev`) and `sys` (`dir/sys`) on `dir`
    /// and starts serving. Needs root (the pure-Rust mount calls `mount(2)`).
    pub fn mount(
        dir: &Path,
        kernel: Kernel,
        sys: SysTree,
        opts: ServeOptions,
    ) -> Result<Self, MountError> {
        let shared = Arc::new(Shared::new(kernel, sys, opts.host_dev).map_err(MountError::Thread)?);
        let fs = DevlifeFs {
            shared: shared.clone(),
        };
        let mut cfg = Config::default();
        cfg.mount_options = vec![
            MountOption::FSName("devlife".into()),
            MountOption::Subtype("devlife".into()),
            MountOption::NoSuid,
            MountOption::NoDev,
        ];
        cfg.acl = SessionACL::All;
        cfg.n_threads = Some(opts.threads.max(2));
        cfg.clone_fd = true;
        let session = Session::new(fs, dir, &cfg).map_err(|source| MountError::Mount {
            path: dir.to_owned(),
            source,
        })?;
        let _ = shared.notifier.set(session.notifier());
        let stopping = Arc::new(AtomicBool::new(false));
        let st = stopping.clone();
        let on_end = opts.on_end;
        let handle = std::thread::Builder::new()
            .name("fuse-session".into())
            .spawn(move || {
                let r = session.run();
                if !st.load(Ordering::SeqCst)
                    && let Some(f) = on_end
                {
                    f();
                }
                r
            })
            .map_err(MountError::Thread)?;
        let (sh, st) = (shared.clone(), stopping.clone());
        let watcher = std::thread::Builder::new()
            .name("fuse-devwatch".into())
            .spawn(move || crate::devwatch::run(&sh, &st))
            .ok();
        // Only now: a stat of the mount point is a FUSE request.
        let conn = std::fs::metadata(dir).map(|m| m.dev()).unwrap_or(0);
        Ok(Self {
            dir: dir.to_owned(),
            shared,
            session: Some(handle),
            conn,
            binds: Vec::new(),
            stopped: false,
            stopping,
            watcher,
        })
    }

    /// The mount point.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The served kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.shared.kernel
    }

    /// Files open through the mount right now.
    pub fn open_files(&self) -> usize {
        self.shared.open_handles()
    }

    /// Calls sleeping on behalf of clients right now.
    pub fn pending_calls(&self) -> usize {
        self.shared.blocking.pending()
    }

    /// Whether the session still runs (false once somebody unmounted it).
    pub fn is_serving(&self) -> bool {
        self.session.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Binds `dir/rel` on `target` (recursively) and remembers to detach it
    /// at stop.
    pub fn bind(&mut self, rel: &str, target: &Path) -> std::io::Result<()> {
        crate::ns::bind(&self.dir.join(rel), target, true)?;
        self.binds.push(target.to_owned());
        Ok(())
    }

    /// Remembers a bind mount made by the caller inside the mount (detached
    /// at stop before the mount itself).
    pub fn track_bind(&mut self, target: &Path) {
        self.binds.push(target.to_owned());
    }

    /// Waits until the session ends (somebody unmounted it).
    pub fn wait(&mut self) {
        if let Some(h) = self.session.take() {
            let _ = h.join();
        }
    }

    /// Stops serving: hot-unplugs every device (every sleeping call wakes and
    /// is answered), then detaches the binds and the mount; if clients still
    /// hold files the connection is aborted so the session ends.
    pub fn stop(&mut self) -> StopReport {
        if self.stopped {
            return StopReport {
                open_files: 0,
                aborted: false,
                interrupts: self.shared.blocking.interrupts(),
            };
        }
        self.stopped = true;
        self.stopping.store(true, Ordering::SeqCst);
        self.shared.kernel.shutdown();
        // The unplug woke every sleeper; their answers are on their way.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.shared.blocking.pending() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        for b in self.binds.drain(..).rev() {
            let _ = crate::ns::detach(&b);
        }
        let _ = crate::ns::detach(&self.dir);
        let open_files = self.shared.open_handles();
        let mut aborted = false;
        if let Some(h) = self.session.take() {
            // Without open files the session ends by itself once detached.
            let deadline = Instant::now() + Duration::from_millis(500);
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if !h.is_finished() {
                aborted = abort_connection(self.conn);
            }
            if h.is_finished() || aborted {
                let _ = h.join();
            }
        }
        self.shared.blocking.stop();
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        StopReport {
            open_files,
            aborted,
            interrupts: self.shared.blocking.interrupts(),
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Aborts FUSE connection `conn` through fusectl (mounting fusectl if
/// needed). Pending requests fail with `ECONNABORTED`, the workers see
/// `ENODEV` and the session ends.
fn abort_connection(conn: u64) -> bool {
    let base = Path::new("/sys/fs/fuse/connections");
    let file = base.join(conn.to_string()).join("abort");
    if !file.exists() {
        let _ = crate::ns::mount_fusectl(base);
    }
    std::fs::write(&file, b"1").is_ok()
}

/// `CString` of a path (paths with NUL bytes cannot be mounted on).
pub(crate) fn cpath(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))
}
