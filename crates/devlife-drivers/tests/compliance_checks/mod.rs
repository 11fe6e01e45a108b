//! The checks of v4l2-compliance that matter for devlife, run in-process
//! through the model's `File` API on every node of a driver, so that a
//! regression is caught where FUSE (and so the real tool) is not available.
//! Each check is a named test with real assertions; a [`Suite`] collects the
//! failures of one node (see docs/compliance.md for the table).
#![allow(dead_code)] // each test binary uses a different part

pub mod ctrls;
pub mod media;
pub mod subdev;
pub mod video;

use devlife_media::uapi::ioctl::Wire;
use devlife_model::{Errno, File, KResult};

/// The outcome of one check: `Err` says what was wrong.
pub type Check = Result<(), String>;

/// Fails the enclosing check with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!("{}: {}", stringify!($cond), format!($($msg)+)));
        }
    };
}

/// Fails the enclosing check unless `got == want`.
#[macro_export]
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($msg:tt)+) => {{
        let (g, w) = (&$got, &$want);
        if g != w {
            return Err(format!("{} = {:?}, expected {:?}: {}", stringify!($got), g, w, format!($($msg)+)));
        }
    }};
}

/// The checks run on one node and the ones that failed.
#[derive(Debug)]
pub struct Suite {
    /// The node (`/dev/video0`).
    pub node: String,
    /// Checks run.
    pub tests: usize,
    /// (check, why) of each failed check.
    pub failures: Vec<(String, String)>,
}

impl Suite {
    pub fn new(node: &str) -> Self {
        Self {
            node: node.to_owned(),
            tests: 0,
            failures: Vec::new(),
        }
    }

    /// Runs one named check.
    pub fn test(&mut self, name: &str, f: impl FnOnce() -> Check) {
        self.tests += 1;
        if let Err(why) = f() {
            self.failures.push((name.to_owned(), why));
        }
    }

    /// Every failure of the node, one per line (`None`: all passed).
    pub fn report(&self) -> Option<String> {
        (!self.failures.is_empty()).then(|| {
            format!(
                "{}: {} of {} checks failed:\n{}",
                self.node,
                self.failures.len(),
                self.tests,
                self.failures
                    .iter()
                    .map(|(n, w)| format!("  {n}: {w}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    }
}

/// An ioctl with a typed argument: the value is updated on success.
pub fn ioc<T: Wire>(f: &File, cmd: u32, v: &mut T) -> KResult<i64> {
    let mut b = v.to_vec();
    let r = f.ioctl(cmd, &mut b)?;
    *v = T::decode(&b);
    Ok(r)
}

/// An ioctl whose argument is returned, or the errno.
pub fn get<T: Wire>(f: &File, cmd: u32, mut v: T) -> KResult<T> {
    ioc(f, cmd, &mut v)?;
    Ok(v)
}

/// Whether a fixed-size C string is non-empty and NUL-terminated.
pub fn good_str(s: &[u8]) -> bool {
    s.first().is_some_and(|&c| c != 0) && s.contains(&0)
}

/// The errno of a result, for messages and comparisons.
pub fn errno<T>(r: &KResult<T>) -> Option<Errno> {
    r.as_ref().err().copied()
}
