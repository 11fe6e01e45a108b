//! Fuzzing of `MEDIA_IOC_*` argument buffers (proptest): random commands,
//! random bytes, short buffers and random embedded pointers never panic, give
//! only the errnos the kernel gives, leave the caller's buffer untouched on
//! error, and never put a byte in a reply that the caller did not send or
//! the handler did not set.

mod mc_util;

use devlife::Monitor;
use devlife_media::mc::*;
use devlife_media::uapi::ioctl::{AddressSpace, IoctlCmd, Wire, iowr};
use devlife_media::uapi::media::*;
use devlife_model::Errno;
use mc_util::*;
use proptest::prelude::*;

/// A fresh vimc graph with its own monitor, for one case: a case that enables
/// or disables links (SETUP_LINK) must not change what the next case sees, so
/// a failing case replays alone exactly as it ran.
fn graph() -> (Monitor, Vimc) {
    let m = Monitor::new();
    let v = vimc(&m);
    (m, v)
}

const ALLOWED: [Errno; 6] = [
    Errno::ENOTTY,
    Errno::EFAULT,
    Errno::EINVAL,
    Errno::ENOSPC,
    Errno::EBUSY,
    Errno::EPIPE,
];

fn any_cmd() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(MEDIA_IOC_DEVICE_INFO),
        Just(MEDIA_IOC_ENUM_ENTITIES),
        Just(MEDIA_IOC_ENUM_LINKS),
        Just(MEDIA_IOC_SETUP_LINK),
        Just(MEDIA_IOC_G_TOPOLOGY),
        Just(MEDIA_IOC_REQUEST_ALLOC),
        // Right nr, wrong size or direction.
        (0u8..8, 0usize..400).prop_map(|(nr, size)| iowr(b'|', nr, size)),
        any::<u32>(),
    ]
}

