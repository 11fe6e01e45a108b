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
    /// Its kind.
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

/// The entity index of each capture, by capture number (video0..2 order).
pub const CAPTURES: [usize; NUM_CAPTURES] = [4, 5, 8];

/// The entity indices of the subdevs, in `v4l2_dev->subdevs` order
/// (v4l-subdev0..7).
pub const SUBDEVS: [usize; NUM_SUBDEVS] = [0, 1, 2, 3, 6, 7, 9, 10];

/// A data link of `data_links[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataLink {
    /// Source entity index.
    pub source: usize,
    /// Source pad.
    pub source_pad: u16,
    /// Sink entity index.
    pub sink: usize,
    /// Sink pad.
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
    link(0, 0, 2, 0, EI),
    link(0, 0, 4, 0, EI),
    link(1, 0, 3, 0, EI),
    link(1, 0, 5, 0, EI),
    link(2, 1, 7, 0, MEDIA_LNK_FL_ENABLED),
    link(3, 1, 7, 0, 0),
    link(6, 0, 7, 0, 0),
    link(7, 1, 8, 0, EI),
];

/// `ancillary_links[]`: (primary, ancillary) entity indices.
pub const ANCILLARY_LINKS: [(usize, usize); 2] = [(0, 9), (1, 10)];

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
