//! `devlife stress --plot FILE.svg`: the unplug-latency histogram and the
//! call and unplug rates over the run, drawn with plotters.

use devlife_harness::stress::Summary;
use plotters::prelude::*;
use std::path::Path;

/// Width and height of the picture, in pixels.
const SIZE: (u32, u32) = (960, 900);
/// Histogram bins (logarithmic in time).
const BINS: usize = 48;

/// Writes the plots of `s` to `path` as SVG.
pub fn stress_svg(path: &Path, s: &Summary) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, rest) = root.split_vertically(SIZE.1 / 2);
    let (mid, bottom) = rest.split_vertically(SIZE.1 / 4);
    latency_histogram(&top, &s.unplugs.samples_us)?;
    let rates = rates(s);
    rate_chart(
        &mid,
        "calls per second (all threads)",
        &rates.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        &BLUE,
    )?;
    rate_chart(
        &bottom,
        "unplugs per second (unbind, hot-unplug, unload)",
        &rates.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(),
        &RED,
    )?;
    root.present()?;
    Ok(())
}

/// `(t, calls/s, unplugs/s)` between consecutive timeline points.
fn rates(s: &Summary) -> Vec<(f64, f64, f64)> {
    s.timeline
        .windows(2)
        .filter(|w| w[1].t_s > w[0].t_s)
        .map(|w| {
            let dt = w[1].t_s - w[0].t_s;
            (
                w[1].t_s,
                (w[1].ops - w[0].ops) as f64 / dt,
                (w[1].unplugs - w[0].unplugs) as f64 / dt,
            )
        })
        .collect()
}

fn latency_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    samples_us: &[f64],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let pos: Vec<f64> = samples_us.iter().copied().filter(|v| *v > 0.0).collect();
    let (lo, hi) = pos
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(l, h), v| (l.min(*v), h.max(*v)));
    if pos.is_empty() || hi <= lo {
        area.titled("unplug latency: no unplug in this run", ("sans-serif", 20))?;
        return Ok(());
    }
    let (llo, lhi) = (lo.log10(), hi.log10() + 1e-9);
    let width = (lhi - llo) / BINS as f64;
    let mut counts = [0u64; BINS];
    for v in &pos {
        let i = (((v.log10() - llo) / width) as usize).min(BINS - 1);
        counts[i] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("unplug latency ({} unplugs)", pos.len()),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((lo..hi).log_scale(), 0u64..max + max / 10 + 1)?;
    chart
        .configure_mesh()
        .x_desc("wall time of one unplug (µs, log scale)")
        .y_desc("unplugs")
        .draw()?;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| {
                let x0 = 10f64.powf(llo + i as f64 * width);
                let x1 = 10f64.powf(llo + (i + 1) as f64 * width);
                Rectangle::new([(x0, 0), (x1, *c)], GREEN.mix(0.7).filled())
            }),
    )?;
    Ok(())
}

fn rate_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    points: &[(f64, f64)],
    color: &RGBColor,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let t_max = points.last().map_or(1.0, |p| p.0).max(1e-3);
    let y_max = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
    chart.configure_mesh().x_desc("seconds").draw()?;
    chart.draw_series(LineSeries::new(points.iter().copied(), color))?;
    Ok(())
}
