//! Builds a [`Snapshot`] of the tree from one kernel's tables: devices and
//! their buses, drivers, device nodes and their classes, `dev/char`,
//! modules, and devlife's own controls. `docs/sysfs.md` describes each path.

use super::store::Store;
use super::tree::Snapshot;
use devlife_harness::stress::Instance;
use devlife_model::{BusKind, Device, DriverInfo, Kernel, Node, NodeKind};
use std::fmt::Write as _;
use std::sync::Arc;

/// The bus directory name of a bus (`bus/<name>`).
pub(crate) fn bus_name(b: BusKind) -> &'static str {
    match b {
        BusKind::Platform => "platform",
        BusKind::Usb => "usb",
        BusKind::I2c => "i2c",
    }
}

/// The first number of a name like `1-1` (USB bus) or `0-0036` (I2C adapter).
fn leading_number(name: &str) -> u32 {
    name.split(['-', '.', ':'])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where a device lives under `devices/`. Platform devices sit under
/// `devices/platform`; a USB device under the root hub of its bus, itself
/// under a host controller `devlife_hcd.N`; an I2C device under its adapter;
/// a child under its parent.
pub(crate) fn device_path(dev: &Device) -> String {
    if let Some(p) = dev.parent() {
        return format!("{}/{}", device_path(p), dev.name());
    }
    let name = dev.name();
    match dev.bus() {
        BusKind::Platform => format!("devices/platform/{name}"),
        BusKind::Usb => {
            let bus = leading_number(name).max(1);
            format!("devices/platform/devlife_hcd.{}/usb{bus}/{name}", bus - 1)
        }
        BusKind::I2c => {
            let a = leading_number(name);
            format!("devices/platform/devlife_i2c.{a}/i2c-{a}/{name}")
        }
    }
}

/// The class directory of a node kind (`class/<name>`), if it has one.
/// Media devices are on the `media` bus instead (`bus/media/devices`).
fn class_name(k: NodeKind) -> Option<&'static str> {
    match k {
        NodeKind::Video | NodeKind::Subdev => Some("video4linux"),
        NodeKind::Audio => Some("sound"),
        NodeKind::Misc => Some("misc"),
        NodeKind::Media | NodeKind::Char => None,
    }
}

