//! What a handler is: its return value, its context, its `dev_id`, and how
//! it is requested ([`IrqRequest`]).

use crate::hw::HwSession;
use devlife::check::Shadow;
use devlife::{Access, Bound, Gate};
use std::sync::Arc;

/// What a handler says about an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqReturn {
    /// Not ours / nothing done (`IRQ_NONE`).
    None,
    /// Handled (`IRQ_HANDLED`).
    Handled,
}

/// What a handler gets.
pub struct IrqCtx<'a> {
    pub(crate) line: u32,
    pub(crate) access: Option<&'a Access<'a>>,
}

impl<'a> IrqCtx<'a> {
    /// The line number.
    pub fn line(&self) -> u32 {
        self.line
    }
    /// The binding's gate access a framework handler runs in (`None` for
    /// devm/legacy handlers).
    pub fn access(&self) -> Option<&Access<'a>> {
        self.access
    }
    /// Proof that the device is bound while the handler runs (framework
    /// handlers only): opens the binding's device resources.
    pub fn bound(&self) -> Option<Bound<'_>> {
        self.access.map(|a| a.bound())
    }
}

/// The `dev_id` of a handler, checked at each delivery: if it was released,
/// the delivery is reported as an interrupt on released data.
pub struct IrqDevId {
    pub(crate) name: String,
    pub(crate) alive: Box<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for IrqDevId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IrqDevId({})", self.name)
    }
}

impl IrqDevId {
    /// A `dev_id` that is an instrumented allocation (freed = released).
    pub fn shadow<T: Send + Sync + 'static>(s: &Shadow<T>) -> Self {
        let s2 = s.clone();
        Self {
            name: s.name().to_owned(),
            alive: Box::new(move || !s2.is_freed()),
        }
    }
    /// A `dev_id` with a custom liveness test.
    pub fn custom(name: &str, alive: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self {
            name: name.to_owned(),
            alive: Box::new(alive),
        }
    }
}

pub(crate) type Handler = Box<dyn Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync>;

pub(crate) struct Action {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) handler: Handler,
    pub(crate) gate: Option<Gate>,
    pub(crate) dev_id: Option<IrqDevId>,
    /// The binding that requested it during its probe (framework and devm
    /// IRQs alike): a handler run after its `remove()` returned is reported.
    pub(crate) owner: Option<Arc<HwSession>>,
}

/// How to request an interrupt.
pub struct IrqRequest {
    pub(crate) name: String,
    pub(crate) handler: Handler,
    pub(crate) gate: Option<Gate>,
    pub(crate) dev_id: Option<IrqDevId>,
}

impl IrqRequest {
    /// A handler named `name`.
    pub fn new(
        name: impl Into<String>,
        handler: impl Fn(&IrqCtx<'_>) -> IrqReturn + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            handler: Box::new(handler),
            gate: None,
            dev_id: None,
        }
    }
    /// Runs the handler inside `gate` (not at all once it is unplugged).
    pub fn gated(mut self, gate: &Gate) -> Self {
        self.gate = Some(gate.clone());
        self
    }
    /// The data the handler uses, checked at each delivery.
    pub fn dev_id(mut self, d: IrqDevId) -> Self {
        self.dev_id = Some(d);
        self
    }
}
