//! Character devices: node kinds and their errno policies, major/minor
//! allocation, the `/dev`-like name map, node registration and
//! unregistration, and the dispatch of every file operation through the
//! node's [`Gate`](devlife::Gate).
//!
//! # Two dispatch styles
//!
//! * **Gated** (framework, the default): every operation runs inside an
//!   access of the node's gate; unregistering the node refuses new calls,
//!   wakes sleepers (their [`EventQueue`](crate::EventQueue) waits listen on
//!   the node gate) and waits for calls in flight.
//! * **Entry check** ([`crate::legacy::EntryCheck`], for legacy twins): the
//!   pre-fix kernel. The node's gate is only a `registered` flag checked when
//!   a call starts; the call then runs in a private gate that is never
//!   unplugged, so unregistering neither waits for it nor wakes it.
//!
//! # Lifetime
//!
//! A [`Node`] is reference counted. The `/dev` map holds it while it is
//! registered, the binding of its parent device holds it until unbind, and
//! every open file and mapping holds it. Its release callback
//! ([`NodeSpec::release`]) runs on the last reference. The minor number and
//! the name are freed at unregistration (so a new device can reuse them
//! while stale files still point to the old node).

mod kind;
mod node;
mod registration;
mod registry;
pub(crate) mod spec;

pub use kind::{Devt, ErrnoPolicy, NodeKind};
pub(crate) use node::NodeInner;
pub use node::{Node, WeakNode};
pub use registration::NodeRegistration;
pub use registry::{ChrdevRegistry, MINORS};
pub(crate) use registry::{NewNode, erase};
pub use spec::NodeSpec;
