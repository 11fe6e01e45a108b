//! The scenario language and its deterministic runner.
