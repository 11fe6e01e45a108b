//! ABI checks of the media.h mirrors against docs/uapi-sizes.txt: sizes,
//! alignments, the byte position of every field in the encoded form, and the
//! ioctl numbers. (The same numbers are also compile-time assertions in
//! `uapi::media`; this test checks the codec puts bytes where C does.)

use devlife_media::uapi::ioctl::{IoctlCmd, Wire};
use devlife_media::uapi::media::*;
use std::mem::{align_of, size_of};

/// Encodes `v`, and checks that the little-endian `value` of `width` bytes
/// sits at `offset`.
fn at(bytes: &[u8], offset: usize, width: usize, value: u64) {
    let mut got = [0u8; 8];
    got[..width].copy_from_slice(&bytes[offset..offset + width]);
    assert_eq!(u64::from_le_bytes(got), value, "field at offset {offset}");
}

#[test]
fn sizes_and_alignment() {
    let table: [(usize, usize, usize, usize); 10] = [
        (
            size_of::<MediaDeviceInfo>(),
            align_of::<MediaDeviceInfo>(),
            MediaDeviceInfo::SIZE,
            256,
        ),
        (
            size_of::<MediaEntityDesc>(),
            align_of::<MediaEntityDesc>(),
            MediaEntityDesc::SIZE,
            256,
        ),
        (
            size_of::<MediaPadDesc>(),
            align_of::<MediaPadDesc>(),
            MediaPadDesc::SIZE,
            20,
        ),
        (
            size_of::<MediaLinkDesc>(),
            align_of::<MediaLinkDesc>(),
            MediaLinkDesc::SIZE,
            52,
        ),
        (
            size_of::<MediaLinksEnum>(),
            align_of::<MediaLinksEnum>(),
            MediaLinksEnum::SIZE,
            40,
        ),
        (
            size_of::<MediaV2Entity>(),
            align_of::<MediaV2Entity>(),
            MediaV2Entity::SIZE,
            96,
        ),
        (
            size_of::<MediaV2Interface>(),
            align_of::<MediaV2Interface>(),
            MediaV2Interface::SIZE,
            112,
        ),
        (
            size_of::<MediaV2Pad>(),
            align_of::<MediaV2Pad>(),
            MediaV2Pad::SIZE,
            32,
        ),
        (
            size_of::<MediaV2Link>(),
            align_of::<MediaV2Link>(),
            MediaV2Link::SIZE,
            40,
        ),
        (
            size_of::<MediaV2Topology>(),
            align_of::<MediaV2Topology>(),
            MediaV2Topology::SIZE,
            72,
        ),
    ];
    let aligns = [4, 4, 4, 4, 8, 1, 1, 1, 1, 1];
    for ((size, align, wire, want), want_align) in table.into_iter().zip(aligns) {
        assert_eq!((size, wire), (want, want));
        assert_eq!(align, want_align);
    }
    assert_eq!(size_of::<MediaV2IntfDevnode>(), 8);
}

