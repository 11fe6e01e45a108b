//! What `devlife mount` and `devlife exec` share: a kernel with the chosen
//! drivers bound, and the findings of the checkers once it is torn down.

use devlife_harness::stress::{Instance, Style, target};
use devlife_model::Kernel;
use std::sync::Arc;

/// A kernel with the drivers of one command bound.
pub struct Served {
    /// The kernel the drivers are registered in.
    pub kernel: Kernel,
    /// The registered drivers (the sysfs tree needs them).
    pub instances: Vec<Arc<dyn Instance>>,
    /// Framework or legacy drivers.
    pub style: Style,
}

/// Registers `drivers` (default: vimc) in a new kernel and binds them.
pub fn start(drivers: &[String], legacy: bool) -> Result<Served, String> {
    let style = if legacy {
        Style::Legacy
    } else {
        Style::Framework
    };
    let kernel = Kernel::new();
    let names: Vec<String> = if drivers.is_empty() {
        vec!["vimc".to_owned()]
    } else {
        drivers.to_vec()
    };
    let mut instances = Vec::new();
    for name in names {
        let t = target(&name).ok_or_else(|| format!("unknown driver `{name}`"))?;
        let inst = t
            .register(&kernel, style)
            .map_err(|e| format!("binding {name} failed: {e}"))?;
        instances.push(Arc::<dyn Instance>::from(inst));
    }
    Ok(Served {
        kernel,
        instances,
        style,
    })
}

/// Unplugs everything, prints the checkers' findings (reports, hung
/// sleepers, leaked objects) on stderr and says whether there was any.
/// Everything holding the kernel's objects must be dropped before.
pub fn finish(s: Served) -> bool {
    let Served {
        kernel,
        instances,
        style,
    } = s;
    kernel.shutdown();
    let hangs = kernel.check_hangs();
    drop(instances);
    kernel.shutdown();
    kernel.monitor().check_leaks();
    let reports = kernel.monitor().reports().all();
    for r in &reports {
        eprintln!("{r}");
    }
    let leaks = kernel.leaks();
    for l in &leaks {
        eprintln!(
            "leak: {} live {} (created {}, released {})",
            l.type_name,
            l.created.saturating_sub(l.released),
            l.created,
            l.released
        );
    }
    let found = !reports.is_empty() || !leaks.is_empty() || hangs > 0;
    if found {
        eprintln!(
            "devlife: {} report(s), {} hung sleeper(s), {} leaked type(s) ({} drivers)",
            reports.len(),
            hangs,
            leaks.len(),
            style
        );
    }
    found && style == Style::Framework
}
