//! Keeps the kernel's dentry cache of `dev/` in step with the model's chrdev
//! registry: when a node is unregistered its entry is deleted
//! (`Notifier::delete`, so `ls` and lookups stop showing it at once, also
//! for a process sitting in the directory); when one appears, a cached
//! negative entry of its name is invalidated. Entries are not cached anyway
//! (TTL 0); this makes the change visible to cached dentries too.

use crate::server::Shared;
use fuser::INodeNo;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs until `stop` is set (checked at least every 200 ms).
pub(crate) fn run(shared: &Arc<Shared>, stop: &AtomicBool) {
    let reg = shared.kernel.chrdev();
    let mut seen_gen = reg.generation();
    let mut known: HashMap<String, (u64, String)> = snapshot(shared);
    while !stop.load(Ordering::SeqCst) {
        let g = reg.wait_change(seen_gen, Duration::from_millis(200));
        if g == seen_gen {
            continue;
        }
        seen_gen = g;
        let now = snapshot(shared);
        let Some(n) = shared.notifier.get() else {
            known = now;
            continue;
        };
        let dev = INodeNo(shared.dev_ino());
        for (name, (id, devt)) in &known {
            if now.get(name).is_some_and(|(nid, _)| nid == id) {
                continue;
            }
            match shared.node_ino(*id) {
                Some(ino) => {
                    let _ = n.delete(dev, INodeNo(ino), OsStr::new(name));
                }
                None => {
                    let _ = n.inval_entry(dev, OsStr::new(name));
                }
            }
            let _ = n.inval_entry(INodeNo(shared.dev_char_ino()), OsStr::new(devt));
        }
        for name in now.keys() {
            if !known.contains_key(name) {
                let _ = n.inval_entry(dev, OsStr::new(name));
            }
        }
        known = now;
    }
}

/// name → (node id, "M:m") of every registered node.
fn snapshot(shared: &Shared) -> HashMap<String, (u64, String)> {
    shared
        .kernel
        .chrdev()
        .nodes()
        .into_iter()
        .map(|n| (n.name().to_owned(), (n.id(), n.devt().to_string())))
        .collect()
}
