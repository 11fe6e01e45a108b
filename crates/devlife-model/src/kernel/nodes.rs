//! Character device registration and lookup on a kernel.

use super::Kernel;
use crate::chrdev::{self, NewNode, Node, NodeRegistration, NodeSpec};
use crate::driver::BindState;
use crate::errno::{Errno, KResult};
use crate::file::File;
use crate::fops::{FileOps, OpenFlags};
use std::sync::Arc;

impl Kernel {
    /// Registers a node with `ops`. If the spec's parent device is bound, the
    /// node joins its binding (`ENODEV` while that binding is unbinding).
    pub fn register_node<O: FileOps>(
        &self,
        spec: NodeSpec,
        ops: Arc<O>,
    ) -> KResult<NodeRegistration> {
        let binding = spec
            .parent
            .as_ref()
            .and_then(|d| d.inner.binding.lock().clone());
        let new = NewNode {
            spec,
            ops: chrdev::erase(ops),
            shared: self.inner.shared.clone(),
            kernel: Arc::downgrade(&self.inner),
        };
        let reg = match binding {
            Some(b) => {
                let mut l = b.lists.lock();
                if l.state == BindState::Unbinding {
                    return Err(Errno::ENODEV);
                }
                let (node, reg) = self.inner.chrdev.register(new)?;
                l.nodes.push(node);
                reg
            }
            None => self.inner.chrdev.register(new).map(|(_, r)| r)?,
        };
        crate::stop::point(crate::stop::PROBE_NODE_REGISTERED);
        Ok(reg)
    }

    /// Opens `/dev/NAME` (the prefix is optional). `ENOENT` if no such node.
    pub fn open(&self, path: &str, flags: OpenFlags) -> KResult<File> {
        let node = self.inner.chrdev.lookup(path).ok_or(Errno::ENOENT)?;
        node.open(flags)
    }

    /// A registered node by name.
    pub fn lookup(&self, name: &str) -> Option<Node> {
        self.inner.chrdev.lookup(name)
    }

    /// Every registered node.
    pub fn nodes(&self) -> Vec<Node> {
        self.inner.chrdev.nodes()
    }
}
