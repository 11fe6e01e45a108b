//! [`CATALOGUE`]: every ioctl a scenario can name, with its argument layout
//! and defaults.

use super::ctrl_fields::{
    CONTROL, CREATE_BUFFERS, EVENT, EVENT_SUBSCRIPTION, EXPORTBUFFER, EXT_CONTROLS, FRMSIZEENUM,
    INPUT, INPUT_INDEX, PRIORITY, QUERY_EXT_CTRL, QUERYCTRL, QUERYMENU, SUBDEV_CROP,
};
use super::fields::{
    BUFFER, CAPABILITY, CLIENT_CAP, DEVICE_INFO, ENTITY_DESC, FMTDESC, FORMAT, FRAME_SIZE_ENUM,
    LINK_DESC, LINKS_ENUM, MBUS_CODE_ENUM, PCM_HW_PARAMS, PCM_STATUS, REQBUFS, ROUTING,
    STREAM_TYPE, SUBDEV_CAP, SUBDEV_FORMAT, SUBDEV_SELECTION, TESTDRV_COUNT, TESTDRV_HWOP,
    TESTDRV_STATS, TOPOLOGY,
};
use super::{IoctlSpec, f, spec};
use devlife_drivers::usb_av::pcm;
use devlife_media::uapi::controls::*;
use devlife_media::uapi::io::*;

use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::testdrv;

use super::FieldTy::*;

// ----- the catalogue --------------------------------------------------------

pub(super) const CAPTURE: (&str, u64) = ("type", buf_type::VIDEO_CAPTURE as u64);
pub(super) const MMAP: (&str, u64) = ("memory", memory::MMAP as u64);
pub(super) const ACTIVE: (&str, u64) = ("which", V4L2_SUBDEV_FORMAT_ACTIVE as u64);
pub(super) const CREATE_CAPTURE: (&str, u64) = ("format.type", buf_type::VIDEO_CAPTURE as u64);

