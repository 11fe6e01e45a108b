//! Builds the LD_PRELOAD identity shim (`shim/rdev_shim.c`) as a shared
//! library in `OUT_DIR`; the crate embeds it with `include_bytes!`
//! (see `src/shim.rs` and docs/fuse.md, "Node identity").

use std::path::PathBuf;

fn main() {
    let src = "shim/rdev_shim.c";
    println!("cargo:rerun-if-changed={src}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out.join("devlife-rdev-shim.so");
    // `cc` finds the C compiler and its flags for the target; it builds
    // static archives only, so the shared-library link is one command here.
    let compiler = cc::Build::new().get_compiler();
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-o"])
        .arg(&lib)
        .arg(src)
        .arg("-ldl")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("compiling {src} failed ({s}); is a C compiler installed?"),
        Err(e) => panic!("running the C compiler for {src} failed: {e}"),
    }
}
