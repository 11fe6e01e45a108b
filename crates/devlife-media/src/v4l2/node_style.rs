//! [`NodeStyle`]: how the node of a video device or subdev dispatches and is
//! torn down, as a typed variant fixed when the object is created.
//!
//! A framework driver only ever gets [`NodeStyle::Gated`]: the constructors
//! of `VideoDevice` and `Subdev` take no style. The other variant is made
//! only by the pre-fix extension in [`crate::legacy`].

use devlife::check::Shadow;
use devlife_model::legacy::EntryCheck;
use devlife_model::{NodeKind, NodeSpec};

/// How a V4L2 node of this crate dispatches its calls.
///
/// # Invariants
///
/// Fixed for the object's lifetime: a video device or subdev never changes
/// style after creation.
#[derive(Clone, Debug, Default)]
pub(crate) enum NodeStyle {
    /// The framework's node: every call inside the node's gate; at unplug
    /// the queue is killed (stream stopped, buffers returned, sleepers
    /// woken); unregistering also removes the graph objects; a file's
    /// release calls the driver only inside the gate.
    #[default]
    Gated,
    /// The pre-fix kernel's node (see [`crate::legacy`]): the `registered`
    /// flag checked at call entry only, nothing stopped or woken at
    /// unregistration, a file's release stopping the stream through the
    /// driver whatever the device's state. `embedded_in` is the driver
    /// allocation the device is embedded in, if any: the entry check and
    /// `release` read the device through it.
    EntryCheck { embedded_in: Option<Shadow<()>> },
}

impl NodeStyle {
    /// The node spec of a node of `kind` in this style.
    pub(crate) fn node_spec(&self, kind: NodeKind) -> NodeSpec {
        let spec = NodeSpec::new(kind);
        match self {
            NodeStyle::Gated => spec,
            NodeStyle::EntryCheck { embedded_in: None } => spec.entry_check(),
            NodeStyle::EntryCheck {
                embedded_in: Some(mem),
            } => spec.flag_in(mem),
        }
    }
}