/// The card number of an ALSA node name (`pcmC3D0c` → 3).
fn card_number(name: &str) -> u32 {
    name.strip_prefix("pcmC")
        .and_then(|r| r.split('D').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where a node's device lives under `devices/`.
pub(crate) fn node_path(n: &Node) -> String {
    let name = n.name();
    let parent = n.parent().map(|d| device_path(&d));
    match (n.kind(), parent) {
        (NodeKind::Video | NodeKind::Subdev, Some(p)) => format!("{p}/video4linux/{name}"),
        (NodeKind::Audio, Some(p)) => format!("{p}/sound/card{}/{name}", card_number(name)),
        (NodeKind::Misc, Some(p)) => format!("{p}/misc/{name}"),
        (NodeKind::Media | NodeKind::Char, Some(p)) => format!("{p}/{name}"),
        (k, None) => format!(
            "devices/virtual/{}/{name}",
            class_name(k).unwrap_or(match k {
                NodeKind::Media => "media",
                _ => "devlife",
            })
        ),
    }
}

/// The USB class, subclass and interface number of a model interface
/// modalias (`usb:v1D6Bp0D11ic0Eis01in00`).
fn usb_interface_ids(modalias: &str) -> (u8, u8, u8) {
    let field = |tag: &str| {
        modalias
            .find(tag)
            .and_then(|i| modalias.get(i + tag.len()..i + tag.len() + 2))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    (field("ic"), field("is"), field("in"))
}

fn hex_prop(dev: &Device, key: &str) -> u16 {
    dev.property(key)
        .and_then(|v| u16::from_str_radix(v, 16).ok())
        .unwrap_or(0)
}

fn add_device(s: &mut Snapshot, dev: &Device) {
    let path = device_path(dev);
    let bus = bus_name(dev.bus());
    let driver = dev.driver_name();
    s.dir(&path);
    s.link(format!("{path}/subsystem"), &format!("bus/{bus}"));
    s.link(format!("bus/{bus}/devices/{}", dev.name()), &path);
    if let Some(d) = &driver {
        s.link(format!("{path}/driver"), &format!("bus/{bus}/drivers/{d}"));
        s.link(format!("bus/{bus}/drivers/{d}/{}", dev.name()), &path);
    }
    let driver_line = driver
        .as_ref()
        .map(|d| format!("DRIVER={d}\n"))
        .unwrap_or_default();
    match (dev.bus(), dev.parent()) {
        (BusKind::Usb, None) => {
            let (vid, pid) = (hex_prop(dev, "idVendor"), hex_prop(dev, "idProduct"));
            let busnum = leading_number(dev.name()).max(1);
            s.ro(format!("{path}/idVendor"), format!("{vid:04x}\n"));
            s.ro(format!("{path}/idProduct"), format!("{pid:04x}\n"));
            if let Some(p) = dev.property("product") {
                s.ro(format!("{path}/product"), format!("{p}\n"));
            }
            s.ro(format!("{path}/busnum"), format!("{busnum}\n"));
            s.ro(format!("{path}/devnum"), "2\n");
            s.ro(format!("{path}/speed"), "480\n");
            s.rw(
                format!("{path}/authorized"),
                if dev.is_authorized() { "1\n" } else { "0\n" },
                Store::UsbAuthorized {
                    device: dev.name().to_owned(),
                },
            );
            s.wo(
                format!("{path}/remove"),
                Store::UsbRemove {
                    device: dev.name().to_owned(),
                },
            );
            s.ro(
                format!("{path}/uevent"),
                format!(
                    "DEVTYPE=usb_device\n{driver_line}PRODUCT={vid:x}/{pid:x}/0\nTYPE=0/0/0\nBUSNUM={busnum:03}\nDEVNUM=002\n"
                ),
            );
        }
        (BusKind::Usb, Some(_)) => {
            let (vid, pid) = (hex_prop(dev, "idVendor"), hex_prop(dev, "idProduct"));
            let (class, sub, num) = usb_interface_ids(dev.modalias());
            let modalias = format!(
                "usb:v{vid:04X}p{pid:04X}d0000dc00dsc00dp00ic{class:02X}isc{sub:02X}ip00in{num:02X}"
            );
            s.ro(format!("{path}/bInterfaceNumber"), format!("{num:02x}\n"));
            s.ro(format!("{path}/bInterfaceClass"), format!("{class:02x}\n"));
            s.ro(format!("{path}/bInterfaceSubClass"), format!("{sub:02x}\n"));
            s.ro(format!("{path}/bInterfaceProtocol"), "00\n");
            s.ro(format!("{path}/modalias"), format!("{modalias}\n"));
            s.ro(
                format!("{path}/uevent"),
                format!(
                    "DEVTYPE=usb_interface\n{driver_line}PRODUCT={vid:x}/{pid:x}/0\nTYPE=0/0/0\nINTERFACE={class}/{sub}/0\nMODALIAS={modalias}\n"
                ),
            );
        }
        _ => {
            s.ro(format!("{path}/modalias"), format!("{}\n", dev.modalias()));
            s.ro(
                format!("{path}/uevent"),
                format!("{driver_line}MODALIAS={}\n", dev.modalias()),
            );
        }
    }
}

fn add_driver(s: &mut Snapshot, d: &DriverInfo) {
    let dir = format!("bus/{}/drivers/{}", bus_name(d.bus), d.name);
    s.dir(&dir);
    if !d.suppress_bind_attrs {
        s.wo(
            format!("{dir}/bind"),
            Store::Bind {
                driver: d.name.clone(),
            },
        );
        s.wo(
            format!("{dir}/unbind"),
            Store::Unbind {
                driver: d.name.clone(),
            },
        );
    }
    if let Some(m) = &d.module {
        s.link(format!("{dir}/module"), &format!("module/{m}"));
        s.link(
            format!("module/{m}/drivers/{}:{}", bus_name(d.bus), d.name),
            &dir,
        );
    }
}

fn add_node(s: &mut Snapshot, n: &Node, index: Option<usize>) {
    let path = node_path(n);
    let name = n.name();
    let devt = n.devt();
    s.dir(&path);
    s.ro(format!("{path}/dev"), format!("{devt}\n"));
    s.ro(
        format!("{path}/uevent"),
        format!(
            "MAJOR={}\nMINOR={}\nDEVNAME={name}\n",
            devt.major, devt.minor
        ),
    );
    s.link(format!("dev/char/{devt}"), &path);
    let parent = n.parent();
    match n.kind() {
        NodeKind::Video | NodeKind::Subdev => {
            s.ro(
                format!("{path}/name"),
                format!("{}\n", n.label().unwrap_or(name)),
            );
            s.ro(format!("{path}/index"), format!("{}\n", index.unwrap_or(0)));
            s.rw(format!("{path}/dev_debug"), "0\n", Store::DevDebug);
        }
        NodeKind::Media => {
            s.ro(
                format!("{path}/model"),
                format!("{}\n", n.label().unwrap_or_default()),
            );
            s.link(format!("{path}/subsystem"), "bus/media");
            s.link(format!("bus/media/devices/{name}"), &path);
        }
        NodeKind::Audio => {
            let card = card_number(name);
            let card_dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            s.ro(format!("{card_dir}/number"), format!("{card}\n"));
            s.link(format!("{card_dir}/subsystem"), "class/sound");
            s.link(format!("class/sound/card{card}"), &card_dir);
            if let Some(p) = &parent {
                s.link(format!("{card_dir}/device"), &device_path(p));
            }
            s.link(format!("{path}/device"), &card_dir);
        }
        NodeKind::Misc | NodeKind::Char => {}
    }
    if let Some(class) = class_name(n.kind()) {
        s.link(format!("{path}/subsystem"), &format!("class/{class}"));
        s.link(format!("class/{class}/{name}"), &path);
    }
    if n.kind() != NodeKind::Audio
        && let Some(p) = &parent
    {
        s.link(format!("{path}/device"), &device_path(p));
    }
}

fn add_module(s: &mut Snapshot, k: &Kernel, name: &str) {
    let Some(m) = k.module(name) else { return };
    let dir = format!("module/{name}");
    s.dir(&format!("{dir}/holders"));
    s.dir(&format!("{dir}/drivers"));
    s.ro(format!("{dir}/refcnt"), format!("{}\n", m.refcount()));
    s.ro(
        format!("{dir}/initstate"),
        if m.is_going() { "going\n" } else { "live\n" },
    );
}

fn add_controls(s: &mut Snapshot, k: &Kernel, instances: &[Arc<dyn Instance>]) {
    let dir = "kernel/devlife";
    s.wo(format!("{dir}/plug"), Store::Plug);
    s.wo(format!("{dir}/unplug"), Store::Unplug);
    s.wo(format!("{dir}/modules/load"), Store::ModuleLoad);
    s.wo(format!("{dir}/modules/unload"), Store::ModuleUnload);
    let mut devices = String::new();
    let mut modules = String::new();
    for i in instances {
        for d in i.device_names() {
            let state = if k.device(&d).is_some() {
                "present"
            } else {
                "absent"
            };
            let _ = writeln!(devices, "{d} {state}");
        }
        for m in i.module_names() {
            let state = if k.module(m).is_some() {
                "loaded"
            } else {
                "unloaded"
            };
            let _ = writeln!(modules, "{m} {state}");
        }
    }
    s.ro(format!("{dir}/devices"), devices);
    s.ro(format!("{dir}/modules/available"), modules);
}

/// The tree of `k` now.
pub(crate) fn build(k: &Kernel, instances: &[Arc<dyn Instance>]) -> Snapshot {
    let mut s = Snapshot::new();
    for d in [
        "bus/platform/devices",
        "bus/platform/drivers",
        "bus/usb/devices",
        "bus/usb/drivers",
        "bus/i2c/devices",
        "bus/i2c/drivers",
        "bus/media/devices",
        "bus/media/drivers",
        "class/video4linux",
        "class/sound",
        "class/misc",
        "dev/char",
        "dev/block",
        "devices/platform",
        "devices/virtual",
        "module",
        "kernel",
    ] {
        s.dir(d);
    }
    for d in k.devices() {
        add_device(&mut s, &d);
    }
    for d in k.driver_infos() {
        add_driver(&mut s, &d);
    }
    let nodes = k.nodes();
    for n in &nodes {
        // `index`: the node's rank among the V4L2 nodes of its parent device
        // (`get_index` numbers the nodes of one v4l2_device in registration
        // order, which is minor order).
        let index = matches!(n.kind(), NodeKind::Video | NodeKind::Subdev).then(|| {
            nodes
                .iter()
                .filter(|o| {
                    matches!(o.kind(), NodeKind::Video | NodeKind::Subdev)
                        && o.devt().minor < n.devt().minor
                        && match (o.parent(), n.parent()) {
                            (Some(a), Some(b)) => Device::ptr_eq(&a, &b),
                            (None, None) => true,
                            _ => false,
                        }
                })
                .count()
        });
        add_node(&mut s, n, index);
    }
    for m in k.modules() {
        add_module(&mut s, k, &m);
    }
    add_controls(&mut s, k, instances);
    s
}
