//! [`Errno`]: the error numbers every layer returns to "userspace".

use std::fmt;

/// A Linux error number (positive, as in `errno`), used by every layer of the
/// model and returned to callers of file operations.
///
/// `Display` prints the symbolic name (`ENODEV`), `Debug` the name and number.
///
/// ```
/// use devlife_model::Errno;
/// assert_eq!(Errno::ENODEV.to_string(), "ENODEV");
/// assert_eq!(Errno::ENODEV.raw(), 19);
/// assert_eq!(Errno::from_raw(5), Errno::EIO);
/// ```
///
/// # Invariants
///
/// The value is whatever the constructor was given; the named constants are
/// the Linux x86_64 numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[error("{}", self.name())]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr, $doc:expr;)*) => {
        impl Errno {
            $(
                #[doc = $doc]
                pub const $name: Errno = Errno($val);
            )*

            /// The symbolic name (`"ENODEV"`), or `"E?"` for an unknown number.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($val => stringify!($name),)*
                    _ => "E?",
                }
            }

            /// Every named errno, for tables and tests.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted.";
    ENOENT = 2, "No such file or directory (a node name that is not registered).";
    EINTR = 4, "Interrupted system call (a signal woke a sleeper).";
    EIO = 5, "I/O error (media nodes after unregistration).";
    ENXIO = 6, "No such device or address (media node open after unregistration).";
    E2BIG = 7, "Argument list too long.";
    EBADF = 9, "Bad file descriptor (use of a closed handle).";
    EAGAIN = 11, "Try again (non-blocking call would block).";
    ENOMEM = 12, "Out of memory (also injected allocation failures).";
    EACCES = 13, "Permission denied (file opened without the needed mode).";
    EFAULT = 14, "Bad address (argument buffer too small).";
    EBUSY = 16, "Device or resource busy (module in use, already bound).";
    EEXIST = 17, "File exists (name already registered).";
    ENODEV = 19, "No such device (video/subdev nodes after unplug).";
    EINVAL = 22, "Invalid argument.";
    ENFILE = 23, "File table overflow (no free minor).";
    ENOTTY = 25, "Inappropriate ioctl for device (unknown command).";
    ENOSPC = 28, "No space left on device.";
    ESPIPE = 29, "Illegal seek.";
    EPIPE = 32, "Broken pipe (invalid pipeline).";
    ERANGE = 34, "Result out of range.";
    EDEADLK = 35, "Resource deadlock would occur (unbind from inside an own operation).";
    ENOSYS = 38, "Function not implemented.";
    ENODATA = 61, "No data available.";
    ETIME = 62, "Timer expired.";
    EPROTO = 71, "Protocol error (bus transfer failed).";
    EOVERFLOW = 75, "Value too large for defined data type.";
    EREMOTEIO = 121, "Remote I/O error (I2C transfer not acknowledged).";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown (USB endpoint gone).";
    ETIMEDOUT = 110, "Connection timed out (a wait with a timeout expired).";
    ENOTSUP = 95, "Operation not supported.";
    ENOBUFS = 105, "No buffer space available (a buffer queue is full).";
    ENOIOCTLCMD = 515, "Kernel-internal: no such ioctl (mapped to ENOTTY for userspace).";
    EPROBE_DEFER = 517, "Kernel-internal: probe deferral.";
}

impl Errno {
    /// The errno with this raw value.
    pub const fn from_raw(raw: i32) -> Self {
        Errno(raw)
    }

    /// The raw positive value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The value a syscall would return (`-errno`).
    pub const fn as_return(self) -> i64 {
        -(self.0 as i64)
    }

    /// Kernel-internal codes mapped to what userspace sees
    /// (`ENOIOCTLCMD` becomes `ENOTTY`).
    pub fn to_user(self) -> Self {
        match self {
            Errno::ENOIOCTLCMD => Errno::ENOTTY,
            e => e,
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl From<devlife::Gone> for Errno {
    /// A gone gate is `ENODEV` unless a node policy says otherwise.
    fn from(_: devlife::Gone) -> Self {
        Errno::ENODEV
    }
}

impl From<devlife::WaitError> for Errno {
    fn from(e: devlife::WaitError) -> Self {
        match e {
            devlife::WaitError::Gone => Errno::ENODEV,
            devlife::WaitError::TimedOut => Errno::ETIMEDOUT,
            devlife::WaitError::Interrupted => Errno::EINTR,
        }
    }
}

/// `Result` with an [`Errno`] error.
pub type KResult<T> = Result<T, Errno>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_mapping() {
        assert_eq!(Errno::ENOTTY.to_string(), "ENOTTY");
        assert_eq!(format!("{:?}", Errno::EIO), "EIO(5)");
        assert_eq!(Errno(9999).name(), "E?");
        assert_eq!(Errno::ENOIOCTLCMD.to_user(), Errno::ENOTTY);
        assert_eq!(Errno::from(devlife::WaitError::Interrupted), Errno::EINTR);
        assert_eq!(Errno::EAGAIN.as_return(), -11);
        // Every constant has a distinct value and a name that round-trips.
        let mut seen = std::collections::HashSet::new();
        for e in Errno::ALL {
            assert!(seen.insert(e.raw()), "duplicate {e:?}");
            assert!(e.name().starts_with('E'));
        }
    }
}
