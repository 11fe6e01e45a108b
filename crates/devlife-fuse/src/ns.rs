//! Mount namespaces, bind mounts, signals and child processes for
//! `devlife mount` and `devlife exec` (the CLI has no `unsafe`; it lives here).

use crate::mount::cpath;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

/// Why a namespace operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NsError {
    /// The process already runs other threads (`unshare(CLONE_NEWNS)` needs a
    /// private `fs_struct`).
    #[error("the mount namespace must be unshared before any thread starts ({0} threads run)")]
    Threaded(usize),
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was being done.
        what: String,
        /// What the system call answered.
        source: std::io::Error,
    },
}

fn sys(what: impl Into<String>) -> NsError {
    NsError::Sys {
        what: what.into(),
        source: std::io::Error::last_os_error(),
    }
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1)
}

/// Moves the calling (single-threaded) process into a new mount namespace
/// whose mounts are all private: nothing mounted afterwards is seen outside,
/// and everything goes when the process exits.
pub fn enter_private_mount_namespace() -> Result<(), NsError> {
    let n = threads();
    if n > 1 {
        return Err(NsError::Threaded(n));
    }
    // SAFETY: unshare takes flags only; the process is single-threaded, as
    // CLONE_NEWNS requires.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(sys("unshare(CLONE_NEWNS)"));
    }
    let root = c"/";
    // SAFETY: valid NUL-terminated strings / null pointers as mount(2)
    // allows for a propagation change.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(sys("making / private (mount --make-rprivate /)"));
    }
    Ok(())
}

/// Bind-mounts `src` on `dst` (`recursive`: with the mounts below `src`).
pub fn bind(src: &Path, dst: &Path, recursive: bool) -> std::io::Result<()> {
    let s = cpath(src)?;
    let d = cpath(dst)?;
    let mut flags = libc::MS_BIND;
    if recursive {
        flags |= libc::MS_REC;
    }
    // SAFETY: `s` and `d` are NUL-terminated and outlive the call; the
    // filesystem type and data may be null for a bind mount.
    let r = unsafe {
        libc::mount(
            s.as_ptr(),
            d.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::new(
            e.kind(),
            format!("bind {} on {}: {e}", src.display(), dst.display()),
        ));
    }
    Ok(())
}

/// Lazily unmounts `path` (`umount -l`): it disappears now, and the
/// filesystem ends when its last user goes.
pub fn detach(path: &Path) -> std::io::Result<()> {
    let p = cpath(path)?;
    // SAFETY: `p` is NUL-terminated and outlives the call.
    if unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Mounts the FUSE control filesystem on `path`.
pub fn mount_fusectl(path: &Path) -> std::io::Result<()> {
    let p = cpath(path)?;
    let t = c"fusectl";
    // SAFETY: NUL-terminated strings that outlive the call; no data.
    let r = unsafe { libc::mount(t.as_ptr(), p.as_ptr(), t.as_ptr(), 0, std::ptr::null()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Opens a directory as an `O_PATH` fd (kept to reach the host's `/dev`
/// after something else is mounted over it).
pub fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    let p = cpath(path)?;
    // SAFETY: `p` is NUL-terminated; open returns a new fd or -1.
    let fd = unsafe {
        libc::open(
            p.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

const TERMINATION: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1];

fn termination_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut set) };
    for s in TERMINATION {
        // SAFETY: `set` is initialised and `s` a valid signal number.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    set
}

/// Blocks SIGINT, SIGTERM, SIGHUP and SIGUSR1 in the calling thread and every
/// thread it starts afterwards, so that [`wait_termination`] receives them
/// (call it first thing, before any thread starts). Children started with
/// [`spawn`] get an empty mask back.
pub fn block_termination_signals() {
    let set = termination_set();
    // SAFETY: `set` is initialised; the old mask is not wanted.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// Waits for SIGINT, SIGTERM, SIGHUP or SIGUSR1 (blocked beforehand with
/// [`block_termination_signals`]); returns the signal.
pub fn wait_termination() -> i32 {
    let set = termination_set();
    let mut sig: libc::c_int = 0;
    loop {
        // SAFETY: `set` is initialised and `sig` a valid out pointer.
        let r = unsafe { libc::sigwait(&set, &mut sig) };
        if r == 0 {
            return sig;
        }
    }
}

/// Whether `sig` (from [`wait_termination`]) is the wake-up of
/// [`wake_termination`] rather than a signal from outside.
pub fn is_wake(sig: i32) -> bool {
    sig == libc::SIGUSR1
}

/// Wakes [`wait_termination`] (with SIGUSR1), e.g. when the mount went away.
pub fn wake_termination() {
    // SAFETY: kill with our own pid and a valid signal has no memory effects.
    unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
}

/// Forwards SIGINT, SIGTERM and SIGHUP received by this process (blocked
/// with [`block_termination_signals`]) to process `pid`, from a thread, so
/// that `kill` or `timeout` on `devlife exec` reaches the command.
pub fn forward_termination(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signal-forward".into())
        .spawn(move || {
            loop {
                let sig = wait_termination();
                if is_wake(sig) {
                    continue;
                }
                // SAFETY: kill has no memory effects; a stale pid at worst
                // gets ESRCH.
                unsafe { libc::kill(pid, sig) };
            }
        });
}

/// Spawns `cmd` with every signal unblocked and default dispositions for
/// the termination signals (this process blocks them).
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only async-signal-safe functions (sigemptyset, sigprocmask, signal).
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            for s in TERMINATION {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        })
    };
    cmd.spawn()
}
