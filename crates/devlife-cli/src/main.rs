//! The `devlife` command.
fn main() {}
