//! isp: a failure injected at every fallible step of probe unwinds cleanly
//! (framework style): nothing leaks, no checker fires, the device binds
//! again afterwards and streams. The legacy twin's failed probe leaves no
//! node behind either.

use devlife_drivers::Style;
use devlife_drivers::isp::{self, IspOptions};
use devlife_model::{Kernel, OpenFlags};
use devlife_testkit::isp::*;

#[test]
fn every_probe_step_can_fail() {
    let k = Kernel::new();
    let isp = isp::register_with(&k, Style::Framework, IspOptions::manual()).unwrap();
    k.faults().reset();
    let dev = isp.plug(0).unwrap();
    let points = k.faults().all_hits();
    drop((isp, dev));
    k.shutdown();
    assert!(
        points.iter().map(|(_, n)| n).sum::<u64>() >= 5,
        "{points:?}"
    );

    let mut runs = 0;
    for (point, hits) in points {
        for n in 1..=hits {
            let k = Kernel::new();
            let isp = isp::register_with(&k, Style::Framework, IspOptions::manual()).unwrap();
            k.faults().fail_nth(point, n);
            let dev = isp.plug(0).unwrap();
            k.faults().clear();
            assert_eq!(k.faults().injected(), 1, "{point:?} #{n}");
            assert!(!dev.is_bound(), "{point:?} #{n}");
            assert!(k.nodes().is_empty(), "{point:?} #{n}: {:?}", k.nodes());
            assert!(k.attach(&dev));
            let v = k
                .open(isp.nodes(&dev).video.as_deref().unwrap(), OpenFlags::RDWR)
                .unwrap();
            start_stream(&v, 2).unwrap();
            assert!(isp.vsync(&dev));
            dqbuf(&v).unwrap();
            drop(v);
            no_reports(&k);
            k.shutdown();
            drop((isp, dev));
            no_leaks(&k);
            runs += 1;
        }
    }
    assert!(runs >= 5);
}

/// The legacy twin's failed probe leaves nothing behind either: whatever
/// step fails, no node is left registered, the handle finds no media
/// device, and the device binds again afterwards with all its nodes.
#[test]
fn legacy_probe_failure_leaves_no_node() {
    let k = Kernel::new();
    let isp = isp::register_with(&k, Style::Legacy, IspOptions::manual()).unwrap();
    k.faults().reset();
    let dev = isp.plug(0).unwrap();
    let points = k.faults().all_hits();
    drop((isp, dev));
    k.shutdown();

    let mut runs = 0;
    for (point, hits) in points {
        for n in 1..=hits {
            let k = Kernel::new();
            let isp = isp::register_with(&k, Style::Legacy, IspOptions::manual()).unwrap();
            k.faults().fail_nth(point, n);
            let dev = isp.plug(0).unwrap();
            k.faults().clear();
            assert_eq!(k.faults().injected(), 1, "{point:?} #{n}");
            assert!(!dev.is_bound(), "{point:?} #{n}");
            assert!(k.nodes().is_empty(), "{point:?} #{n}: {:?}", k.nodes());
            assert!(isp.media_device(&dev).is_none(), "{point:?} #{n}");
            assert!(k.attach(&dev));
            assert_eq!(isp.nodes(&dev).subdevs.len(), 4, "{point:?} #{n}");
            k.shutdown();
            drop((isp, dev));
            runs += 1;
        }
    }
    assert!(runs >= 5);
}
