//! [`NodeRegistration`]: the registrant's handle that unregisters a node.

use crate::Devt;
use crate::Node;
use crate::WeakNode;
use crate::errno::KResult;

/// The handle a registrant keeps to unregister its node. Dropping it
/// unregisters the node. It holds the node weakly, so storing it inside the
/// node's own ops makes no cycle.
#[must_use = "dropping the registration unregisters the node"]
pub struct NodeRegistration {
    pub(crate) node: WeakNode,
    pub(crate) name: String,
    pub(crate) devt: Devt,
    pub(crate) armed: bool,
}

impl std::fmt::Debug for NodeRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRegistration")
            .field("name", &self.name)
            .field("devt", &self.devt)
            .finish()
    }
}

impl NodeRegistration {
    /// The node, unless it was released (it cannot be while registered).
    pub fn node(&self) -> Option<Node> {
        self.node.upgrade()
    }
    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The node's devt.
    pub fn devt(&self) -> Devt {
        self.devt
    }
    /// A weak reference to the node.
    pub fn weak(&self) -> WeakNode {
        self.node.clone()
    }
    /// Unregisters now (see [`Node::unregister`]).
    pub fn unregister(mut self) -> KResult<()> {
        self.armed = false;
        match self.node.upgrade() {
            Some(n) => n.unregister(),
            None => Ok(()),
        }
    }
    /// Leaves the node registered when this handle drops (the binding or
    /// another owner unregisters it).
    pub fn forget(mut self) {
        self.armed = false;
    }
}

impl Drop for NodeRegistration {
    fn drop(&mut self) {
        if self.armed
            && let Some(n) = self.node.upgrade()
        {
            let _ = n.unregister();
        }
    }
}
