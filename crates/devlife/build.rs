//! Builds the C peer of the gate benchmark: a liburcu-memb read-side loop
//! (`benches/urcu_memb.c`), linked into the bench targets only.
//!
//! Where liburcu's headers or library are missing (`liburcu-dev` on Debian),
//! nothing is built, the `devlife_urcu` cfg stays unset and the benchmark
//! prints that the row is skipped. The library and tests never link it.

fn main() {
    println!("cargo::rerun-if-changed=benches/urcu_memb.c");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(devlife_urcu)");
    // Only a Linux host has liburcu-memb; Miri and loom never run the benches.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
        || std::env::var_os("CARGO_CFG_MIRI").is_some()
    {
        return;
    }
    let built = cc::Build::new()
        .file("benches/urcu_memb.c")
        .opt_level(2)
        // Compiled as gcc compiles a C program by default on Debian
        // (position-independent executable): liburcu's thread-local reader
        // state is then reached with one %fs-relative access, not through
        // the general-dynamic model a shared-library (-fPIC) build uses.
        .pic(false)
        .flag("-fPIE")
        .warnings(true)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_compile("devlife_urcu_memb");
    if let Err(e) = built {
        println!(
            "cargo::warning=liburcu-memb peer not built (install liburcu-dev to add the \
             urcu_memb row to the gate benchmark): {e}"
        );
        return;
    }
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo::rustc-link-arg-benches={out}/libdevlife_urcu_memb.a");
    println!("cargo::rustc-link-arg-benches=-lurcu-memb");
    println!("cargo::rustc-link-arg-benches=-lurcu-common");
    println!("cargo::rustc-cfg=devlife_urcu");
}
