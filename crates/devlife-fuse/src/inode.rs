//! The inode map: every object the mount shows has one stable inode number.
//!
//! Numbers are never reused while the server runs: a node registered again
//! under the same name (a rebind) is a different model `Node`, so it gets a
//! new inode, and a file opened on the old one keeps talking to the old one.

use parking_lot::Mutex;
use std::collections::HashMap;

/// What an inode stands for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// The mount's root (`dev/`, `sys/`).
    Root,
    /// `dev/`: the live device nodes.
    Dev,
    /// `dev/char/`: `M:m` symlinks to the nodes, as udev makes them.
    DevChar,
    /// `dev/.host/`: an empty directory where `devlife exec` binds the host's
    /// `/dev`.
    HostDir,
    /// `dev/<name>` → `.host/<name>`: a host device shown in `dev/`.
    HostLink(String),
    /// `dev/char/M:m` → `../<name>`.
    CharLink(u32, u32),
    /// A model device node, by node id.
    Node(u64),
    /// A path of the sysfs tree (relative to `sys/`, `""` = `sys/` itself).
    Sys(String),
}

/// Inode number of the root.
pub(crate) const ROOT: u64 = 1;

struct Table {
    by_key: HashMap<Key, u64>,
    by_ino: HashMap<u64, Key>,
    next: u64,
}

/// Two-way map between inode numbers and [`Key`]s.
///
/// # Invariants
///
/// `by_key` and `by_ino` are inverse maps; [`ROOT`] maps to [`Key::Root`];
/// numbers only grow.
pub(crate) struct Inodes {
    t: Mutex<Table>,
}

impl Inodes {
    pub(crate) fn new() -> Self {
        let mut by_key = HashMap::new();
        let mut by_ino = HashMap::new();
        by_key.insert(Key::Root, ROOT);
        by_ino.insert(ROOT, Key::Root);
        Self {
            t: Mutex::new(Table {
                by_key,
                by_ino,
                next: ROOT + 1,
            }),
        }
    }

    /// The inode of `key`, allocated on first use.
    pub(crate) fn ino(&self, key: Key) -> u64 {
        let mut t = self.t.lock();
        if let Some(&i) = t.by_key.get(&key) {
            return i;
        }
        let i = t.next;
        t.next += 1;
        t.by_key.insert(key.clone(), i);
        t.by_ino.insert(i, key);
        i
    }

    /// The inode of `key` if it has one.
    pub(crate) fn existing(&self, key: &Key) -> Option<u64> {
        self.t.lock().by_key.get(key).copied()
    }

    /// What inode `ino` stands for.
    pub(crate) fn key(&self, ino: u64) -> Option<Key> {
        self.t.lock().by_ino.get(&ino).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_stable_and_distinct() {
        let t = Inodes::new();
        assert_eq!(t.ino(Key::Root), ROOT);
        let a = t.ino(Key::Node(7));
        let b = t.ino(Key::Sys("bus".into()));
        assert_ne!(a, b);
        assert_eq!(t.ino(Key::Node(7)), a);
        assert_eq!(t.key(b), Some(Key::Sys("bus".into())));
        assert_eq!(t.existing(&Key::Node(8)), None);
        assert_eq!(t.key(999), None);
    }
}
