//! usb-av: topology, formats and streaming (framework style).

mod usb_av_util;

use devlife_drivers::Style;
use usb_av_util::*;

#[test]
fn smoke_topology() {
    let rig = Rig::new(Style::Framework);
    println!("{}", rig.av.topology(&rig.udev).unwrap());
    println!("{:?}", rig.nodes());
    rig.finish();
}
