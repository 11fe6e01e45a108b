//! Things every driver of this crate shares.

/// How a driver is written: chosen when it is registered (defined in
/// `devlife-model`, shared by its test driver and every driver here).
pub use devlife_model::Style;
