//! `devlife topology`.

use crate::{EXIT_ERROR, EXIT_USAGE};
use clap::Args;
use clap::builder::PossibleValuesParser;
use devlife_harness::stress::{Style, target, target_names};
use devlife_media::mc::render::{RenderOptions, media_ctl_dot, media_ctl_print};
use devlife_model::Kernel;

/// Options of `devlife topology`.
#[derive(Args, Debug)]
pub struct TopologyArgs {
    /// The driver whose graph to print.
    #[arg(value_name = "DRIVER", value_parser = PossibleValuesParser::new(target_names()))]
    driver: String,
    /// Print as `media-ctl --print-dot` (Graphviz) instead of `media-ctl -p`.
    #[arg(long)]
    dot: bool,
    /// Bind the driver's legacy twin instead.
    #[arg(long)]
    legacy: bool,
}

/// Runs `devlife topology`; returns the exit code.
pub fn main(a: TopologyArgs) -> u8 {
    let Some(t) = target(&a.driver) else {
        eprintln!("error: unknown driver `{}`", a.driver);
        return EXIT_USAGE;
    };
    let style = if a.legacy {
        Style::Legacy
    } else {
        Style::Framework
    };
    let k = Kernel::new();
    let inst = match t.register(&k, style) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: binding {} failed: {e}", t.name());
            return EXIT_ERROR;
        }
    };
    let Some(mdev) = inst.media_device() else {
        eprintln!(
            "error: {} has no media device (no media graph to print)",
            t.name()
        );
        drop(inst);
        k.shutdown();
        return EXIT_USAGE;
    };
    let opts = RenderOptions::default();
    let r = if a.dot {
        media_ctl_dot(&mdev, &opts)
    } else {
        media_ctl_print(&mdev, &opts)
    };
    drop((mdev, inst));
    k.shutdown();
    match r {
        Ok(text) => {
            crate::out(text);
            0
        }
        Err(e) => {
            eprintln!("error: enumerating the media graph failed: {e}");
            EXIT_ERROR
        }
    }
}
