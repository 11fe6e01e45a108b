//! Hooks one driver installs on a shared media device for another driver to
//! call: the source hooks (au0828 for snd-usb-audio) and entity notify.

use super::{Lifetime, MediaDevice};
use crate::mc::entity::Entity;
use crate::mc::graph::Graph;
use crate::mc::pipeline::Pipeline;
use devlife::Gate;
use devlife_model::{Errno, KResult};
use std::sync::Arc;

/// The hooks one driver installs on a shared media device for another one to
/// call (au0828's `enable_source` / `disable_source`, called by snd-usb-audio
/// from `hw_params`). They run under the graph lock and get the graph.
pub trait SourceHooks: Send + Sync {
    /// Claims the shared source (tuner) for `entity`'s pipeline.
    fn enable_source(&self, graph: &mut Graph, entity: &Entity, pipe: &Pipeline) -> KResult<()>;
    /// Gives back the source `enable_source` took for `entity`.
    fn disable_source(&self, graph: &mut Graph, entity: &Entity);
}

/// A callback run (under the graph lock) for every entity registered after it
/// was installed (`struct media_entity_notify`).
pub type EntityNotifyFn = Arc<dyn Fn(&mut Graph, &Entity) + Send + Sync>;

/// Identifies an installed hook (source hooks or entity notify).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookToken(pub(super) u64);

pub(super) struct Installed<T> {
    pub(super) token: u64,
    pub(super) hook: T,
    /// The installing driver's gate: calls enter it, so no call runs into a
    /// driver that left (framework style only).
    pub(super) owner: Option<Gate>,
}

impl MediaDevice {
    /// Runs an installed hook: framework style inside the installer's gate
    /// (skipped once the installer is unplugged), owner-freed style as is.
    pub(super) fn call_hook<R>(&self, owner: Option<&Gate>, f: impl FnOnce() -> R) -> Option<R> {
        match (self.0.lifetime, owner) {
            (Lifetime::Refcounted, Some(gate)) => {
                let _a = gate.enter_as("media hook").ok()?;
                Some(f())
            }
            _ => Some(f()),
        }
    }

    /// Installs the source hooks (au0828). `owner` is the installing driver's
    /// gate (its binding): in the framework style every call enters it, so a
    /// call never runs into a driver that has left even if it forgot to
    /// remove its hooks. `EBUSY` if hooks are already installed.
    #[track_caller]
    pub fn set_source_hooks(
        &self,
        hooks: Arc<dyn SourceHooks>,
        owner: Option<Gate>,
    ) -> KResult<HookToken> {
        let mut g = self.graph();
        if g.g.source.is_some() {
            return Err(Errno::EBUSY);
        }
        let token = g.g.next_token;
        g.g.next_token += 1;
        g.g.source = Some(Installed {
            token,
            hook: hooks,
            owner,
        });
        Ok(HookToken(token))
    }

    /// Removes the source hooks installed with `token`. Takes the graph lock,
    /// so it returns only after a hook call in progress has finished; no
    /// call starts afterwards. Returns whether they were installed.
    #[track_caller]
    pub fn clear_source_hooks(&self, token: HookToken) -> bool {
        let mut g = self.graph();
        if g.g.source.as_ref().is_some_and(|s| s.token == token.0) {
            g.g.source = None;
            true
        } else {
            false
        }
    }

    /// Whether source hooks are installed.
    #[track_caller]
    pub fn has_source_hooks(&self) -> bool {
        self.graph().g.source.is_some()
    }

    /// `mdev->enable_source(entity, pipe)` as snd-usb-audio calls it: under
    /// the graph lock; `Ok(())` when no hook is installed (or its installer
    /// has left, framework style).
    #[track_caller]
    pub fn enable_source(&self, entity: &Entity, pipe: &Pipeline) -> KResult<()> {
        let mut g = self.graph();
        let Some((hook, owner)) =
            g.g.source
                .as_ref()
                .map(|s| (s.hook.clone(), s.owner.clone()))
        else {
            return Ok(());
        };
        self.call_hook(owner.as_ref(), || {
            hook.enable_source(&mut g.g.graph, entity, pipe)
        })
        .unwrap_or(Ok(()))
    }

    /// `mdev->disable_source(entity)`.
    #[track_caller]
    pub fn disable_source(&self, entity: &Entity) {
        let mut g = self.graph();
        let Some((hook, owner)) =
            g.g.source
                .as_ref()
                .map(|s| (s.hook.clone(), s.owner.clone()))
        else {
            return;
        };
        self.call_hook(owner.as_ref(), || {
            hook.disable_source(&mut g.g.graph, entity)
        });
    }

    /// `media_device_register_entity_notify`.
    #[track_caller]
    pub fn register_entity_notify(&self, f: EntityNotifyFn, owner: Option<Gate>) -> HookToken {
        let mut g = self.graph();
        let token = g.g.next_token;
        g.g.next_token += 1;
        g.g.notify.push(Installed {
            token,
            hook: f,
            owner,
        });
        HookToken(token)
    }

    /// `media_device_unregister_entity_notify` (waits for a running callback,
    /// like [`clear_source_hooks`](Self::clear_source_hooks)).
    #[track_caller]
    pub fn unregister_entity_notify(&self, token: HookToken) -> bool {
        let mut g = self.graph();
        let before = g.g.notify.len();
        g.g.notify.retain(|n| n.token != token.0);
        g.g.notify.len() != before
    }
}
