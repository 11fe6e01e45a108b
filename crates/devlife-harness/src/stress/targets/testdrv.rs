//! The model's misc test driver (`devlife_model::testdrv`) as a stress target.
//!
//! Two platform devices (`devlife-testdrv.0` and `.1`) bound to one driver
//! of one module, each with a misc node `testdrvN`: blocking read from a
//! FIFO the IRQ handler fills, write to a data register, ioctls that touch
//! memory only, the hardware, or sleep until the device produced enough
//! words (the DQBUF-like sleep unplug must wake), poll and mmap.

use crate::stress::target::{
    Instance, IoctlCall, KernelOp, NodeProfile, Target, hot_unplug_device, nodes_of,
};
use devlife_drivers::Style;
use devlife_model::testdrv::{self, TestDriver};
use devlife_model::{Errno, FaultPoint, KResult, Kernel, MmapRequest, Node};
use rand::{Rng, RngCore};
use std::sync::{Arc, LazyLock};

/// What a userspace thread does with a test device's node: the same for
/// every node, built once.
static PROFILE: LazyLock<Arc<NodeProfile>> = LazyLock::new(|| {
    let word = |v: u32| v.to_le_bytes().to_vec();
    Arc::new(NodeProfile {
        ioctls: vec![
            IoctlCall::new("TESTDRV_PING", testdrv::IOC_PING, Vec::new()),
            IoctlCall::new("TESTDRV_HWOP", testdrv::IOC_HWOP, word(2)),
            IoctlCall::new("TESTDRV_TRIGGER", testdrv::IOC_TRIGGER, Vec::new()),
            // Returns at once once a word was produced.
            IoctlCall::new("TESTDRV_WAIT", testdrv::IOC_WAIT, word(1)),
            // Sleeps until a signal or the unplug wakes it (DQBUF-like).
            IoctlCall::new("TESTDRV_WAIT", testdrv::IOC_WAIT, word(u32::MAX)),
            IoctlCall::new("TESTDRV_STATS", testdrv::IOC_STATS, vec![0; 16]),
        ],
        // Start the device, wait for its word (the IRQ handler wakes
        // the sleeper), read the counters.
        sequences: vec![vec![
            IoctlCall::new("TESTDRV_TRIGGER", testdrv::IOC_TRIGGER, Vec::new()),
            IoctlCall::new("TESTDRV_WAIT", testdrv::IOC_WAIT, word(1)),
            IoctlCall::new("TESTDRV_STATS", testdrv::IOC_STATS, vec![0; 16]),
        ]],
        read_len: 16,
        write: Some(vec![1, 0, 0, 0, 2, 0, 0, 0]),
        mmap: Some(MmapRequest {
            offset: 0,
            len: testdrv::MEM_SIZE,
            write: true,
        }),
    })
});

/// Number of devices the target adds.
const DEVICES: u32 = 2;

fn device_name(n: u32) -> String {
    format!("devlife-testdrv.{n}")
}

/// The `testdrv` target.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestdrvTarget;

/// `testdrv` registered in one kernel.
#[derive(Debug)]
pub struct TestdrvInstance {
    kernel: Kernel,
    style: testdrv::Style,
}

impl TestdrvInstance {
    fn load(&self) -> KResult<()> {
        let name = testdrv::module_name(self.style);
        let m = self.kernel.load_module(name)?;
        // A module whose init fails is not left loaded (the next `modprobe`
        // would find it there and fail with EEXIST).
        let r = self
            .kernel
            .register_driver(TestDriver { style: self.style }, Some(&m));
        if r.is_err() {
            drop(m);
            let _ = self.kernel.unload_module(name);
        }
        r
    }
}

impl Target for TestdrvTarget {
    fn name(&self) -> &'static str {
        "testdrv"
    }

    fn description(&self) -> &'static str {
        "the model's misc test driver: blocking read, IRQ, register I/O, mmap (2 devices)"
    }

    fn register(&self, k: &Kernel, style: Style) -> KResult<Box<dyn Instance>> {
        let i = TestdrvInstance {
            kernel: k.clone(),
            style,
        };
        i.load()?;
        for n in 0..DEVICES {
            testdrv::add_test_device(k, n)?;
        }
        Ok(Box::new(i))
    }

    fn fault_points(&self) -> &'static [FaultPoint] {
        &[
            FaultPoint::IoRemap,
            FaultPoint::Alloc,
            FaultPoint::IrqRequest,
            FaultPoint::MinorAlloc,
            FaultPoint::NodeRegister,
            FaultPoint::DriverRegister,
            FaultPoint::ModuleLoad,
        ]
    }
}

impl Instance for TestdrvInstance {
    fn nodes(&self) -> Vec<Node> {
        nodes_of(&self.kernel, |d| d.modalias() == testdrv::MODALIAS)
    }

    fn kernel_ops(&self) -> &'static [KernelOp] {
        &KernelOp::ALL
    }

    fn perform(&self, op: KernelOp, rng: &mut dyn RngCore) -> KResult<()> {
        let k = &self.kernel;
        let n = rng.random_range(0..DEVICES);
        let dev = device_name(n);
        match op {
            KernelOp::Unbind => k.sysfs_unbind(testdrv::driver_name(self.style), &dev),
            KernelOp::Bind => k.sysfs_bind(testdrv::driver_name(self.style), &dev),
            KernelOp::HotUnplug => hot_unplug_device(k, &dev),
            KernelOp::Replug => {
                if k.device(&dev).is_some() {
                    return Err(Errno::EEXIST);
                }
                testdrv::add_test_device(k, n).map(drop)
            }
            KernelOp::Unload => k.unload_module(testdrv::module_name(self.style)),
            KernelOp::Reload => {
                if k.module(testdrv::module_name(self.style)).is_some() {
                    return Err(Errno::EEXIST);
                }
                self.load()
            }
        }
    }

    fn profile(&self, _node: &Node) -> Arc<NodeProfile> {
        PROFILE.clone()
    }

    fn fully_bound(&self) -> bool {
        (0..DEVICES).all(|n| {
            self.kernel
                .device(&device_name(n))
                .is_some_and(|d| d.is_bound())
        })
    }

    fn restore(&self) {
        let k = &self.kernel;
        if k.module(testdrv::module_name(self.style)).is_none() {
            let _ = self.load();
        }
        for n in 0..DEVICES {
            match k.device(&device_name(n)) {
                Some(d) => {
                    k.attach(&d);
                }
                None => {
                    let _ = testdrv::add_test_device(k, n);
                }
            }
        }
    }
}
