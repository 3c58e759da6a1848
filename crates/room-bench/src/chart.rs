//! The SVG charts of comparisons: p99 latency (or CPU) against load, one line per server.

use std::path::Path;

use plotters::prelude::*;

use crate::error::BenchError;

/// Colours of the lines, one per server in order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Draws `series` (a name and its (offered chats/s, p99 ms) points) into an SVG file.
pub(crate) fn write_p99_chart(
    path: &Path,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), BenchError> {
    let axes = Axes {
        x: "offered chats per second (all members)",
        y: "p99 latency (ms, log scale)",
    };
    write_chart(path, title, axes, series)
}

/// What a chart's axes say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Axes<'a> {
    /// The horizontal axis.
    pub(crate) x: &'a str,
    /// The vertical axis (always a log scale).
    pub(crate) y: &'a str,
}

/// Draws `series` (a name and its (x, y) points) into an SVG file, y on a log scale.
pub(crate) fn write_chart(
    path: &Path,
    title: &str,
    axes: Axes<'_>,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), BenchError> {
    let failed = |err: String| BenchError::Setup(format!("drawing {}: {err}", path.display()));
    let points = series.iter().flat_map(|(_, points)| points.iter());
    let x_max = points.clone().map(|&(x, _)| x).fold(1.0, f64::max) * 1.05;
    let y_max = points.clone().map(|&(_, y)| y).fold(1.0, f64::max) * 1.5;
    let y_min = points.map(|&(_, y)| y).fold(y_max, f64::min).max(0.01) / 1.5;

    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|err| failed(err.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, (y_min..y_max).log_scale())
        .map_err(|err| failed(err.to_string()))?;
    chart
        .configure_mesh()
        .x_desc(axes.x)
        .y_desc(axes.y)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(|err| failed(err.to_string()))?;
    for (index, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|err| failed(err.to_string()))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|err| failed(err.to_string()))?;
    root.present().map_err(|err| failed(err.to_string()))
}
