//! Device resources that die at unbind: [`Revocable`], [`ResourceScope`] and
//! [`Devres`], with the [`Bound`] typestate proof.
//!
//! A resource (register window, IRQ line, bus handle) lives in a slot tied to
//! a gate. It is reached in one of three ways:
//!
//! * [`Devres::try_access`] / [`Revocable::try_access`]: enter the gate and get
//!   a guard; the guard may be held across sleeps, and the resource cannot be
//!   dropped while it lives;
//! * [`Devres::access`] with a [`Bound`] proof: no atomic operation at all, one
//!   integer comparison (the proof's lifetime already guarantees the resource
//!   is alive);
//! * never after revocation: a revoked resource has been dropped.
//!
//! [`ResourceScope::revoke`] revokes every resource of a binding at once: one
//! unplug (one heavy barrier, one drain) for all of them, then each is
//! dropped in reverse order of creation, like devres.
//!
//! # Soundness argument (the `unsafe` in this module)
//!
//! A slot's value is dropped only by [`Slot::revoke_now`], which requires that
//! no reference into the slot exists and none can be created afterwards.
//! References are created only
//! * from a [`Bound`] minted by an [`Access`] of the slot's gate: the drop
//!   happens after that gate's unplug drained, so every such `Access` (and the
//!   `Bound` borrowing it) is gone, and no new one can be created;
//! * from a [`Bound`] minted by [`ResourceScope::bound`]: the scope's slots are
//!   dropped by `ResourceScope::revoke(self)` or `Drop`, both of which need the
//!   scope by value, so no borrow of it (and no `Bound` from it) exists;
//! * from a [`RevocableGuard`], which holds an `Access` of the slot's gate.
//!
//! The drain's acquire scan pairs with the release store of each exit, so all
//! reads made through these references happen-before the drop.

use crate::gate::{Access, Gate, Gone, UnplugError};
use crate::sync::{AtomicBool, Mutex, Ordering, lock};
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Typestate proof that a device (a gate and its resource scope) is bound for
/// the lifetime `'a`, in the spirit of Rust-for-Linux's `&Device<Bound>`.
///
/// Obtained from an [`Access`] ([`Access::bound`]) or from the binding's own
/// [`ResourceScope`] ([`ResourceScope::bound`]); lets [`Devres::access`] hand out
/// a reference without any synchronisation.
#[derive(Clone, Copy, Debug)]
pub struct Bound<'a> {
    gate: u64,
    /// Id of the scope that minted it, 0 when minted by an access.
    scope: u64,
    _p: PhantomData<&'a ()>,
}

impl Bound<'_> {
    pub(crate) fn from_gate(gate: u64) -> Self {
        Self {
            gate,
            scope: 0,
            _p: PhantomData,
        }
    }

    /// Id of the gate the proof refers to.
    pub fn gate_id(&self) -> u64 {
        self.gate
    }
}

/// The proof handed to [`Devres::access`] belongs to another device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("proof of binding belongs to another device (EINVAL)")]
pub struct WrongDevice;

/// A value that may be dropped early, exactly once.
///
/// # Invariants
///
/// * `alive` is true iff `data` holds an initialised `T`.
/// * `data` is dropped only by `revoke_now` (or by `Drop` when no reference can
///   exist because `&mut self` is held).
struct Slot<T> {
    alive: AtomicBool,
    data: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: `Slot` hands out `&T` to several threads (needs `T: Sync`) and drops
// `T` on whichever thread revokes it (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for Slot<T> {}
// SAFETY: moving the slot moves the `T` it owns.
unsafe impl<T: Send> Send for Slot<T> {}

impl<T> Slot<T> {
    fn new(value: T) -> Self {
        Self {
            alive: AtomicBool::new(true),
            data: UnsafeCell::new(MaybeUninit::new(value)),
        }
    }

    /// # Safety
    ///
    /// The slot must not have been revoked, and must not be revoked while the
    /// returned reference lives.
    unsafe fn get(&self) -> &T {
        debug_assert!(self.alive.load(Ordering::Relaxed));
        // SAFETY: by the caller's contract the value is initialised and is not
        // dropped while the returned reference lives; only shared references
        // are ever created.
        unsafe { (*self.data.get()).assume_init_ref() }
    }

    fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Drops the value if still present. Returns whether this call dropped it.
    ///
    /// # Safety
    ///
    /// No reference obtained from [`Slot::get`] may be alive, and none may be
    /// created afterwards (see the module's soundness argument).
    unsafe fn revoke_now(&self) -> bool {
        if self.alive.swap(false, Ordering::AcqRel) {
            // SAFETY: the swap makes this the only call that sees `true`, so the
            // value is dropped exactly once; the caller guarantees no reference
            // to it exists.
            unsafe { (*self.data.get()).assume_init_drop() };
            true
        } else {
            false
        }
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        #[cfg(not(loom))]
        let alive = *self.alive.get_mut();
        #[cfg(loom)]
        let alive = self.alive.load(Ordering::Relaxed);
        if alive {
            // SAFETY: `&mut self` proves no reference into the slot exists.
            unsafe { self.data.get_mut().assume_init_drop() };
        }
    }
}

/// A standalone revocable value with its own gate.
///
/// ```
/// use devlife::Revocable;
/// let regs = Revocable::new(vec![0u32; 4]);
/// {
///     let r = regs.try_access().unwrap();   // may be held across sleeps
///     assert_eq!(r.len(), 4);
/// }
/// assert!(regs.revoke().unwrap());           // drains, then drops the Vec
/// assert!(regs.try_access().is_err());
/// ```
pub struct Revocable<T> {
    gate: Gate,
    slot: Slot<T>,
}

/// Guard returned by `try_access`: an access of the resource's gate plus a
/// reference to the value. Not `Send`.
///
/// # Invariants
///
/// `value` points to the live value of a slot of the gate that `access` is
/// inside, so it stays valid until the guard is dropped.
pub struct RevocableGuard<'a, T> {
    /// A raw pointer, not `&'a T`: a reference field would be asserted valid
    /// for the whole of any call the guard is moved into (`drop(guard)`
    /// included), past the point where the access ends and a revoker on
    /// another thread may drop the value (Miri flags exactly that). Same
    /// reason as Rust-for-Linux's `RevocableGuard::data_ref` and std's
    /// `RwLockReadGuard::data`.
    value: NonNull<T>,
    access: Access<'a>,
    _value: PhantomData<&'a T>,
}

impl<'a, T> RevocableGuard<'a, T> {
    fn new(value: &'a T, access: Access<'a>) -> Self {
        Self {
            value: NonNull::from(value),
            access,
            _value: PhantomData,
        }
    }
}

impl<T> std::ops::Deref for RevocableGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: by the type invariant the value is alive while the guard
        // (and so its access) is; the returned borrow ends before the guard.
        unsafe { self.value.as_ref() }
    }
}

impl<'a, T> RevocableGuard<'a, T> {
    /// The gate access held by this guard.
    pub fn access(&self) -> &Access<'a> {
        &self.access
    }
}

impl<T: Send + Sync> Revocable<T> {
    /// Wraps `value` behind a new private gate.
    pub fn new(value: T) -> Self {
        Self {
            gate: Gate::named("revocable"),
            slot: Slot::new(value),
        }
    }

    /// The private gate (e.g. to attach wait queues or watch the drain).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Enters the gate and returns a guard, or `Gone` once revoked.
    pub fn try_access(&self) -> Result<RevocableGuard<'_, T>, Gone> {
        let access = self.gate.enter()?;
        // SAFETY: `access` keeps the gate from draining, and the slot is revoked
        // only after the drain; the reference lives no longer than `access`.
        let value = unsafe { self.slot.get() };
        Ok(RevocableGuard::new(value, access))
    }

    /// Runs `f` on the value if it is still available.
    pub fn try_access_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, Gone> {
        self.try_access().map(|g| f(&g))
    }

    /// Revokes: refuses new accesses, wakes sleepers of the gate, waits for
    /// in-flight guards, then drops the value. Returns whether this call dropped it.
    ///
    /// Fails if the calling thread holds a guard of this same value.
    pub fn revoke(&self) -> Result<bool, UnplugError> {
        self.gate.unplug()?;
        // SAFETY: the gate is drained, so no guard (the only source of
        // references) is alive and none can be created.
        Ok(unsafe { self.slot.revoke_now() })
    }

    /// Whether the value has been dropped.
    pub fn is_revoked(&self) -> bool {
        !self.slot.is_alive()
    }
}

trait Revoke: Send + Sync {
    /// # Safety
    /// Same contract as [`Slot::revoke_now`].
    unsafe fn revoke(&self) -> bool;
}