/// Arguments whose pointer fields aim at a mapping (or near it) half of the time.
fn fill_pointers(cmd: u32, arg: &mut [u8], mm: &AddressSpace, base: u64, len: u64, sel: &[u64]) {
    let at = |i: usize| sel.get(i).copied().unwrap_or(0);
    let pick = |s: u64| match s % 4 {
        0 => 0,
        1 => base + (s >> 8) % len.max(1),
        2 => base.wrapping_sub(s % 64),
        _ => s,
    };
    let _ = mm;
    if cmd == MEDIA_IOC_ENUM_LINKS && arg.len() >= 40 {
        arg[8..16].copy_from_slice(&pick(at(0)).to_le_bytes());
        arg[16..24].copy_from_slice(&pick(at(1)).to_le_bytes());
    }
    if cmd == MEDIA_IOC_G_TOPOLOGY && arg.len() >= 72 {
        for (i, off) in [16usize, 32, 48, 64].into_iter().enumerate() {
            arg[off..off + 8].copy_from_slice(&pick(at(i)).to_le_bytes());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_ioctls_never_panic(
        cmd in any_cmd(),
        mut arg in proptest::collection::vec(any::<u8>(), 0..320),
        map_len in 0usize..2048,
        sel in proptest::collection::vec(any::<u64>(), 4),
    ) {
        let (_monitor, v) = graph();
        let mm = AddressSpace::new();
        let base = mm.map(map_len);
        fill_pointers(cmd, &mut arg, &mm, base, map_len as u64, &sel);
        let before = arg.clone();
        match media_ioctl(&v.mdev, cmd, &mut arg, &mm) {
            Ok(r) => {
                prop_assert_eq!(r, 0);
                prop_assert!(MEDIA_IOCTLS.lookup(cmd).is_some());
                let size = IoctlCmd(cmd).size();
                prop_assert_eq!(&arg[size..], &before[size..], "bytes past _IOC_SIZE untouched");
            }
            Err(e) => {
                prop_assert!(ALLOWED.contains(&e), "unexpected errno {:?} for {:#x}", e, cmd);
                prop_assert_eq!(&arg, &before, "nothing copied back on error");
                if MEDIA_IOCTLS.lookup(cmd).is_none() {
                    prop_assert_eq!(e, Errno::ENOTTY);
                } else if arg.len() < IoctlCmd(cmd).size() {
                    prop_assert_eq!(e, Errno::EFAULT);
                }
            }
        }
    }

    #[test]
    fn replies_carry_no_stray_bytes(junk in proptest::collection::vec(any::<u8>(), 256), id_sel in 0usize..13) {
        let (_monitor, v) = graph();
        let mm = AddressSpace::new();
        // DEVICE_INFO: whatever the caller sent, the reply is the same.
        let mut a = junk.clone();
        media_ioctl(&v.mdev, MEDIA_IOC_DEVICE_INFO, &mut a, &mm).unwrap();
        let mut b = vec![0u8; 256];
        media_ioctl(&v.mdev, MEDIA_IOC_DEVICE_INFO, &mut b, &mm).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert!(a[132..].iter().all(|&x| x == 0), "reserved");
        // ENUM_ENTITIES: the reply depends on the id only.
        let ids = [1u32, 3, 5, 8, 11, 15, 19, 21, 24, 28, 29, MEDIA_ENT_ID_FLAG_NEXT, 21 | MEDIA_ENT_ID_FLAG_NEXT];
        let mut a = junk.clone();
        a[..4].copy_from_slice(&ids[id_sel].to_le_bytes());
        let mut b = vec![0u8; 256];
        b[..4].copy_from_slice(&ids[id_sel].to_le_bytes());
        media_ioctl(&v.mdev, MEDIA_IOC_ENUM_ENTITIES, &mut a, &mm).unwrap();
        media_ioctl(&v.mdev, MEDIA_IOC_ENUM_ENTITIES, &mut b, &mm).unwrap();
        prop_assert_eq!(&a, &b);
        let d = MediaEntityDesc::decode(&a);
        prop_assert_eq!(d.reserved, [0; 4]);
        prop_assert!(d.raw[8..].iter().all(|&x| x == 0));
        let name_end = d.name.iter().position(|&c| c == 0).unwrap();
        prop_assert!(d.name[name_end..].iter().all(|&c| c == 0));
    }

    #[test]
    fn g_topology_arrays_of_any_size(
        n in proptest::collection::vec(0u32..30, 4),
        ptr_mask in 0u8..16,
    ) {
        let (_monitor, v) = graph();
        let mm = AddressSpace::new();
        let sizes = [MediaV2Entity::SIZE, MediaV2Interface::SIZE, MediaV2Pad::SIZE, MediaV2Link::SIZE];
        let mut ptrs = [0u64; 4];
        for i in 0..4 {
            if ptr_mask & (1 << i) != 0 {
                ptrs[i] = mm.map(n[i] as usize * sizes[i]);
            }
        }
        let t = MediaV2Topology {
            num_entities: n[0], ptr_entities: ptrs[0],
            num_interfaces: n[1], ptr_interfaces: ptrs[1],
            num_pads: n[2], ptr_pads: ptrs[2],
            num_links: n[3], ptr_links: ptrs[3],
            ..MediaV2Topology::ZERO
        };
        let mut b = t.to_vec();
        let want = [11u32, 11, 12, 21];
        let too_small = (0..4).any(|i| ptrs[i] != 0 && n[i] < want[i]);
        match media_ioctl(&v.mdev, MEDIA_IOC_G_TOPOLOGY, &mut b, &mm) {
            Ok(_) => {
                prop_assert!(!too_small);
                let r = MediaV2Topology::decode(&b);
                prop_assert_eq!([r.num_entities, r.num_interfaces, r.num_pads, r.num_links], want);
                prop_assert_eq!([r.reserved1, r.reserved2, r.reserved3, r.reserved4], [0; 4]);
            }
            Err(e) => {
                prop_assert!(too_small);
                prop_assert_eq!(e, Errno::ENOSPC);
            }
        }
    }
}
