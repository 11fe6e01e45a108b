//! [`V4l2Device`]: the top-level V4L2 object of a driver (`struct v4l2_device`).
//!
//! It is reference counted with a driver release callback
//! (`v4l2_device_get/put` + `v4l2_dev->release`): every video device and
//! every subdev registered to it holds a reference until its own release, so
//! the callback, where a driver frees the state its nodes share, runs after
//! the last node memory is gone.
//!
//! It lists its subdevs weakly (no reference cycle: a subdev holds its
//! v4l2 device, the v4l2 device only finds its subdevs).
//!
//! With a media device ([`V4l2Device::set_media_device`], `v4l2_dev->mdev`),
//! registering a subdev registers its entity, registering a node creates its
//! interface devnode and interface link, and a video device registers its
//! entity: the graph objects hold the media device, so it outlives every
//! video device and subdev that uses it.
#![forbid(unsafe_code)]

use super::subdev::{AnySubdev, SubdevHandle};
use crate::mc::MediaDevice;
use devlife::{Monitor, Ref, WeakRef};
use devlife_model::{Errno, KResult};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// The shared part of a [`V4l2Device`].
pub(crate) struct V4l2DevInner {
    name: String,
    monitor: Monitor,
    state: Mutex<DevState>,
}

struct DevState {
    registered: bool,
    subdevs: Vec<Weak<dyn AnySubdev>>,
    mdev: Option<MediaDevice>,
}

/// A V4L2 device. Cloning takes a reference (`v4l2_device_get`); dropping
/// one puts it; the release callback runs on the last put.
///
/// ```
/// use devlife::Monitor;
/// use devlife_media::v4l2::V4l2Device;
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// let m = Monitor::new();
/// let freed = Arc::new(AtomicBool::new(false));
/// let f = freed.clone();
/// let v4l2 = V4l2Device::new(&m, "vimc", move || f.store(true, Ordering::SeqCst));
/// let held = v4l2.clone(); // e.g. held by a video device until its release
/// drop(v4l2);
/// assert!(!freed.load(Ordering::SeqCst));
/// drop(held);
/// assert!(freed.load(Ordering::SeqCst));
/// assert_eq!(m.ledger().live("v4l2_device"), 0);
/// ```
///
/// # Invariants
///
/// The release callback runs exactly once, after every video device and
/// subdev that was registered to this device has been released.
#[derive(Clone)]
pub struct V4l2Device {
    inner: Ref<V4l2DevInner>,
}

/// A weak reference to a [`V4l2Device`].
#[derive(Clone, Default)]
pub struct WeakV4l2Device {
    inner: WeakRef<V4l2DevInner>,
}

impl WeakV4l2Device {
    /// `kref_get_unless_zero`.
    pub fn upgrade(&self) -> Option<V4l2Device> {
        self.inner.try_get().map(|inner| V4l2Device { inner })
    }
}

impl std::fmt::Debug for V4l2Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Device")
            .field("name", &self.inner.name)
            .field("refs", &Ref::count(&self.inner))
            .finish()
    }
}

impl V4l2Device {
    /// `v4l2_device_register` with a release callback: the device is
    /// registered, its reference count is 1.
    pub fn new(monitor: &Monitor, name: &str, release: impl FnOnce() + Send + 'static) -> Self {
        let inner = V4l2DevInner {
            name: name.to_owned(),
            monitor: monitor.clone(),
            state: Mutex::new(DevState {
                registered: true,
                subdevs: Vec::new(),
                mdev: None,
            }),
        };
        Self {
            inner: Ref::with_release(monitor, crate::kinds::V4L2_DEVICE, inner, move |_| {
                release()
            }),
        }
    }

    /// The device name (`v4l2_dev->name`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The checkers this device accounts in.
    pub fn monitor(&self) -> &Monitor {
        &self.inner.monitor
    }

    /// References right now.
    pub fn refs(&self) -> usize {
        Ref::count(&self.inner)
    }

    /// A weak reference.
    pub fn downgrade(&self) -> WeakV4l2Device {
        WeakV4l2Device {
            inner: Ref::downgrade(&self.inner),
        }
    }

    /// Whether two handles name the same device.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Ref::ptr_eq(&a.inner, &b.inner)
    }

    /// Whether [`unregister`](Self::unregister) has not been called.
    pub fn is_registered(&self) -> bool {
        self.inner.state.lock().registered
    }

    /// Sets the media device (`v4l2_dev->mdev`); objects registered from now
    /// on join its graph. The v4l2 device holds a reference to it.
    pub fn set_media_device(&self, mdev: &MediaDevice) {
        self.inner.state.lock().mdev = Some(mdev.clone());
    }

    /// The media device, if any.
    pub fn media_device(&self) -> Option<MediaDevice> {
        self.inner.state.lock().mdev.clone()
    }

    /// `v4l2_device_register_subdev`: attaches the subdev and registers its
    /// entity with the media device. `EINVAL` if the subdev already belongs
    /// to a v4l2 device, `ENODEV` once this device is unregistered, or the
    /// entity registration error (the subdev is detached again).
    pub fn register_subdev(&self, sd: &SubdevHandle) -> KResult<()> {
        let mdev = {
            let st = self.inner.state.lock();
            if !st.registered {
                return Err(Errno::ENODEV);
            }
            st.mdev.clone()
        };
        sd.dyn_ref().attach(self)?;
        if let Some(m) = &mdev
            && let Err(e) = m.register_entity(sd.dyn_ref().entity())
        {
            sd.dyn_ref().detach();
            return Err(e);
        }
        let mut st = self.inner.state.lock();
        st.subdevs.retain(|w| w.strong_count() > 0);
        st.subdevs.push(Arc::downgrade(sd.arc()));
        Ok(())
    }

    /// `v4l2_device_unregister_subdev`: unregisters its node (if any) and
    /// detaches it. The subdev memory stays while files or handles hold it.
    pub fn unregister_subdev(&self, sd: &SubdevHandle) {
        let target = Arc::downgrade(sd.arc());
        self.inner
            .state
            .lock()
            .subdevs
            .retain(|w| !Weak::ptr_eq(w, &target) && w.strong_count() > 0);
        sd.dyn_ref().detach();
    }

    /// The registered subdevs still alive, in registration order.
    pub fn subdevs(&self) -> Vec<SubdevHandle> {
        self.inner
            .state
            .lock()
            .subdevs
            .iter()
            .filter_map(Weak::upgrade)
            .map(SubdevHandle::from_arc)
            .collect()
    }

    /// `v4l2_device_unregister`: unregisters every subdev (and its node).
    /// Idempotent. The release callback still waits for the last reference.
    pub fn unregister(&self) {
        let subdevs: Vec<_> = {
            let mut st = self.inner.state.lock();
            if !st.registered {
                return;
            }
            st.registered = false;
            std::mem::take(&mut st.subdevs)
        };
        for sd in subdevs.iter().filter_map(Weak::upgrade) {
            sd.detach();
        }
    }
}
