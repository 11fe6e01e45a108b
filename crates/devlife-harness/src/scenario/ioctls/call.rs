//! [`IoctlCall`]: a call encoded from `field=value` pairs (parse time) and
//! its output decoded back into fields.

use super::{Field, FieldTy, IoctlSpec, lookup};

use devlife_media::uapi::ioctl::{IoctlCmd, get_str, put_str};

use devlife_media::uapi::videodev2::*;

use super::FieldTy::*;

/// An encoded ioctl call.
///
/// # Invariants
///
/// `arg.len()` is the size the command's handler expects (`_IOC_SIZE(cmd)`
/// for the uapi ioctls).
#[derive(Debug, Clone)]
pub struct IoctlCall {
    /// Name (`VIDIOC_REQBUFS`, or the number in hex for a raw command).
    pub name: String,
    /// The full ioctl number (`_IOC` encoded).
    pub cmd: u32,
    /// The argument bytes.
    pub arg: Vec<u8>,
    /// The catalogue entry (`None` for a raw command).
    pub spec: Option<&'static IoctlSpec>,
}

/// Why a field assignment or comparison is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No such field.
    #[error("{ioctl} has no field `{field}` (fields: {known})")]
    Unknown {
        /// The ioctl the field was given for.
        ioctl: String,
        /// The field the ioctl's argument does not have.
        field: String,
        /// The fields it has.
        known: String,
    },
    /// The value does not fit or is not a known symbol.
    #[error("bad value `{value}` for field `{field}`: {why}")]
    BadValue {
        /// The field the value was given for.
        field: String,
        /// The value as written in the scenario.
        value: String,
        /// Why it does not fit the field.
        why: String,
    },
}