/// Every ioctl a scenario can name.
pub const CATALOGUE: &[IoctlSpec] = &[
    // media.h
    spec(
        "MEDIA_IOC_DEVICE_INFO",
        MEDIA_IOC_DEVICE_INFO,
        DEVICE_INFO,
        &[],
    ),
    spec(
        "MEDIA_IOC_ENUM_ENTITIES",
        MEDIA_IOC_ENUM_ENTITIES,
        ENTITY_DESC,
        &[],
    ),
    spec(
        "MEDIA_IOC_ENUM_LINKS",
        MEDIA_IOC_ENUM_LINKS,
        LINKS_ENUM,
        &[],
    ),
    spec("MEDIA_IOC_SETUP_LINK", MEDIA_IOC_SETUP_LINK, LINK_DESC, &[]),
    spec("MEDIA_IOC_G_TOPOLOGY", MEDIA_IOC_G_TOPOLOGY, TOPOLOGY, &[]),
    spec(
        "MEDIA_IOC_REQUEST_ALLOC",
        MEDIA_IOC_REQUEST_ALLOC,
        &[f("fd", 0, I32)],
        &[],
    ),
    // videodev2.h
    spec("VIDIOC_QUERYCAP", VIDIOC_QUERYCAP, CAPABILITY, &[]),
    spec("VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT, FMTDESC, &[CAPTURE]),
    spec("VIDIOC_G_FMT", VIDIOC_G_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_S_FMT", VIDIOC_S_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_TRY_FMT", VIDIOC_TRY_FMT, FORMAT, &[CAPTURE]),
    spec("VIDIOC_REQBUFS", VIDIOC_REQBUFS, REQBUFS, &[CAPTURE, MMAP]),
    spec("VIDIOC_QUERYBUF", VIDIOC_QUERYBUF, BUFFER, &[CAPTURE, MMAP]),
    spec("VIDIOC_QBUF", VIDIOC_QBUF, BUFFER, &[CAPTURE, MMAP]),
    spec("VIDIOC_DQBUF", VIDIOC_DQBUF, BUFFER, &[CAPTURE, MMAP]),
    spec(
        "VIDIOC_PREPARE_BUF",
        VIDIOC_PREPARE_BUF,
        BUFFER,
        &[CAPTURE, MMAP],
    ),
    spec("VIDIOC_STREAMON", VIDIOC_STREAMON, STREAM_TYPE, &[CAPTURE]),
    spec(
        "VIDIOC_STREAMOFF",
        VIDIOC_STREAMOFF,
        STREAM_TYPE,
        &[CAPTURE],
    ),
    spec("VIDIOC_EXPBUF", VIDIOC_EXPBUF, EXPORTBUFFER, &[CAPTURE]),
    spec(
        "VIDIOC_CREATE_BUFS",
        VIDIOC_CREATE_BUFS,
        CREATE_BUFFERS,
        &[CREATE_CAPTURE, MMAP],
    ),
    spec("VIDIOC_G_PARM", VIDIOC_G_PARM, &[], &[]),
    spec("VIDIOC_S_PARM", VIDIOC_S_PARM, &[], &[]),
    spec(
        "VIDIOC_ENUM_FRAMESIZES",
        VIDIOC_ENUM_FRAMESIZES,
        FRMSIZEENUM,
        &[],
    ),
    spec("VIDIOC_ENUMINPUT", VIDIOC_ENUMINPUT, INPUT, &[]),
    spec("VIDIOC_G_INPUT", VIDIOC_G_INPUT, INPUT_INDEX, &[]),
    spec("VIDIOC_S_INPUT", VIDIOC_S_INPUT, INPUT_INDEX, &[]),
    spec("VIDIOC_G_PRIORITY", VIDIOC_G_PRIORITY, PRIORITY, &[]),
    spec("VIDIOC_S_PRIORITY", VIDIOC_S_PRIORITY, PRIORITY, &[]),
    // Controls and events (video and subdev nodes).
    spec("VIDIOC_QUERYCTRL", VIDIOC_QUERYCTRL, QUERYCTRL, &[]),
    spec(
        "VIDIOC_QUERY_EXT_CTRL",
        VIDIOC_QUERY_EXT_CTRL,
        QUERY_EXT_CTRL,
        &[],
    ),
    spec("VIDIOC_QUERYMENU", VIDIOC_QUERYMENU, QUERYMENU, &[]),
    spec("VIDIOC_G_CTRL", VIDIOC_G_CTRL, CONTROL, &[]),
    spec("VIDIOC_S_CTRL", VIDIOC_S_CTRL, CONTROL, &[]),
    spec("VIDIOC_G_EXT_CTRLS", VIDIOC_G_EXT_CTRLS, EXT_CONTROLS, &[]),
    spec("VIDIOC_S_EXT_CTRLS", VIDIOC_S_EXT_CTRLS, EXT_CONTROLS, &[]),
    spec(
        "VIDIOC_TRY_EXT_CTRLS",
        VIDIOC_TRY_EXT_CTRLS,
        EXT_CONTROLS,
        &[],
    ),
    spec("VIDIOC_DQEVENT", VIDIOC_DQEVENT, EVENT, &[]),
    spec(
        "VIDIOC_SUBSCRIBE_EVENT",
        VIDIOC_SUBSCRIBE_EVENT,
        EVENT_SUBSCRIPTION,
        &[],
    ),
    spec(
        "VIDIOC_UNSUBSCRIBE_EVENT",
        VIDIOC_UNSUBSCRIBE_EVENT,
        EVENT_SUBSCRIPTION,
        &[],
    ),
    spec("VIDIOC_LOG_STATUS", VIDIOC_LOG_STATUS, &[], &[]),
    // v4l2-subdev.h
    spec(
        "VIDIOC_SUBDEV_QUERYCAP",
        VIDIOC_SUBDEV_QUERYCAP,
        SUBDEV_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_ENUM_MBUS_CODE",
        VIDIOC_SUBDEV_ENUM_MBUS_CODE,
        MBUS_CODE_ENUM,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_FMT",
        VIDIOC_SUBDEV_G_FMT,
        SUBDEV_FORMAT,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_FMT",
        VIDIOC_SUBDEV_S_FMT,
        SUBDEV_FORMAT,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_SELECTION",
        VIDIOC_SUBDEV_G_SELECTION,
        SUBDEV_SELECTION,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_SELECTION",
        VIDIOC_SUBDEV_S_SELECTION,
        SUBDEV_SELECTION,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_ENUM_FRAME_SIZE",
        VIDIOC_SUBDEV_ENUM_FRAME_SIZE,
        FRAME_SIZE_ENUM,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_CLIENT_CAP",
        VIDIOC_SUBDEV_G_CLIENT_CAP,
        CLIENT_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_S_CLIENT_CAP",
        VIDIOC_SUBDEV_S_CLIENT_CAP,
        CLIENT_CAP,
        &[],
    ),
    spec(
        "VIDIOC_SUBDEV_G_CROP",
        VIDIOC_SUBDEV_G_CROP,
        SUBDEV_CROP,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_CROP",
        VIDIOC_SUBDEV_S_CROP,
        SUBDEV_CROP,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_G_ROUTING",
        VIDIOC_SUBDEV_G_ROUTING,
        ROUTING,
        &[ACTIVE],
    ),
    spec(
        "VIDIOC_SUBDEV_S_ROUTING",
        VIDIOC_SUBDEV_S_ROUTING,
        ROUTING,
        &[ACTIVE],
    ),
    // usb-av's PCM capture node (ALSA numbers, devlife's small structs)
    spec(
        "SNDRV_PCM_IOCTL_PVERSION",
        pcm::PCM_IOCTL_PVERSION,
        &[f("version", 0, U32)],
        &[],
    ),
    spec(
        "SNDRV_PCM_IOCTL_HW_PARAMS",
        pcm::PCM_IOCTL_HW_PARAMS,
        PCM_HW_PARAMS,
        &[
            ("rate", pcm::PcmHwParams::DEFAULT.rate as u64),
            ("channels", pcm::PcmHwParams::DEFAULT.channels as u64),
            ("format", pcm::PcmHwParams::DEFAULT.format as u64),
            (
                "period_bytes",
                pcm::PcmHwParams::DEFAULT.period_bytes as u64,
            ),
        ],
    ),
    spec("SNDRV_PCM_IOCTL_HW_FREE", pcm::PCM_IOCTL_HW_FREE, &[], &[]),
    spec(
        "SNDRV_PCM_IOCTL_STATUS",
        pcm::PCM_IOCTL_STATUS,
        PCM_STATUS,
        &[],
    ),
    spec("SNDRV_PCM_IOCTL_PREPARE", pcm::PCM_IOCTL_PREPARE, &[], &[]),
    spec("SNDRV_PCM_IOCTL_START", pcm::PCM_IOCTL_START, &[], &[]),
    spec("SNDRV_PCM_IOCTL_DROP", pcm::PCM_IOCTL_DROP, &[], &[]),
    // devlife-model's testdrv (argument sizes are the driver's, not _IOC_SIZE)
    IoctlSpec {
        name: "TESTDRV_PING",
        cmd: testdrv::IOC_PING,
        size: 0,
        fields: &[],
        defaults: &[],
    },
    IoctlSpec {
        name: "TESTDRV_HWOP",
        cmd: testdrv::IOC_HWOP,
        size: 4,
        fields: TESTDRV_HWOP,
        defaults: &[("count", 1)],
    },
    IoctlSpec {
        name: "TESTDRV_TRIGGER",
        cmd: testdrv::IOC_TRIGGER,
        size: 0,
        fields: &[],
        defaults: &[],
    },
    IoctlSpec {
        name: "TESTDRV_WAIT",
        cmd: testdrv::IOC_WAIT,
        size: 4,
        fields: TESTDRV_COUNT,
        defaults: &[("count", 1)],
    },
    IoctlSpec {
        name: "TESTDRV_STATS",
        cmd: testdrv::IOC_STATS,
        size: 16,
        fields: TESTDRV_STATS,
        defaults: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::CATALOGUE;
    use devlife_media::uapi::ioctl::IoctlCmd;
    use devlife_media::uapi::subdev::SubdevIoctl;
    use devlife_media::uapi::videodev2::VideoIoctl;

    /// Every ioctl a video or subdev node serves can be named in a scenario,
    /// with the fields of its argument; only those no devlife node serves
    /// (they answer `ENOTTY`) may lack fields.
    #[test]
    fn every_served_v4l2_ioctl_is_in_the_catalogue_with_its_fields() {
        let unserved = [
            "VIDIOC_G_PARM",
            "VIDIOC_S_PARM",
            "VIDIOC_G_SELECTION",
            "VIDIOC_S_SELECTION",
            "VIDIOC_REMOVE_BUFS",
            "VIDIOC_ENUM_FRAMEINTERVALS",
        ];
        let names = VideoIoctl::ALL
            .iter()
            .map(|i| (i.name(), i.cmd()))
            .chain(SubdevIoctl::ALL.iter().map(|i| (i.name(), i.cmd())));
        for (name, cmd) in names {
            if unserved.contains(&name) {
                continue;
            }
            let spec = CATALOGUE
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("{name} is not in the catalogue"));
            assert_eq!(spec.cmd, cmd, "{name}");
            let has_arg = IoctlCmd(cmd).size() > 0;
            assert_eq!(!spec.fields.is_empty(), has_arg, "{name}: fields");
        }
    }
}
