//! media-ctl's names: entity types and subtypes, link and pad flags, and the
//! fields of a subdev format (`*_to_string` in v4l-utils).

use super::*;

/// Prints the names of the set bits of `flags` separated by commas, then
/// any unnamed remainder in hex (media-ctl's `media_print_flags`).
pub(super) fn print_flags(out: &mut String, names: &[(u32, &str)], mut flags: u32) {
    let mut first = true;
    for &(bit, name) in names {
        if flags & bit == 0 {
            continue;
        }
        if !first {
            out.push(',');
        }
        out.push_str(name);
        flags &= !bit;
        first = false;
    }
    if flags != 0 {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "0x{flags:x}");
    }
}

/// The link flags media-ctl names, in its order.
pub(super) const LINK_FLAGS: [(u32, &str); 3] = [
    (MEDIA_LNK_FL_ENABLED, "ENABLED"),
    (MEDIA_LNK_FL_IMMUTABLE, "IMMUTABLE"),
    (MEDIA_LNK_FL_DYNAMIC, "DYNAMIC"),
];

/// The pad flags media-ctl 1.28 names, in its order.
pub(super) const PAD_FLAGS: [(u32, &str); 3] = [
    (MEDIA_PAD_FL_SINK, "SINK"),
    (MEDIA_PAD_FL_SOURCE, "SOURCE"),
    (MEDIA_PAD_FL_MUST_CONNECT, "MUST_CONNECT"),
];

/// `media_entity_type_to_string`.
pub fn entity_type_name(ty: u32) -> &'static str {
    match ty & MEDIA_ENT_TYPE_MASK {
        MEDIA_ENT_T_DEVNODE => "Node",
        MEDIA_ENT_T_V4L2_SUBDEV => "V4L2 subdev",
        _ => "Unknown",
    }
}

/// `media_entity_subtype_to_string`.
pub fn entity_subtype_name(ty: u32) -> &'static str {
    const NODE: [&str; 5] = ["Unknown", "V4L", "FB", "ALSA", "DVB"];
    const SUBDEV: [&str; 6] = ["Unknown", "Sensor", "Flash", "Lens", "Decoder", "Tuner"];
    let sub = (ty & MEDIA_ENT_SUBTYPE_MASK) as usize;
    match ty & MEDIA_ENT_TYPE_MASK {
        MEDIA_ENT_T_DEVNODE => NODE.get(sub).copied().unwrap_or(NODE[0]),
        MEDIA_ENT_T_V4L2_SUBDEV => SUBDEV.get(sub).copied().unwrap_or(SUBDEV[0]),
        _ => NODE[0],
    }
}

/// `v4l2_subdev_pixelcode_to_string` (the `MEDIA_BUS_FMT_` name without the prefix).
pub fn mbus_code_name(code: u32) -> &'static str {
    const NAMES: &[(u32, &str)] = &[
        (0x0001, "FIXED"),
        (0x1009, "RGB666_1X18"),
        (0x100a, "RGB888_1X24"),
        (0x100b, "RGB888_2X12_BE"),
        (0x100c, "RGB888_2X12_LE"),
        (0x100d, "ARGB8888_1X32"),
        (0x100e, "RBG888_1X24"),
        (0x100f, "RGB888_1X32_PADHI"),
        (0x1011, "RGB888_1X7X4_SPWG"),
        (0x1012, "RGB888_1X7X4_JEIDA"),
        (0x1013, "BGR888_1X24"),
        (0x1014, "GBR888_1X24"),
        (0x1017, "RGB565_1X16"),
        (0x101b, "BGR888_3X8"),
        (0x101c, "RGB888_3X8"),
        (0x2001, "Y8_1X8"),
        (0x2006, "UYVY8_2X8"),
        (0x2007, "VYUY8_2X8"),
        (0x2008, "YUYV8_2X8"),
        (0x2009, "YVYU8_2X8"),
        (0x200a, "Y10_1X10"),
        (0x200f, "UYVY8_1X16"),
        (0x2011, "YUYV8_1X16"),
        (0x2013, "Y12_1X12"),
        (0x3001, "SBGGR8_1X8"),
        (0x3002, "SGRBG8_1X8"),
        (0x3007, "SBGGR10_1X10"),
        (0x3008, "SBGGR12_1X12"),
        (0x300a, "SGRBG10_1X10"),
        (0x300e, "SGBRG10_1X10"),
        (0x300f, "SRGGB10_1X10"),
        (0x3010, "SGBRG12_1X12"),
        (0x3011, "SGRBG12_1X12"),
        (0x3012, "SRGGB12_1X12"),
        (0x3013, "SGBRG8_1X8"),
        (0x3014, "SRGGB8_1X8"),
    ];
    NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("unknown", |(_, n)| n)
}

fn lookup(table: &[&'static str], v: u32) -> &'static str {
    match table.get(v as usize) {
        Some(s) if !s.is_empty() => s,
        _ => "unknown",
    }
}

/// `v4l2_subdev_field_to_string`.
pub fn field_name(v: u32) -> &'static str {
    lookup(
        &[
            "any",
            "none",
            "top",
            "bottom",
            "interlaced",
            "seq-tb",
            "seq-bt",
            "alternate",
            "interlaced-tb",
            "interlaced-bt",
        ],
        v,
    )
}

/// `v4l2_subdev_colorspace_to_string`.
pub fn colorspace_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "smpte170m",
            "smpte240m",
            "rec709",
            "",
            "470m",
            "470bg",
            "jpeg",
            "srgb",
            "oprgb",
            "bt2020",
            "raw",
            "dcip3",
        ],
        v,
    )
}

/// `v4l2_subdev_xfer_func_to_string`.
pub fn xfer_func_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "709",
            "srgb",
            "oprgb",
            "smpte240m",
            "none",
            "dcip3",
            "smpte2084",
        ],
        v,
    )
}

/// `v4l2_subdev_ycbcr_encoding_to_string`.
pub fn ycbcr_enc_name(v: u32) -> &'static str {
    lookup(
        &[
            "default",
            "601",
            "709",
            "xv601",
            "xv709",
            "",
            "bt2020",
            "bt2020c",
            "smpte240m",
        ],
        v,
    )
}

/// `v4l2_subdev_quantization_to_string`.
pub fn quantization_name(v: u32) -> &'static str {
    lookup(&["default", "full-range", "lim-range"], v)
}

/// `media_pad_type_to_string` of media-ctl 1.22–1.26: the first of Sink,
/// Source that the flags have.
pub(super) fn pad_type_name(flags: u32) -> &'static str {
    if flags & MEDIA_PAD_FL_SINK != 0 {
        "Sink"
    } else if flags & MEDIA_PAD_FL_SOURCE != 0 {
        "Source"
    } else {
        "Unknown"
    }
}
