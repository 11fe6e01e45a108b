//! [`OpenFlags`]: the flags of an open file.

/// Flags of an open file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFlags {
    /// Opened for reading.
    pub read: bool,
    /// Opened for writing.
    pub write: bool,
    /// `O_NONBLOCK`: sleeping calls return `EAGAIN` instead.
    pub nonblock: bool,
}

impl Default for OpenFlags {
    fn default() -> Self {
        Self::RDWR
    }
}

impl OpenFlags {
    /// `O_RDWR`.
    pub const RDWR: OpenFlags = OpenFlags {
        read: true,
        write: true,
        nonblock: false,
    };
    /// `O_RDONLY`.
    pub const RDONLY: OpenFlags = OpenFlags {
        read: true,
        write: false,
        nonblock: false,
    };
    /// `O_WRONLY`.
    pub const WRONLY: OpenFlags = OpenFlags {
        read: false,
        write: true,
        nonblock: false,
    };
    /// The same flags with `O_NONBLOCK`.
    pub fn nonblocking(mut self) -> Self {
        self.nonblock = true;
        self
    }
}
