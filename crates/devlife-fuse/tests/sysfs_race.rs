//! Walking the tree while it changes: readers list and read everything while
//! a writer unbinds, binds, unplugs, plugs, unloads and loads through the
//! tree. A path may vanish between a listing and a read (ENOENT, as on
//! Linux), but nothing else fails, nothing hangs and the checkers stay quiet.

mod common;

use common::Bench;
use devlife_fuse::sysfs::{SysError, SysKind, SysTree};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// Lists and reads every path under `dir`; returns the number of files read.
fn walk(t: &SysTree, dir: &str) -> usize {
    let entries = match t.list(dir) {
        Ok(e) => e,
        Err(SysError::ENOENT) => return 0,
        Err(e) => panic!("list {dir}: {e}"),
    };
    let mut n = 0;
    for (name, kind) in entries {
        let p = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        match kind {
            SysKind::Dir => n += walk(t, &p),
            SysKind::Symlink(_) => {}
            SysKind::File { .. } => match (t.mode(&p), t.read(&p)) {
                (_, Ok(_)) => n += 1,
                (_, Err(SysError::ENOENT)) | (None, _) => {}
                (Some(0o200), Err(SysError::EACCES)) => {}
                (m, Err(e)) => panic!("read {p} (mode {m:?}): {e}"),
            },
        }
    }
    n
}

#[test]
fn walkers_and_a_writer_race_without_errors() {
    let b = Bench::new();
    let stop = Arc::new(AtomicBool::new(false));
    let walkers: Vec<_> = (0..2)
        .map(|i| {
            let t = b.tree.clone();
            let stop = stop.clone();
            thread::Builder::new()
                .name(format!("walker{i}"))
                .spawn(move || {
                    let mut files = 0;
                    while !stop.load(Ordering::Relaxed) {
                        files += walk(&t, "");
                    }
                    files
                })
                .unwrap()
        })
        .collect();
    for _ in 0..20 {
        for (path, data) in [
            ("bus/platform/drivers/vimc/unbind", "vimc.0\n"),
            ("bus/platform/drivers/vimc/bind", "vimc.0\n"),
            ("bus/usb/devices/1-1/remove", "1\n"),
            ("kernel/devlife/plug", "1-1\n"),
            ("bus/usb/devices/2-1/authorized", "0\n"),
            ("bus/usb/devices/2-1/authorized", "1\n"),
            ("bus/usb/drivers/usbav-audio/unbind", "2-1:1.1\n"),
            ("bus/usb/drivers/usbav-audio/bind", "2-1:1.1\n"),
            ("kernel/devlife/modules/unload", "vimc\n"),
            ("kernel/devlife/modules/load", "vimc\n"),
        ] {
            assert_eq!(b.echo(path, data), Ok(data.len()), "{path}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in walkers {
        assert!(w.join().unwrap() > 0);
    }
    // Everything is back as it started.
    assert_eq!(b.v4l_nodes().len(), 11 + 2 * 2);
    assert_eq!(b.names("bus/media/devices").len(), 3);
    assert_eq!(b.kernel.check_hangs(), 0);
    assert!(b.kernel.monitor().reports().is_empty());
}
