//! Node profiles shared by the media drivers' targets: what a V4L2 capture
//! application, a subdev user, a media-ctl-like tool and an audio capture
//! program do with each kind of node. Arguments are encoded with the
//! scenario language's ioctl catalogue, so both speak the same ABI.

use crate::scenario::ioctls::IoctlCall as Encoded;
use crate::stress::target::{IoctlCall, NodeProfile};
use devlife_model::{MmapRequest, NodeKind};
use std::sync::{Arc, LazyLock};

/// Encodes `name` with `sets`; the catalogue knows every name used here.
fn call(name: &'static str, sets: &[(&str, &str)]) -> Option<IoctlCall> {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Encoded::encode(name, &sets)
        .ok()
        .map(|e| IoctlCall::new(name, e.cmd, e.arg))
}

fn calls(list: &[(&'static str, &[(&str, &str)])]) -> Vec<IoctlCall> {
    list.iter().filter_map(|(n, s)| call(n, s)).collect()
}

static VIDEO: LazyLock<Arc<NodeProfile>> = LazyLock::new(|| {
    Arc::new(NodeProfile {
        ioctls: calls(&[
            ("VIDIOC_QUERYCAP", &[]),
            ("VIDIOC_ENUM_FMT", &[("index", "0")]),
            ("VIDIOC_G_FMT", &[]),
            ("VIDIOC_REQBUFS", &[("count", "2")]),
            ("VIDIOC_REQBUFS", &[("count", "0")]),
            ("VIDIOC_QUERYBUF", &[("index", "0")]),
            ("VIDIOC_QBUF", &[("index", "0")]),
            ("VIDIOC_QBUF", &[("index", "1")]),
            // Sleeps until a frame is done, a signal, or the unplug.
            ("VIDIOC_DQBUF", &[]),
            ("VIDIOC_STREAMON", &[]),
            ("VIDIOC_STREAMOFF", &[]),
        ]),
        // A capture application: two buffers, stream, wait for two frames
        // (DQBUF sleeps until the frame is done, a signal, or the unplug),
        // requeue, stop, free.
        sequences: vec![calls(&[
            ("VIDIOC_REQBUFS", &[("count", "2")]),
            ("VIDIOC_QUERYBUF", &[("index", "0")]),
            ("VIDIOC_QBUF", &[("index", "0")]),
            ("VIDIOC_QBUF", &[("index", "1")]),
            ("VIDIOC_STREAMON", &[]),
            ("VIDIOC_DQBUF", &[]),
            ("VIDIOC_QBUF", &[("index", "0")]),
            ("VIDIOC_DQBUF", &[]),
            ("VIDIOC_STREAMOFF", &[]),
            ("VIDIOC_REQBUFS", &[("count", "0")]),
        ])],
        read_len: 8192,
        write: None,
        // Buffer 0 (cookie 0), after a REQBUFS on the same file.
        mmap: Some(MmapRequest {
            offset: 0,
            len: 4096,
            write: false,
        }),
    })
});

static SUBDEV: LazyLock<Arc<NodeProfile>> = LazyLock::new(|| {
    Arc::new(NodeProfile {
        ioctls: calls(&[
            ("VIDIOC_SUBDEV_QUERYCAP", &[]),
            ("VIDIOC_SUBDEV_G_FMT", &[("pad", "0")]),
            (
                "VIDIOC_SUBDEV_ENUM_MBUS_CODE",
                &[("pad", "0"), ("index", "0")],
            ),
        ]),
        ..NodeProfile::default()
    })
});

static MEDIA: LazyLock<Arc<NodeProfile>> = LazyLock::new(|| {
    Arc::new(NodeProfile {
        ioctls: calls(&[
            ("MEDIA_IOC_DEVICE_INFO", &[]),
            // The first entity (`MEDIA_ENT_ID_FLAG_NEXT`).
            ("MEDIA_IOC_ENUM_ENTITIES", &[("id", "0x80000000")]),
            // Counts only (null arrays).
            ("MEDIA_IOC_G_TOPOLOGY", &[]),
        ]),
        ..NodeProfile::default()
    })
});

static AUDIO: LazyLock<Arc<NodeProfile>> = LazyLock::new(|| {
    Arc::new(NodeProfile {
        ioctls: calls(&[
            ("SNDRV_PCM_IOCTL_PVERSION", &[]),
            ("SNDRV_PCM_IOCTL_HW_PARAMS", &[]),
            ("SNDRV_PCM_IOCTL_PREPARE", &[]),
            ("SNDRV_PCM_IOCTL_START", &[]),
            ("SNDRV_PCM_IOCTL_STATUS", &[]),
            ("SNDRV_PCM_IOCTL_DROP", &[]),
            ("SNDRV_PCM_IOCTL_HW_FREE", &[]),
        ]),
        sequences: vec![calls(&[
            ("SNDRV_PCM_IOCTL_HW_PARAMS", &[]),
            ("SNDRV_PCM_IOCTL_PREPARE", &[]),
            ("SNDRV_PCM_IOCTL_START", &[]),
            ("SNDRV_PCM_IOCTL_STATUS", &[]),
            ("SNDRV_PCM_IOCTL_DROP", &[]),
            ("SNDRV_PCM_IOCTL_HW_FREE", &[]),
        ])],
        // Blocking capture of samples (the first read starts the stream).
        read_len: 4096,
        ..NodeProfile::default()
    })
});

/// The profile of a node of `kind` of a media driver.
pub(crate) fn media_profile(kind: NodeKind) -> Arc<NodeProfile> {
    match kind {
        NodeKind::Video => VIDEO.clone(),
        NodeKind::Subdev => SUBDEV.clone(),
        NodeKind::Media => MEDIA.clone(),
        NodeKind::Audio => AUDIO.clone(),
        NodeKind::Misc | NodeKind::Char => Arc::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_ioctl_encodes() {
        assert_eq!(VIDEO.ioctls.len(), 11);
        assert_eq!(SUBDEV.ioctls.len(), 3);
        assert_eq!(MEDIA.ioctls.len(), 3);
        assert_eq!(AUDIO.ioctls.len(), 7);
        assert_eq!(VIDEO.sequences[0].len(), 10);
        assert_eq!(AUDIO.sequences[0].len(), 6);
        let dq = VIDEO
            .ioctls
            .iter()
            .find(|c| c.name == "VIDIOC_DQBUF")
            .unwrap();
        assert_eq!(dq.cmd, devlife_media::uapi::videodev2::VIDIOC_DQBUF);
    }
}
