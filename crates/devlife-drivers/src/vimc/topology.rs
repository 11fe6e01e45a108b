//! vimc's fixed topology (`vimc-core.c`: `ent_config[]`, `data_links[]`,
//! `ancillary_links[]`; docs/vimc.md, "Topology") and the object ids it yields ("Object ids").

use devlife_media::uapi::media::{
    MEDIA_ENT_F_CAM_SENSOR, MEDIA_ENT_F_IO_V4L, MEDIA_ENT_F_LENS,
    MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV, MEDIA_ENT_F_PROC_VIDEO_SCALER, MEDIA_LNK_FL_ENABLED,
    MEDIA_LNK_FL_IMMUTABLE, MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE,
};

/// The kind of a vimc entity (the `vimc_*_type` it is created with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntKind {
    /// `vimc_sensor_type` (also used for "RGB/YUV Input").
    Sensor,
    /// `vimc_debayer_type`.
    Debayer,
    /// `vimc_capture_type`: a video device.
    Capture,
    /// `vimc_scaler_type`.
    Scaler,
    /// `vimc_lens_type`: no pads.
    Lens,
}

impl EntKind {
    /// The entity function.
    pub fn function(self) -> u32 {
        match self {
            EntKind::Sensor => MEDIA_ENT_F_CAM_SENSOR,
            EntKind::Debayer => MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV,
            EntKind::Capture => MEDIA_ENT_F_IO_V4L,
            EntKind::Scaler => MEDIA_ENT_F_PROC_VIDEO_SCALER,
            EntKind::Lens => MEDIA_ENT_F_LENS,
        }
    }

    /// The pad flags, by index.
    pub fn pads(self) -> &'static [u32] {
        match self {
            EntKind::Sensor => &[MEDIA_PAD_FL_SOURCE],
            EntKind::Debayer | EntKind::Scaler => &[MEDIA_PAD_FL_SINK, MEDIA_PAD_FL_SOURCE],
            EntKind::Capture => &[MEDIA_PAD_FL_SINK],
            EntKind::Lens => &[],
        }
    }
}

/// One entry of `ent_config[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntConfig {
    /// The entity name.
    pub name: &'static str,
    /// Which vimc entity type it is (sensor, debayer, ...).
    pub kind: EntKind,
}

/// Number of entities.
pub const NUM_ENTITIES: usize = 11;
/// Number of capture video devices.
pub const NUM_CAPTURES: usize = 3;
/// Number of subdevs (each with a `/dev/v4l-subdevN` node).
pub const NUM_SUBDEVS: usize = 8;

/// `ent_config[]`, in probe order.
pub const ENTITIES: [EntConfig; NUM_ENTITIES] = [
    EntConfig {
        name: "Sensor A",
        kind: EntKind::Sensor,
    },
    EntConfig {
        name: "Sensor B",
        kind: EntKind::Sensor,
    },
    EntConfig {
        name: "Debayer A",
        kind: EntKind::Debayer,
    },
    EntConfig {
        name: "Debayer B",
        kind: EntKind::Debayer,
    },
    EntConfig {
        name: "Raw Capture 0",
        kind: EntKind::Capture,
    },
    EntConfig {
        name: "Raw Capture 1",
        kind: EntKind::Capture,
    },
    EntConfig {
        name: "RGB/YUV Input",
        kind: EntKind::Sensor,
    },
    EntConfig {
        name: "Scaler",
        kind: EntKind::Scaler,
    },
    EntConfig {
        name: "RGB/YUV Capture",
        kind: EntKind::Capture,
    },
    EntConfig {
        name: "Lens A",
        kind: EntKind::Lens,
    },
    EntConfig {
        name: "Lens B",
        kind: EntKind::Lens,
    },
];

/// `ent_config[]` index of Sensor A.
pub const SENSOR_A: usize = 0;
/// `ent_config[]` index of Sensor B.
pub const SENSOR_B: usize = 1;
/// `ent_config[]` index of Debayer A.
pub const DEBAYER_A: usize = 2;
/// `ent_config[]` index of Debayer B.
pub const DEBAYER_B: usize = 3;
/// `ent_config[]` index of Raw Capture 0.
pub const RAW_CAPTURE_0: usize = 4;
/// `ent_config[]` index of Raw Capture 1.
pub const RAW_CAPTURE_1: usize = 5;
/// `ent_config[]` index of RGB/YUV Input.
pub const RGB_YUV_INPUT: usize = 6;
/// `ent_config[]` index of the Scaler.
pub const SCALER: usize = 7;
/// `ent_config[]` index of RGB/YUV Capture.
pub const RGB_YUV_CAPTURE: usize = 8;
/// `ent_config[]` index of Lens A.
pub const LENS_A: usize = 9;
/// `ent_config[]` index of Lens B.
pub const LENS_B: usize = 10;

/// The entity index of each capture, by capture number (video0..2 order).
pub const CAPTURES: [usize; NUM_CAPTURES] = [RAW_CAPTURE_0, RAW_CAPTURE_1, RGB_YUV_CAPTURE];

