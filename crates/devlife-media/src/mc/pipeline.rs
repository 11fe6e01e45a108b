//! Media pipelines (`struct media_pipeline`): the set of pads that stream
//! together, started and stopped under the graph lock.
//!
//! A pipeline is owned by whoever streams (a video device embeds one); pads
//! point to it by id only, so a pad never keeps a pipeline alive and a pipeline
//! never keeps an entity alive. Start and stop are [`Graph::pipeline_start`]
//! and [`Graph::pipeline_stop`] (or the locking wrappers on
//! [`MediaDevice`](super::MediaDevice)).
//!
//! [`Graph::pipeline_start`]: super::Graph::pipeline_start
//! [`Graph::pipeline_stop`]: super::Graph::pipeline_stop

use super::graph::PadKey;
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicU64, Ordering};

/// The mutable state of a pipeline.
#[derive(Debug, Default)]
pub struct PipeState {
    /// `start_count`.
    pub start_count: u32,
    /// The pads of the started pipeline, in discovery order.
    pub pads: Vec<PadKey>,
}

/// A media pipeline.
///
/// # Invariants
///
/// * `id` is process-unique.
/// * `state` is modified only under the graph lock of the media device whose
///   pads it lists; its own mutex only makes that access safe.
#[derive(Debug)]
pub struct Pipeline {
    id: u64,
    state: Mutex<PipeState>,
}

impl Default for Pipeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Pipeline {
    /// A stopped pipeline.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(PipeState::default()),
        }
    }

    /// The pipeline's id (what pads record).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `start_count`.
    pub fn start_count(&self) -> u32 {
        self.state.lock().start_count
    }

    /// The pads of the started pipeline.
    pub fn pads(&self) -> Vec<PadKey> {
        self.state.lock().pads.clone()
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock()
    }
}
