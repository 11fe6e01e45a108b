//! [`NodeSpec`]: how a node is to be registered.

use crate::ErrnoPolicy;
use crate::NodeKind;
use crate::device::Device;
use crate::module::Module;
use devlife::check::Shadow;
use std::time::Duration;

pub(crate) type NodeRelease = Box<dyn FnOnce() + Send>;

/// How a node's file operations are dispatched.
///
/// The framework's node runs every call in its gate (unplug refuses new
/// calls, wakes sleepers and drains). The other variant is the pre-fix
/// kernel's, chosen only through [`crate::legacy::EntryCheck`].
#[derive(Default)]
pub(crate) enum Dispatch {
    /// Every call inside the node's gate.
    #[default]
    Gated,
    /// The `registered` flag is read when a call starts; the call then runs
    /// in a private gate nobody unplugs. `flag_in` is the driver allocation
    /// the flag lives in when the driver embeds the node's device (reading
    /// it is an access to that allocation), `None` for the node's own.
    EntryCheck { flag_in: Option<Shadow<()>> },
}

/// How to register a node ([`crate::Kernel::register_node`]).
#[must_use]
pub struct NodeSpec {
    pub(crate) kind: NodeKind,
    pub(crate) name: Option<String>,
    pub(crate) owner: Option<Module>,
    pub(crate) parent: Option<Device>,
    pub(crate) dispatch: Dispatch,
    pub(crate) policy: Option<ErrnoPolicy>,
    pub(crate) release: Option<NodeRelease>,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) label: Option<String>,
}

impl NodeSpec {
    /// A node of `kind`, named automatically (video0, media1, ...) unless
    /// [`name`](Self::name) is given.
    pub fn new(kind: NodeKind) -> Self {
        Self {
            kind,
            name: None,
            owner: None,
            parent: None,
            dispatch: Dispatch::Gated,
            policy: None,
            release: None,
            watchdog: None,
            label: None,
        }
    }
    /// The human-readable name of what the node gives access to, as its
    /// subsystem shows it in sysfs (`name` of a video4linux device: the
    /// video device's or subdev's name; `model` of a media device).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// The node name under `/dev`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The module that owns the file operations: every open file holds a
    /// reference to it, so it cannot be unloaded meanwhile.
    pub fn owner(mut self, module: &Module) -> Self {
        self.owner = Some(module.clone());
        self
    }
    /// The parent device. If it is bound (or probing), the node joins the
    /// binding: it is unplugged before the driver's `remove` and unregistered
    /// after it.
    pub fn parent(mut self, dev: &Device) -> Self {
        self.parent = Some(dev.clone());
        self
    }
    /// Overrides the kind's errno policy after unplug.
    pub fn policy(mut self, p: ErrnoPolicy) -> Self {
        self.policy = Some(p);
        self
    }
    /// The node's release callback (`video_device.release`), run on the last
    /// reference to the node.
    pub fn release(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.release = Some(Box::new(f));
        self
    }
    /// Names the calls that keep an unplug of this node waiting longer than `d`.
    pub fn watchdog(mut self, d: Duration) -> Self {
        self.watchdog = Some(d);
        self
    }
}