/// The entity indices of the subdevs, in `v4l2_dev->subdevs` order
/// (v4l-subdev0..7).
pub const SUBDEVS: [usize; NUM_SUBDEVS] = [
    SENSOR_A,
    SENSOR_B,
    DEBAYER_A,
    DEBAYER_B,
    RGB_YUV_INPUT,
    SCALER,
    LENS_A,
    LENS_B,
];

/// A data link of `data_links[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataLink {
    /// Source entity index.
    pub source: usize,
    /// Pad index on the source entity.
    pub source_pad: u16,
    /// Sink entity index.
    pub sink: usize,
    /// Pad index on the sink entity.
    pub sink_pad: u16,
    /// `MEDIA_LNK_FL_*`.
    pub flags: u32,
}

const EI: u32 = MEDIA_LNK_FL_ENABLED | MEDIA_LNK_FL_IMMUTABLE;

const fn link(source: usize, source_pad: u16, sink: usize, sink_pad: u16, flags: u32) -> DataLink {
    DataLink {
        source,
        source_pad,
        sink,
        sink_pad,
        flags,
    }
}

/// `data_links[]`, in creation order.
pub const DATA_LINKS: [DataLink; 8] = [
    // Sensor A (pad 0) -> (pad 0) Debayer A
    link(SENSOR_A, 0, DEBAYER_A, 0, EI),
    // Sensor A (pad 0) -> (pad 0) Raw Capture 0
    link(SENSOR_A, 0, RAW_CAPTURE_0, 0, EI),
    // Sensor B (pad 0) -> (pad 0) Debayer B
    link(SENSOR_B, 0, DEBAYER_B, 0, EI),
    // Sensor B (pad 0) -> (pad 0) Raw Capture 1
    link(SENSOR_B, 0, RAW_CAPTURE_1, 0, EI),
    // Debayer A (pad 1) -> (pad 0) Scaler
    link(DEBAYER_A, 1, SCALER, 0, MEDIA_LNK_FL_ENABLED),
    // Debayer B (pad 1) -> (pad 0) Scaler
    link(DEBAYER_B, 1, SCALER, 0, 0),
    // RGB/YUV Input (pad 0) -> (pad 0) Scaler
    link(RGB_YUV_INPUT, 0, SCALER, 0, 0),
    // Scaler (pad 1) -> (pad 0) RGB/YUV Capture
    link(SCALER, 1, RGB_YUV_CAPTURE, 0, EI),
];

/// `ancillary_links[]`: (primary, ancillary) entity indices.
pub const ANCILLARY_LINKS: [(usize, usize); 2] = [
    // Sensor A -> Lens A
    (SENSOR_A, LENS_A),
    // Sensor B -> Lens B
    (SENSOR_B, LENS_B),
];

/// The entity index named `name`.
pub fn entity_index(name: &str) -> Option<usize> {
    ENTITIES.iter().position(|e| e.name == name)
}

/// The capture number of entity index `ent`.
pub fn capture_number(ent: usize) -> Option<usize> {
    CAPTURES.iter().position(|&c| c == ent)
}

/// The graph ids a freshly probed vimc gets (docs/vimc.md, "Object ids"), when it is the only
/// user of its media device: the entity ids by entity index.
pub const ENTITY_IDS: [u32; NUM_ENTITIES] = [1, 3, 5, 8, 11, 15, 19, 21, 24, 28, 29];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_consistent() {
        for l in DATA_LINKS {
            let s = ENTITIES[l.source].kind.pads();
            let k = ENTITIES[l.sink].kind.pads();
            assert_eq!(s[usize::from(l.source_pad)], MEDIA_PAD_FL_SOURCE);
            assert_eq!(k[usize::from(l.sink_pad)], MEDIA_PAD_FL_SINK);
        }
        for (i, c) in CAPTURES.iter().enumerate() {
            assert_eq!(ENTITIES[*c].kind, EntKind::Capture);
            assert_eq!(capture_number(*c), Some(i));
        }
        for s in SUBDEVS {
            assert_ne!(ENTITIES[s].kind, EntKind::Capture);
        }
        assert_eq!(entity_index("Scaler"), Some(7));
        // The named indices are `ent_config[]`'s.
        for (i, name) in [
            (SENSOR_A, "Sensor A"),
            (SENSOR_B, "Sensor B"),
            (DEBAYER_A, "Debayer A"),
            (DEBAYER_B, "Debayer B"),
            (RAW_CAPTURE_0, "Raw Capture 0"),
            (RAW_CAPTURE_1, "Raw Capture 1"),
            (RGB_YUV_INPUT, "RGB/YUV Input"),
            (SCALER, "Scaler"),
            (RGB_YUV_CAPTURE, "RGB/YUV Capture"),
            (LENS_A, "Lens A"),
            (LENS_B, "Lens B"),
        ] {
            assert_eq!(ENTITIES[i].name, name);
        }
        // docs/vimc.md, "Object ids": entity, then its pads; video entities also get an interface
        // and its link; the ids follow.
        let mut next = 0;
        for (i, e) in ENTITIES.iter().enumerate() {
            next += 1;
            assert_eq!(ENTITY_IDS[i], next, "{}", e.name);
            next += e.kind.pads().len() as u32;
            if e.kind == EntKind::Capture {
                next += 2;
            }
        }
        assert_eq!(next, 29);
    }
}
