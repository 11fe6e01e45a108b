//! `devlife topology`.
//!
//! `-p` output differs between media-ctl releases (`devlife_media::mc::render`
//! has the table). Without `--format`, the command prints what the
//! `media-ctl` installed on this machine would print, so that the two can be
//! compared directly: it runs `media-ctl --version` (one short process) and
//! falls back to the 1.22 format (Debian 12's v4l-utils) when media-ctl is
//! missing or names no version.

use crate::{EXIT_ERROR, EXIT_USAGE};
use clap::builder::PossibleValuesParser;
use clap::{Args, ValueEnum};
use devlife_harness::stress::{Style, target, target_names};
use devlife_media::mc::render::{MediaCtlFormat, RenderOptions, media_ctl_dot, media_ctl_print};
use devlife_model::Kernel;

/// The `media-ctl -p` release to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// v4l-utils 1.22 and 1.24 (Debian 12): `Sink`/`Source` pads, no routes.
    #[value(name = "1.22")]
    V1_22,
    /// v4l-utils 1.26: route counts and `stream:0`, `Sink`/`Source` pads.
    #[value(name = "1.26")]
    V1_26,
    /// v4l-utils 1.28 and later.
    Current,
}

impl From<FormatArg> for MediaCtlFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::V1_22 => MediaCtlFormat::V1_22,
            FormatArg::V1_26 => MediaCtlFormat::V1_26,
            FormatArg::Current => MediaCtlFormat::Current,
        }
    }
}

/// The format of the installed `media-ctl`, or 1.22 if there is none.
pub fn installed_format() -> MediaCtlFormat {
    std::process::Command::new("media-ctl")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            let out = String::from_utf8_lossy(&o.stdout).into_owned()
                + &String::from_utf8_lossy(&o.stderr);
            MediaCtlFormat::from_version_output(&out)
        })
        .unwrap_or(MediaCtlFormat::V1_22)
}

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
    /// The media-ctl release whose `-p` format to print (default: the
    /// installed media-ctl's, or 1.22 without one).
    #[arg(long, value_enum, value_name = "RELEASE")]
    format: Option<FormatArg>,
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
    let opts = RenderOptions {
        format: a.format.map_or_else(installed_format, Into::into),
        ..RenderOptions::default()
    };
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
