//! What an operation returned, how it is shown, and how it is checked
//! against `-> RESULT`.

use super::super::ast::{Expected, ResultExpect};
use super::super::errno_name;
use super::super::ioctls::IoctlCall;
use devlife_model::{Errno, PollMask};

/// What an operation returned.
#[derive(Debug, Clone)]
pub(crate) struct StepResult {
    pub(super) ret: Result<i64, Errno>,
    pub(super) mask: Option<PollMask>,
    pub(super) out: Option<Vec<u8>>,
    /// The value is a quantity (bytes, a loaded byte), shown as a number.
    pub(super) numeric: bool,
}

impl StepResult {
    pub(super) fn plain(ret: Result<i64, Errno>) -> Self {
        Self {
            ret,
            mask: None,
            out: None,
            numeric: false,
        }
    }
    pub(super) fn number(ret: Result<i64, Errno>) -> Self {
        Self {
            numeric: true,
            ..Self::plain(ret)
        }
    }
}

pub(super) type Done = Result<StepResult, String>;

/// The text of a result, for logs and errors.
pub(super) fn show(r: &StepResult, call: Option<&IoctlCall>) -> String {
    match &r.ret {
        Err(e) => errno_name(*e),
        Ok(v) => {
            if let Some(m) = r.mask {
                return format!("{m:?}");
            }
            let mut s = if *v == 0 && !r.numeric {
                "ok".to_owned()
            } else {
                v.to_string()
            };
            if let (Some(c), Some(out)) = (call, &r.out) {
                let d = c.describe(out);
                if !d.is_empty() {
                    s.push_str(": ");
                    s.push_str(&d);
                }
            }
            s
        }
    }
}

/// Checks `r` against `e`; `Err(message)` when it does not match.
pub(super) fn check_result(
    r: &StepResult,
    e: &ResultExpect,
    call: Option<&IoctlCall>,
) -> Result<(), String> {
    let matches = |x: &Expected| match x {
        Expected::Ok => r.ret.is_ok(),
        Expected::Value(v) => r.ret == Ok(*v),
        Expected::Errno(er) => r.ret == Err(*er),
        Expected::Mask(m) => r.ret.is_ok() && r.mask == Some(*m),
        Expected::Any => true,
    };
    if !e.any_of.iter().any(matches) {
        let want: Vec<String> = e.any_of.iter().map(ToString::to_string).collect();
        return Err(format!(
            "expected {}, got {}",
            want.join(" or "),
            show(r, call)
        ));
    }
    if !e.fields.is_empty() {
        let (Some(c), Some(out)) = (call, &r.out) else {
            return Err("field checks need a successful ioctl".to_owned());
        };
        for (k, v) in &e.fields {
            match c.compare(out, k, v) {
                Ok(None) => {}
                Ok(Some(actual)) => {
                    return Err(format!(
                        "{} returned {k}={actual}, expected {k}={v}",
                        c.name
                    ));
                }
                Err(x) => return Err(x.to_string()),
            }
        }
    }
    Ok(())
}
