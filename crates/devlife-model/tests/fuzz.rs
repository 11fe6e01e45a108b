//! Argument fuzzing of the dispatch path and the test driver: any command,
//! any argument size, any buffer: no panic, and an errno from the expected set.

mod common;

use common::*;
use devlife_model::testdrv::{self, Style};
use devlife_model::{Errno, MmapRequest, OpenFlags, PollMask};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
enum Call {
    Ioctl(u32, Vec<u8>),
    Read(usize),
    Write(Vec<u8>),
    Mmap(u64, usize, bool),
    Poll(u32),
}

fn call() -> impl Strategy<Value = Call> {
    let cmd = prop_oneof![
        Just(testdrv::IOC_PING),
        Just(testdrv::IOC_HWOP),
        Just(testdrv::IOC_TRIGGER),
        Just(testdrv::IOC_WAIT),
        Just(testdrv::IOC_STATS),
        Just(testdrv::IOC_DEFER),
        any::<u32>(),
    ];
    prop_oneof![
        (cmd, proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(c, a)| Call::Ioctl(c, a)),
        (0usize..64).prop_map(Call::Read),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Call::Write),
        (any::<u64>(), 0usize..10_000, any::<bool>()).prop_map(|(o, l, w)| Call::Mmap(o, l, w)),
        any::<u32>().prop_map(Call::Poll),
    ]
}

#[test]
fn any_call_returns_a_sane_result() {
    for style in [Style::Framework, Style::Legacy] {
        let (k, t) = setup(style);
        // Non-blocking: a fuzzed IOC_WAIT or read must not sleep forever.
        let f = k
            .open(&t.node_name(), OpenFlags::RDWR.nonblocking())
            .unwrap();
        let mut runner = TestRunner::new(Config {
            cases: 400,
            ..Config::default()
        });
        runner
            .run(&proptest::collection::vec(call(), 1..8), |calls| {
                for c in calls {
                    let r: Result<(), Errno> = match c {
                        Call::Ioctl(cmd, mut a) => {
                            // HWOP with a huge count would only be slow.
                            if cmd == testdrv::IOC_HWOP && a.len() >= 4 {
                                let n = u32::from(a[0]) % 8;
                                a[..4].copy_from_slice(&n.to_le_bytes());
                            }
                            f.ioctl(cmd, &mut a).map(|_| ())
                        }
                        Call::Read(n) => f.read(&mut vec![0; n]).map(|got| assert!(got <= n)),
                        Call::Write(b) => f.write(&b).map(|n| assert!(n <= b.len())),
                        Call::Mmap(offset, len, write) => f
                            .mmap(MmapRequest { offset, len, write })
                            .map(|m| assert_eq!(m.len(), len)),
                        Call::Poll(ev) => f
                            .poll(PollMask(ev), Some(std::time::Duration::ZERO))
                            .map(|m| assert!(!m.contains(PollMask::NVAL))),
                    };
                    if let Err(e) = r {
                        prop_assert!(
                            matches!(
                                e,
                                Errno::EFAULT | Errno::ENOTTY | Errno::EAGAIN | Errno::EINVAL
                            ),
                            "unexpected {:?}",
                            e
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
        drop(f);
        assert_silent(&k);
        finish(k, t);
    }
}