impl<T: Send + Sync> Revoke for Slot<T> {
    unsafe fn revoke(&self) -> bool {
        // SAFETY: forwarded contract.
        unsafe { self.revoke_now() }
    }
}

/// A device-managed resource: lives in a [`ResourceScope`] and is dropped when
/// the scope is revoked (at unbind), or when the last handle and the scope are
/// gone, whichever comes first. Cloning gives another handle to the same value.
pub struct Devres<T> {
    slot: std::sync::Arc<Slot<T>>,
    gate: Gate,
    scope: u64,
}

impl<T> Clone for Devres<T> {
    fn clone(&self) -> Self {
        Self {
            slot: self.slot.clone(),
            gate: self.gate.clone(),
            scope: self.scope,
        }
    }
}

impl<T: Send + Sync> Devres<T> {
    /// Zero-cost access with a proof that the device is bound.
    ///
    /// Fails with [`WrongDevice`] if the proof belongs to another device.
    #[inline]
    pub fn access<'a>(&'a self, bound: &Bound<'a>) -> Result<&'a T, WrongDevice> {
        if bound.gate != self.gate.id() || (bound.scope != 0 && bound.scope != self.scope) {
            return Err(WrongDevice);
        }
        // SAFETY: a `Bound` of this gate minted by an `Access`, or of this scope
        // minted by the scope, proves the slot is not revoked during `'a`
        // (module docs).
        Ok(unsafe { self.slot.get() })
    }

    /// Enters the device's gate and returns a guard (sleepable, not `Send`).
    pub fn try_access(&self) -> Result<RevocableGuard<'_, T>, Gone> {
        let access = self.gate.enter()?;
        if !self.slot.is_alive() {
            // Revoked by a scope drop without unplug of a still-open gate is
            // impossible (revoke unplugs first); kept as defence in depth.
            return Err(Gone);
        }
        // SAFETY: `access` keeps the gate from draining; the scope drops slots
        // only after the drain.
        let value = unsafe { self.slot.get() };
        Ok(RevocableGuard::new(value, access))
    }

    /// Whether the value has been dropped.
    pub fn is_revoked(&self) -> bool {
        !self.slot.is_alive()
    }
}

/// The resources of one binding of a device (Linux's devres list).
///
/// # Invariants
///
/// * Every slot in `slots` belongs to `gate`.
/// * Slots are dropped only in `revoke`/`Drop`, after `gate` drained.
pub struct ResourceScope {
    id: u64,
    gate: Gate,
    slots: Mutex<Vec<std::sync::Arc<dyn Revoke>>>,
    revoked: AtomicBool,
}

/// [`ResourceScope::revoke`] was called from inside an access of its gate.
#[derive(thiserror::Error)]
#[error("resource scope revoked from inside its own gate: {error}")]
pub struct RevokeError {
    /// The scope, handed back untouched (its resources are still alive).
    pub scope: ResourceScope,
    /// What the unplug said.
    pub error: UnplugError,
}

impl std::fmt::Debug for RevokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeError")
            .field("error", &self.error)
            .finish()
    }
}

impl std::fmt::Debug for ResourceScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceScope")
            .field("gate", &self.gate.name())
            .field("resources", &lock(&self.slots).len())
            .finish()
    }
}

fn next_scope_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl ResourceScope {
    /// A scope whose resources die with `gate`.
    pub fn new(gate: &Gate) -> Self {
        Self {
            id: next_scope_id(),
            gate: gate.clone(),
            slots: Mutex::new(Vec::new()),
            revoked: AtomicBool::new(false),
        }
    }

    /// The scope's gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Proof that the device is bound for as long as the scope is borrowed.
    pub fn bound(&self) -> Bound<'_> {
        Bound {
            gate: self.gate.id(),
            scope: self.id,
            _p: PhantomData,
        }
    }

    /// Adds a resource to the scope.
    ///
    /// Fails with [`Gone`] once the scope's gate is unplugged (a late `probe`
    /// step must not add resources to a dying binding).
    pub fn add<T: Send + Sync + 'static>(&self, value: T) -> Result<Devres<T>, Gone> {
        if self.gate.is_unplugged() {
            return Err(Gone);
        }
        let slot = std::sync::Arc::new(Slot::new(value));
        lock(&self.slots).push(slot.clone());
        Ok(Devres {
            slot,
            gate: self.gate.clone(),
            scope: self.id,
        })
    }

    /// Number of resources in the scope.
    pub fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Whether the scope holds no resource.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Unplugs the gate (one drain for all resources), then drops every
    /// resource in reverse order of creation. Returns how many were dropped.
    pub fn revoke(self) -> Result<usize, Box<RevokeError>> {
        match self.gate.unplug() {
            Ok(_) => Ok(self.revoke_drained()),
            Err(error) => Err(Box::new(RevokeError { scope: self, error })),
        }
    }

    fn revoke_drained(&self) -> usize {
        self.revoked.store(true, Ordering::Release);
        let slots = std::mem::take(&mut *lock(&self.slots));
        let mut n = 0;
        for s in slots.iter().rev() {
            // SAFETY: the gate is drained (no `Access`, hence no `Bound` from an
            // access, and no guard); the caller owns the scope by value, so no
            // `Bound` minted by the scope exists.
            if unsafe { s.revoke() } {
                n += 1;
            }
        }
        n
    }
}

