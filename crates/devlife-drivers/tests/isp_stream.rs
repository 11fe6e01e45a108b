//! isp (framework style): topology, formats, streaming.

mod isp_util;

use devlife_drivers::Style;
use isp_util::*;

#[test]
fn smoke() {
    let rig = Rig::new(Style::Framework);
    println!("{}", rig.isp.topology(&rig.dev).unwrap());
    println!("{:?}", rig.nodes());
    let f = rig.open_video();
    start_stream(&f, 3).unwrap();
    for _ in 0..5 {
        assert!(rig.frame());
    }
    for _ in 0..3 {
        let b = dqbuf(&f).unwrap();
        println!("{} {} {}", b.index, b.sequence, b.bytesused);
        qbuf(&f, b.index).unwrap();
    }
    drop(f);
    println!("{:?}", rig.isp.counters());
    no_reports(&rig.k);
    rig.finish();
}