fn field<'a>(spec: &'a IoctlSpec, name: &str) -> Result<&'a Field, FieldError> {
    spec.fields
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| FieldError::Unknown {
            ioctl: spec.name.to_owned(),
            field: name.to_owned(),
            known: if spec.fields.is_empty() {
                "none".to_owned()
            } else {
                spec.fields
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// Parses an integer: decimal, `0x` hex, or negative decimal.
pub fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i128::from_str_radix(&h.replace('_', ""), 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
            return None;
        }
        body.replace('_', "").parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn bad(fl: &Field, value: &str, why: impl Into<String>) -> FieldError {
    FieldError::BadValue {
        field: fl.name.to_owned(),
        value: value.to_owned(),
        why: why.into(),
    }
}

/// The integer value of `text` for field `fl` (number, symbol, `a|b` for
/// flag fields, 4-character fourcc).
fn value_of(fl: &Field, text: &str) -> Result<u64, FieldError> {
    if fl.flags && text.contains('|') {
        let mut acc = 0u64;
        for part in text.split('|') {
            acc |= value_of(
                &Field {
                    flags: false,
                    ..*fl
                },
                part,
            )?;
        }
        return Ok(acc);
    }
    if let Some((_, v)) = fl.syms.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
        return Ok(*v);
    }
    if fl.ty == Fourcc && text.len() == 4 && text.is_ascii() && parse_int(text).is_none() {
        let b = text.as_bytes();
        return Ok(u64::from(fourcc(b[0], b[1], b[2], b[3])));
    }
    let n = parse_int(text).ok_or_else(|| {
        let mut why = "not a number".to_owned();
        if !fl.syms.is_empty() {
            why.push_str(" or one of ");
            why.push_str(
                &fl.syms
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        if fl.ty == Fourcc {
            why.push_str(" or a 4-character fourcc");
        }
        bad(fl, text, why)
    })?;
    let (min, max): (i128, i128) = match fl.ty {
        U8 => (0, u8::MAX.into()),
        U16 => (0, u16::MAX.into()),
        U32 | Fourcc => (i128::from(i32::MIN), u32::MAX.into()),
        I32 => (i32::MIN.into(), u32::MAX.into()),
        U64 => (i128::from(i64::MIN), u64::MAX.into()),
        I64 => (i64::MIN.into(), u64::MAX.into()),
        Str(_) => return Err(bad(fl, text, "a string field")),
    };
    if n < min || n > max {
        return Err(bad(fl, text, format!("out of range for {:?}", fl.ty)));
    }
    // Two's complement for negative values of unsigned fields.
    Ok((n as i64) as u64 & mask(fl.ty))
}

fn mask(ty: FieldTy) -> u64 {
    match ty {
        U8 => 0xff,
        U16 => 0xffff,
        U32 | I32 | Fourcc => 0xffff_ffff,
        U64 | I64 => u64::MAX,
        Str(_) => 0,
    }
}

fn width(ty: FieldTy) -> usize {
    match ty {
        U8 => 1,
        U16 => 2,
        U32 | I32 | Fourcc => 4,
        U64 | I64 => 8,
        Str(n) => n,
    }
}

fn store(fl: &Field, arg: &mut [u8], v: u64) {
    let w = width(fl.ty);
    if let Some(dst) = arg.get_mut(fl.offset..fl.offset + w) {
        dst.copy_from_slice(&v.to_le_bytes()[..w]);
    }
}

fn load(fl: &Field, arg: &[u8]) -> u64 {
    let w = width(fl.ty);
    let mut b = [0u8; 8];
    if let Some(src) = arg.get(fl.offset..fl.offset + w) {
        b[..w].copy_from_slice(src);
    }
    u64::from_le_bytes(b)
}

fn set(spec: &IoctlSpec, arg: &mut [u8], name: &str, text: &str) -> Result<(), FieldError> {
    let fl = field(spec, name)?;
    if let Str(n) = fl.ty {
        if text.len() >= n {
            return Err(bad(fl, text, format!("longer than {} bytes", n - 1)));
        }
        if let Some(dst) = arg.get_mut(fl.offset..fl.offset + n) {
            put_str(dst, text);
        }
        return Ok(());
    }
    let v = value_of(fl, text)?;
    store(fl, arg, v);
    Ok(())
}

impl IoctlCall {
    /// Encodes `name` with `sets` (`field`, `value`) applied over the
    /// catalogue defaults. A `name` that is a number (`0x7401`) is a raw
    /// command with a zeroed argument of `_IOC_SIZE` bytes and no fields.
    pub fn encode(name: &str, sets: &[(String, String)]) -> Result<Self, EncodeError> {
        if let Some(n) = parse_int(name) {
            let cmd = u32::try_from(n).map_err(|_| EncodeError::BadNumber(name.to_owned()))?;
            if let Some((k, _)) = sets.first() {
                return Err(EncodeError::RawFields(k.clone()));
            }
            return Ok(Self {
                name: format!("{cmd:#x}"),
                cmd,
                arg: vec![0; IoctlCmd(cmd).size()],
                spec: None,
            });
        }
        let spec = lookup(name).ok_or_else(|| EncodeError::Unknown(name.to_owned()))?;
        let mut arg = vec![0u8; spec.size];
        for (k, v) in spec.defaults {
            if let Ok(fl) = field(spec, k) {
                store(fl, &mut arg, *v);
            }
        }
        for (k, v) in sets {
            set(spec, &mut arg, k, v)?;
        }
        Ok(Self {
            name: spec.name.to_owned(),
            cmd: spec.cmd,
            arg,
            spec: Some(spec),
        })
    }

    /// Checks that `field` exists and `value` can be compared with it.
    pub fn check_field(&self, name: &str, value: &str) -> Result<(), FieldError> {
        match self.spec {
            Some(spec) => {
                let fl = field(spec, name)?;
                if matches!(fl.ty, Str(_)) {
                    Ok(())
                } else {
                    value_of(fl, value).map(|_| ())
                }
            }
            None => Err(FieldError::Unknown {
                ioctl: self.name.clone(),
                field: name.to_owned(),
                known: "none (raw command)".to_owned(),
            }),
        }
    }

    /// Compares output field `name` of `out` with `value`. `Ok(None)` when
    /// equal, `Ok(Some(actual))` when not.
    pub fn compare(
        &self,
        out: &[u8],
        name: &str,
        value: &str,
    ) -> Result<Option<String>, FieldError> {
        let Some(spec) = self.spec else {
            return Err(FieldError::Unknown {
                ioctl: self.name.clone(),
                field: name.to_owned(),
                known: "none (raw command)".to_owned(),
            });
        };
        let fl = field(spec, name)?;
        let shown = show(fl, out);
        if let Str(n) = fl.ty {
            let s = out
                .get(fl.offset..fl.offset + n)
                .map(get_str)
                .unwrap_or_default();
            return Ok((s != value).then_some(shown));
        }
        let want = value_of(fl, value)?;
        Ok((load(fl, out) != want).then_some(shown))
    }

    /// The output fields of `out`, as `name=value` (zero numbers left out).
    pub fn describe(&self, out: &[u8]) -> String {
        let Some(spec) = self.spec else {
            return String::new();
        };
        let mut parts = Vec::new();
        for fl in spec.fields {
            let s = show(fl, out);
            if matches!(s.as_str(), "0" | "\"\"") {
                continue;
            }
            parts.push(format!("{}={}", fl.name, s));
        }
        parts.join(" ")
    }
}

fn show(fl: &Field, out: &[u8]) -> String {
    if let Str(n) = fl.ty {
        let s = out
            .get(fl.offset..fl.offset + n)
            .map(get_str)
            .unwrap_or_default();
        return format!("{s:?}");
    }
    let v = load(fl, out);
    if fl.ty == Fourcc && v != 0 {
        return fourcc_str(v as u32);
    }
    if !fl.flags
        && let Some((n, _)) = fl.syms.iter().find(|(_, x)| *x == v)
    {
        return (*n).to_owned();
    }
    if fl.ty == I32 {
        return (v as u32 as i32).to_string();
    }
    if fl.ty == I64 {
        return (v as i64).to_string();
    }
    v.to_string()
}

/// Why an ioctl cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Not in the catalogue.
    #[error("unknown ioctl `{0}` (see scenarios/README.md for the list, or give a number)")]
    Unknown(String),
    /// A number that is not a 32-bit command.
    #[error("`{0}` is not a 32-bit ioctl number")]
    BadNumber(String),
    /// Fields on a raw command.
    #[error("a raw ioctl number has no fields (got `{0}=`)")]
    RawFields(String),
    /// A field error.
    #[error(transparent)]
    Field(#[from] FieldError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ioctls::CATALOGUE;
    use devlife_media::uapi::ioctl::Wire;
    use devlife_media::uapi::media::*;
    use devlife_media::uapi::subdev::*;

    #[test]
    fn reqbufs_is_encoded_like_the_uapi_struct() {
        let c = IoctlCall::encode(
            "VIDIOC_REQBUFS",
            &[
                ("count".into(), "4".into()),
                ("memory".into(), "mmap".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.cmd, VIDIOC_REQBUFS);
        let r = V4l2Requestbuffers::decode(&c.arg);
        assert_eq!((r.count, r.type_, r.memory), (4, 1, 1));
        assert_eq!(c.arg.len(), V4l2Requestbuffers::SIZE);
        assert_eq!(c.compare(&c.arg, "count", "4").unwrap(), None);
        assert_eq!(
            c.compare(&c.arg, "count", "3").unwrap(),
            Some("4".to_owned())
        );
        assert!(c.describe(&c.arg).contains("memory=mmap"));
    }

    #[test]
    fn nested_and_symbolic_fields() {
        let c = IoctlCall::encode(
            "VIDIOC_SUBDEV_S_FMT",
            &[
                ("pad".into(), "1".into()),
                ("width".into(), "640".into()),
                ("code".into(), "SRGGB8_1X8".into()),
            ],
        )
        .unwrap();
        let v = V4l2SubdevFormat::decode(&c.arg);
        assert_eq!(v.which, V4L2_SUBDEV_FORMAT_ACTIVE);
        assert_eq!((v.pad, v.format.width), (1, 640));
        assert_eq!(v.format.code, MEDIA_BUS_FMT_SRGGB8_1X8);
        let g =
            IoctlCall::encode("VIDIOC_S_FMT", &[("pixelformat".into(), "RGB3".into())]).unwrap();
        assert_eq!(V4l2Format::decode(&g.arg).pix().pixelformat, pix_fmt::RGB24);
        let l = IoctlCall::encode(
            "MEDIA_IOC_SETUP_LINK",
            &[
                ("sink.index".into(), "2".into()),
                ("flags".into(), "enabled|dynamic".into()),
            ],
        )
        .unwrap();
        let d = MediaLinkDesc::decode(&l.arg);
        assert_eq!(d.sink.index, 2);
        assert_eq!(d.flags, MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_DYNAMIC);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = IoctlCall::encode("VIDIOC_REQBUFS", &[("cont".into(), "4".into())]).unwrap_err();
        assert!(e.to_string().contains("no field `cont`"), "{e}");
        let e =
            IoctlCall::encode("VIDIOC_REQBUFS", &[("memory".into(), "mmapp".into())]).unwrap_err();
        assert!(e.to_string().contains("mmap"), "{e}");
        let e = IoctlCall::encode("VIDIOC_REQBUFS", &[("flags".into(), "256".into())]).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        assert!(matches!(
            IoctlCall::encode("VIDIOC_NOPE", &[]),
            Err(EncodeError::Unknown(_))
        ));
        let raw = IoctlCall::encode("0xc0145608", &[]).unwrap();
        assert_eq!(raw.arg.len(), 20);
        assert!(IoctlCall::encode("0x1c0145608", &[]).is_err());
    }

    #[test]
    fn catalogue_is_consistent() {
        for (i, s) in CATALOGUE.iter().enumerate() {
            assert!(CATALOGUE[i + 1..].iter().all(|o| o.name != s.name));
            for fl in s.fields {
                assert!(fl.offset + width(fl.ty) <= s.size, "{} {}", s.name, fl.name);
            }
            for (k, _) in s.defaults {
                assert!(field(s, k).is_ok(), "{} default {k}", s.name);
            }
        }
    }
}