#[test]
fn encoded_field_positions() {
    let mut d = MediaDeviceInfo::ZERO;
    d.driver[0] = b'v';
    d.model[0] = b'm';
    d.serial[0] = b's';
    d.bus_info[0] = b'b';
    d.media_version = 0x0006_1100;
    d.hw_revision = 0x1234;
    d.driver_version = 0x5678;
    let b = d.to_vec();
    for (off, c) in [(0, b'v'), (16, b'm'), (48, b's'), (88, b'b')] {
        assert_eq!(b[off], c);
    }
    at(&b, 120, 4, 0x0006_1100);
    at(&b, 124, 4, 0x1234);
    at(&b, 128, 4, 0x5678);

    let mut e = MediaEntityDesc::ZERO;
    e.id = 0x0a0b_0c0d;
    e.name[0] = b'n';
    e.type_ = 0x20001;
    e.flags = 3;
    e.pads = 0x0102;
    e.links = 0x0304;
    e.set_dev(81, 9);
    let b = e.to_vec();
    at(&b, 0, 4, 0x0a0b_0c0d);
    assert_eq!(b[4], b'n');
    at(&b, 36, 4, 0x20001);
    at(&b, 44, 4, 3);
    at(&b, 52, 2, 0x0102);
    at(&b, 54, 2, 0x0304);
    at(&b, 72, 4, 81);
    at(&b, 76, 4, 9);

    let p = MediaPadDesc {
        entity: 5,
        index: 7,
        flags: 2,
        reserved: [0; 2],
    };
    let l = MediaLinkDesc {
        source: p,
        sink: MediaPadDesc { entity: 6, ..p },
        flags: 0x11,
        reserved: [0; 2],
    };
    let b = l.to_vec();
    at(&b, 0, 4, 5);
    at(&b, 4, 2, 7);
    at(&b, 8, 4, 2);
    at(&b, 20, 4, 6);
    at(&b, 40, 4, 0x11);

    let le = MediaLinksEnum {
        entity: 3,
        pads: 0x1111_2222_3333,
        links: 0x4444_5555_6666,
        reserved: [0; 4],
    };
    let b = le.to_vec();
    at(&b, 0, 4, 3);
    at(&b, 4, 4, 0); // padding
    at(&b, 8, 8, 0x1111_2222_3333);
    at(&b, 16, 8, 0x4444_5555_6666);

    let t = MediaV2Topology {
        topology_version: 0x99,
        num_entities: 1,
        ptr_entities: 2,
        num_interfaces: 3,
        ptr_interfaces: 4,
        num_pads: 5,
        ptr_pads: 6,
        num_links: 7,
        ptr_links: 8,
        ..MediaV2Topology::ZERO
    };
    let b = t.to_vec();
    for (off, w, v) in [
        (0, 8, 0x99),
        (8, 4, 1),
        (16, 8, 2),
        (24, 4, 3),
        (32, 8, 4),
        (40, 4, 5),
        (48, 8, 6),
        (56, 4, 7),
        (64, 8, 8),
    ] {
        at(&b, off, w, v);
    }

    let mut i = MediaV2Interface::ZERO;
    i.id = 1;
    i.intf_type = MEDIA_INTF_T_V4L_SUBDEV;
    i.flags = 2;
    i.set_devnode(81, 4);
    let b = i.to_vec();
    at(&b, 4, 4, 0x203);
    at(&b, 8, 4, 2);
    at(&b, 48, 4, 81);
    at(&b, 52, 4, 4);

    let pd = MediaV2Pad {
        id: 1,
        entity_id: 2,
        flags: 3,
        index: 4,
        reserved: [0; 4],
    };
    let b = pd.to_vec();
    for (off, v) in [(0, 1), (4, 2), (8, 3), (12, 4)] {
        at(&b, off, 4, v);
    }
    let lk = MediaV2Link {
        id: 1,
        source_id: 2,
        sink_id: 3,
        flags: 4,
        reserved: [0; 6],
    };
    let b = lk.to_vec();
    for (off, v) in [(0, 1), (4, 2), (8, 3), (12, 4)] {
        at(&b, off, 4, v);
    }
    let mut en = MediaV2Entity::ZERO;
    en.id = 1;
    en.name[63] = b'z';
    en.function = 2;
    en.flags = 3;
    let b = en.to_vec();
    assert_eq!(b[67], b'z');
    at(&b, 68, 4, 2);
    at(&b, 72, 4, 3);
}

#[test]
fn ioctl_numbers() {
    let want = [
        (MEDIA_IOC_DEVICE_INFO, 0xc100_7c00u32, 256usize),
        (MEDIA_IOC_ENUM_ENTITIES, 0xc100_7c01, 256),
        (MEDIA_IOC_ENUM_LINKS, 0xc028_7c02, 40),
        (MEDIA_IOC_SETUP_LINK, 0xc034_7c03, 52),
        (MEDIA_IOC_G_TOPOLOGY, 0xc048_7c04, 72),
        (MEDIA_IOC_REQUEST_ALLOC, 0x8004_7c05, 4),
    ];
    for (cmd, number, size) in want {
        assert_eq!(cmd, number);
        assert_eq!(IoctlCmd(cmd).size(), size);
        assert_eq!(IoctlCmd(cmd).ty(), b'|');
        assert!(MEDIA_IOCTLS.lookup(cmd).is_some());
    }
    assert_eq!(MEDIA_REQUEST_IOC_QUEUE, 0x7c80);
    assert_eq!(MEDIA_REQUEST_IOC_REINIT, 0x7c81);
    assert!(
        MEDIA_IOCTLS.lookup(MEDIA_REQUEST_IOC_QUEUE).is_none(),
        "request fd only"
    );
}
