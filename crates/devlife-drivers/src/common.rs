//! Things every driver of this crate shares.

/// How a driver is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Style {
    /// The framework style: state released on the last reference, every
    /// operation gated, hardware revoked at unbind.
    #[default]
    Framework,
    /// The pre-fix style: devm-allocated state freed at unbind, a `registered`
    /// flag checked only at call entry, devm IRQs.
    Legacy,
}
