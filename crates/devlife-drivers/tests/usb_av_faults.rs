//! usb-av: a failure injected at every fallible step of both probes unwinds
//! cleanly (framework style): the allocator keeps no binding of the failed
//! driver, the interface binds again afterwards, nothing leaks, no checker
//! fires.

use devlife_drivers::Style;
use devlife_drivers::usb_av;
use devlife_model::{Kernel, OpenFlags};
use devlife_testkit::usb_av::*;

#[test]
fn every_probe_step_can_fail() {
    // Count the fallible steps of one plug.
    let k = Kernel::new();
    let av = usb_av::register(&k, Style::Framework).unwrap();
    k.faults().reset();
    let udev = av.plug("1-1").unwrap();
    let points = k.faults().all_hits();
    av.unplug(&udev).unwrap();
    drop((av, udev));
    k.shutdown();
    assert!(
        points.iter().map(|(_, n)| n).sum::<u64>() >= 8,
        "{points:?}"
    );

    let mut runs = 0;
    for (point, hits) in points {
        for n in 1..=hits {
            let k = Kernel::new();
            let av = usb_av::register(&k, Style::Framework).unwrap();
            k.faults().fail_nth(point, n);
            let udev = av.plug("1-1").unwrap();
            k.faults().clear();
            assert_eq!(k.faults().injected(), 1, "{point:?} #{n}");
            let v = av.video_interface(&udev).unwrap();
            let a = av.audio_interface(&udev).unwrap();
            // Exactly one of the two probes failed; its binding is not in
            // the allocator.
            assert!(v.is_bound() != a.is_bound(), "{point:?} #{n}");
            let inst: Vec<_> = av
                .allocator()
                .instances()
                .into_iter()
                .filter(|i| i.live)
                .collect();
            assert_eq!(inst.len(), 1, "{point:?} #{n}");
            let want = if v.is_bound() {
                av.video_driver()
            } else {
                av.audio_driver()
            };
            assert_eq!(inst[0].drivers, [want], "{point:?} #{n}");
            drop(inst);
            // The failed interface binds now, and everything works.
            assert!(k.attach(if v.is_bound() { &a } else { &v }));
            let n2 = av.nodes(&udev);
            let pcm = k
                .open(n2.pcm.as_deref().unwrap(), OpenFlags::RDONLY)
                .unwrap();
            assert!(pcm.read(&mut [0u8; 64]).unwrap() > 0);
            let vf = k
                .open(n2.video.as_deref().unwrap(), OpenFlags::RDWR)
                .unwrap();
            start_stream(&vf, 2).unwrap();
            dqbuf(&vf).unwrap();
            drop((pcm, vf, v, a));
            no_reports(&k);
            k.shutdown();
            drop((av, udev));
            no_leaks(&k);
            runs += 1;
        }
    }
    assert!(runs >= 8);
}
