//! The ioctls a scenario can name, with their argument structs described
//! field by field (offsets from devlife-media's `#[repr(C)]` uapi mirrors,
//! via `offset_of!`), symbolic values (`memory=mmap`, `which=active`,
//! `pixelformat=RGB3`), defaults and the decoding of the output.
//!
//! A call is encoded at parse time into the exact `_IOC_SIZE(cmd)` bytes the
//! kernel copies in, so a bad field name or value is a parse error with the
//! line, never a runtime surprise.

use devlife_media::uapi::ioctl::IoctlCmd;

mod call;
mod catalogue;
mod ctrl_fields;
mod fields;

pub use call::{EncodeError, FieldError, IoctlCall, parse_int};
pub use catalogue::CATALOGUE;

/// How a field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldTy {
    /// `__u8`.
    U8,
    /// `__u16`.
    U16,
    /// `__u32`.
    U32,
    /// `__s32`.
    I32,
    /// `__u64`.
    U64,
    /// `__s64`.
    I64,
    /// `char[N]`.
    Str(usize),
    /// A `__u32` fourcc, written as 4 characters (`RGB3`) or a number.
    Fourcc,
}

/// One named field of an ioctl argument.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Name in scenarios (`count`, `format.width`, `source.entity`).
    pub name: &'static str,
    /// Byte offset in the argument.
    pub offset: usize,
    /// How the field is stored (width, signedness, string).
    pub ty: FieldTy,
    /// Symbolic values accepted (and shown) for this field.
    pub syms: &'static [(&'static str, u64)],
    /// Flag field: values may be combined with `|`.
    pub flags: bool,
}

const fn f(name: &'static str, offset: usize, ty: FieldTy) -> Field {
    Field {
        name,
        offset,
        ty,
        syms: &[],
        flags: false,
    }
}

const fn sym(
    name: &'static str,
    offset: usize,
    ty: FieldTy,
    syms: &'static [(&'static str, u64)],
) -> Field {
    Field {
        name,
        offset,
        ty,
        syms,
        flags: false,
    }
}

const fn flags(
    name: &'static str,
    offset: usize,
    ty: FieldTy,
    syms: &'static [(&'static str, u64)],
) -> Field {
    Field {
        name,
        offset,
        ty,
        syms,
        flags: true,
    }
}

/// One ioctl a scenario can name.
#[derive(Debug, Clone, Copy)]
pub struct IoctlSpec {
    /// Kernel name (`VIDIOC_DQBUF`).
    pub name: &'static str,
    /// The full ioctl number (`_IOC` encoded).
    pub cmd: u32,
    /// Argument size in bytes.
    pub size: usize,
    /// The argument's fields a scenario may set or check, by name.
    pub fields: &'static [Field],
    /// Values set before the scenario's own (`type=capture`, `memory=mmap`, `which=active`).
    pub defaults: &'static [(&'static str, u64)],
}

const fn spec(
    name: &'static str,
    cmd: u32,
    fields: &'static [Field],
    defaults: &'static [(&'static str, u64)],
) -> IoctlSpec {
    IoctlSpec {
        name,
        cmd,
        size: IoctlCmd(cmd).size(),
        fields,
        defaults,
    }
}

/// Looks an ioctl up by name.
pub fn lookup(name: &str) -> Option<&'static IoctlSpec> {
    CATALOGUE.iter().find(|s| s.name == name)
}
