//! The stress engine.
