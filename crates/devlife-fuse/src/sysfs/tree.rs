//! A snapshot of the sysfs tree: every directory, attribute and symbolic
//! link at one instant, keyed by path, with the value of each readable
//! attribute and the action of each writable one.
//!
//! A snapshot is built for each call of [`SysTree`](super::SysTree) from the
//! kernel's tables, so the tree never lags behind the kernel: what a bind,
//! unbind, unplug or unload changed is visible to the next call.

use super::store::Store;
use std::collections::BTreeMap;

/// What one path of a snapshot is.
#[derive(Clone, Debug)]
pub(crate) enum Entry {
    /// A directory.
    Dir,
    /// An attribute: its contents if readable, its action if writable.
    ///
    /// # Invariants
    ///
    /// At least one of the two is set.
    Attr {
        value: Option<Vec<u8>>,
        store: Option<Store>,
    },
    /// A symbolic link, with its target relative to the link's directory.
    Link(String),
}

/// One instant of the tree.
///
/// # Invariants
///
/// Every parent directory of an entry is itself a [`Entry::Dir`] entry; the
/// root (`""`) is a directory.
#[derive(Debug)]
pub(crate) struct Snapshot {
    entries: BTreeMap<String, Entry>,
}

impl Snapshot {
    pub(crate) fn new() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(String::new(), Entry::Dir);
        Self { entries }
    }

    /// Adds a directory and its missing parents.
    pub(crate) fn dir(&mut self, path: &str) {
        // Walk up to the deepest ancestor already present, then add the
        // missing ones (most entries share their parent with the previous one).
        let mut missing = Vec::new();
        let mut p = path;
        while !p.is_empty() && !self.entries.contains_key(p) {
            missing.push(p);
            p = p.rsplit_once('/').map_or("", |(d, _)| d);
        }
        for m in missing.into_iter().rev() {
            self.entries.insert(m.to_owned(), Entry::Dir);
        }
    }

    fn insert(&mut self, path: String, e: Entry) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entries.insert(path, e);
    }

    /// A read-only attribute (mode 0444) holding `value`.
    pub(crate) fn ro(&mut self, path: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.insert(
            path.into(),
            Entry::Attr {
                value: Some(value.into()),
                store: None,
            },
        );
    }

    /// A read-write attribute (mode 0644).
    pub(crate) fn rw(&mut self, path: impl Into<String>, value: impl Into<Vec<u8>>, store: Store) {
        self.insert(
            path.into(),
            Entry::Attr {
                value: Some(value.into()),
                store: Some(store),
            },
        );
    }

    /// A write-only attribute (mode 0200).
    pub(crate) fn wo(&mut self, path: impl Into<String>, store: Store) {
        self.insert(
            path.into(),
            Entry::Attr {
                value: None,
                store: Some(store),
            },
        );
    }

    /// A symbolic link at `path` pointing to the tree path `target`, written
    /// relative as sysfs writes it (see [`relative_link`]).
    pub(crate) fn link(&mut self, path: impl Into<String>, target: &str) {
        let path = path.into();
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let rel = relative_link(dir, target);
        self.insert(path, Entry::Link(rel));
    }

    /// The entry at exactly `path` (no link is followed).
    pub(crate) fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    /// The children of directory `path`, in name order.
    pub(crate) fn children<'a>(&'a self, path: &str) -> impl Iterator<Item = (&'a str, &'a Entry)> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let start = prefix.clone();
        self.entries
            .range(start..)
            .skip_while(move |(k, _)| k.is_empty())
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter_map({
                let plen = if path.is_empty() { 0 } else { path.len() + 1 };
                move |(k, e)| {
                    let rest = &k[plen..];
                    (!rest.is_empty() && !rest.contains('/')).then_some((rest, e))
                }
            })
    }

    /// Resolves `path` the way a path walk does: every symbolic link met
    /// before the last component is followed; the last one too if
    /// `follow_last`. Returns the canonical path of the entry, or `None` if
    /// a component does not exist (or links loop).
    pub(crate) fn resolve(&self, path: &str, follow_last: bool) -> Option<String> {
        let mut pending: Vec<String> = split(path).into_iter().rev().collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => {}
            }
            cur.push(c);
            let here = cur.join("/");
            let last = pending.is_empty();
            match self.entries.get(&here)? {
                Entry::Link(target) if !last || follow_last => {
                    hops += 1;
                    if hops > 40 {
                        // ELOOP in a real walk.
                        return None;
                    }
                    cur.pop();
                    for t in split(target).into_iter().rev() {
                        pending.push(t);
                    }
                }
                Entry::Dir | Entry::Link(_) => {}
                Entry::Attr { .. } if !last => return None,
                Entry::Attr { .. } => {}
            }
        }
        Some(cur.join("/"))
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The relative target sysfs gives a link in directory `dir` to `target`
/// (kernfs `kernfs_get_target_path`): one `../` per step up from `dir`
/// until reaching an ancestor of the target's parent, then the rest of the
/// target's path. `/sys/dev/char/81:0` → `../../devices/platform/vimc.0/video4linux/video0`;
/// `.../video4linux/video0/device` → `../../../vimc.0`.
pub(crate) fn relative_link(dir: &str, target: &str) -> String {
    let target_parent = target.rsplit_once('/').map_or("", |(p, _)| p);
    let is_ancestor = |base: &str| {
        base.is_empty()
            || target_parent == base
            || target_parent
                .strip_prefix(base)
                .is_some_and(|r| r.starts_with('/'))
    };
    let mut base = dir;
    let mut out = String::new();
    while !base.is_empty() && !is_ancestor(base) {
        out.push_str("../");
        base = base.rsplit_once('/').map_or("", |(p, _)| p);
    }
    let rest = if base.is_empty() {
        target
    } else {
        &target[base.len() + 1..]
    };
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_like_kernfs() {
        assert_eq!(
            relative_link("dev/char", "devices/platform/vimc.0/video4linux/video0"),
            "../../devices/platform/vimc.0/video4linux/video0"
        );
        assert_eq!(
            relative_link(
                "devices/platform/vimc.0/video4linux/video0",
                "devices/platform/vimc.0"
            ),
            "../../../vimc.0"
        );
        assert_eq!(
            relative_link("devices/platform/vimc.0", "bus/platform/drivers/vimc"),
            "../../../bus/platform/drivers/vimc"
        );
        assert_eq!(
            relative_link("bus/platform/devices", "devices/platform/vimc.0"),
            "../../../devices/platform/vimc.0"
        );
        assert_eq!(
            relative_link("bus/platform/drivers/vimc", "devices/platform/vimc.0"),
            "../../../../devices/platform/vimc.0"
        );
    }

    #[test]
    fn resolve_follows_links_and_dotdot() {
        let mut s = Snapshot::new();
        s.ro("devices/platform/vimc.0/video4linux/video0/dev", "81:0\n");
        s.link(
            "dev/char/81:0",
            "devices/platform/vimc.0/video4linux/video0",
        );
        s.link(
            "devices/platform/vimc.0/video4linux/video0/device",
            "devices/platform/vimc.0",
        );
        assert_eq!(
            s.resolve("dev/char/81:0/dev", true).as_deref(),
            Some("devices/platform/vimc.0/video4linux/video0/dev")
        );
        assert_eq!(
            s.resolve("dev/char/81:0", false).as_deref(),
            Some("dev/char/81:0")
        );
        assert_eq!(
            s.resolve("dev/char/81:0/device", true).as_deref(),
            Some("devices/platform/vimc.0")
        );
        assert_eq!(s.resolve("dev/char/81:0/dev/x", true), None);
        assert_eq!(s.resolve("dev/char/81:1", true), None);
        let names: Vec<_> = s.children("dev").map(|(n, _)| n).collect();
        assert_eq!(names, ["char"]);
        let root: Vec<_> = s.children("").map(|(n, _)| n).collect();
        assert_eq!(root, ["dev", "devices"]);
    }
}