impl Drop for ResourceScope {
    fn drop(&mut self) {
        if self.revoked.load(Ordering::Acquire) {
            return;
        }
        match self.gate.unplug() {
            Ok(_) => {
                self.revoke_drained();
            }
            Err(_) => {
                // Dropped inside its own gate: dropping the resources now could
                // free memory under the caller. Leak them to their handles
                // instead; each is dropped with its last `Devres`.
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering as O};

    struct Counted(std::sync::Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, O::SeqCst);
        }
    }

    #[test]
    fn scope_revokes_all_with_one_unplug() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let gate = Gate::named("dev");
        let scope = ResourceScope::new(&gate);
        let rs: Vec<_> = (0..10)
            .map(|_| scope.add(Counted(drops.clone())).unwrap())
            .collect();
        {
            let b = scope.bound();
            for r in &rs {
                r.access(&b).unwrap();
            }
        }
        {
            let a = gate.enter().unwrap();
            let b = a.bound();
            assert!(rs[0].access(&b).is_ok());
        }
        assert_eq!(scope.revoke().unwrap(), 10);
        assert_eq!(drops.load(O::SeqCst), 10);
        assert!(rs.iter().all(|r| r.is_revoked() && r.try_access().is_err()));
    }

    #[test]
    fn wrong_device_proof_is_refused() {
        let g1 = Gate::named("a");
        let g2 = Gate::named("b");
        let s1 = ResourceScope::new(&g1);
        let s2 = ResourceScope::new(&g2);
        let r1 = s1.add(1u32).unwrap();
        assert_eq!(r1.access(&s2.bound()), Err(WrongDevice));
        // Another scope on the same gate is another binding: refused too.
        let s1b = ResourceScope::new(&g1);
        assert_eq!(r1.access(&s1b.bound()), Err(WrongDevice));
        assert_eq!(*r1.access(&s1.bound()).unwrap(), 1);
    }

    #[test]
    fn guard_held_across_sleep_delays_revoke() {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let r = std::sync::Arc::new(Revocable::new(Counted(drops.clone())));
        let (tx, rx) = std::sync::mpsc::channel();
        let r2 = r.clone();
        let d2 = drops.clone();
        let t = std::thread::spawn(move || {
            let g = r2.try_access().unwrap();
            tx.send(()).unwrap();
            // Held across a sleep, until the revoke has begun.
            while !g.access().is_unplugging() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(d2.load(O::SeqCst), 0);
            drop(g);
        });
        rx.recv().unwrap();
        assert!(r.revoke().unwrap());
        assert_eq!(drops.load(O::SeqCst), 1);
        assert!(!r.revoke().unwrap());
        t.join().unwrap();
    }

    #[test]
    fn revoke_inside_own_access_hands_the_scope_back() {
        let gate = Gate::new();
        let scope = ResourceScope::new(&gate);
        let r = scope.add(5u8).unwrap();
        let a = gate.enter().unwrap();
        let err = scope.revoke().unwrap_err();
        assert_eq!(*r.access(&a.bound()).unwrap(), 5);
        drop(a);
        assert_eq!(err.scope.revoke().unwrap(), 1);
    }

    #[test]
    fn add_after_unplug_fails() {
        let gate = Gate::new();
        let scope = ResourceScope::new(&gate);
        gate.unplug().unwrap();
        assert!(scope.add(1u8).is_err());
    }
}
