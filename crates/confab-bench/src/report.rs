//! Figures: latency histograms, the CPU of both processes over an interval, the table printed
//! at the end, the JSON file and the fanout chart.

use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::target::{Target, own_cpu};

/// A latency histogram in microseconds, 1 µs to 100 s, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant bounds are valid")
}

/// p50, p99 and p99.9 of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Latency {
    /// Samples.
    pub samples: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `h`.
    pub fn of(h: &Histogram<u64>) -> Latency {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            samples: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// The CPU both processes used over an interval.
pub struct CpuWindow {
    started: Instant,
    server: Option<Duration>,
    generator: Duration,
}

/// CPU used over an interval, as a share of one core (1.0 = one core busy throughout).
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Cpu {
    /// Seconds of the interval.
    pub seconds: f64,
    /// The server's CPU, in cores; absent when its process is unknown.
    pub server_cores: Option<f64>,
    /// The load generator's CPU, in cores.
    pub generator_cores: f64,
    /// The server's CPU seconds over the interval.
    pub server_cpu_s: Option<f64>,
}

impl CpuWindow {
    /// Starts an interval now.
    pub fn start(target: &Target) -> CpuWindow {
        CpuWindow {
            started: Instant::now(),
            server: target.cpu(),
            generator: own_cpu(),
        }
    }

    /// Ends the interval.
    pub fn end(&self, target: &Target) -> Cpu {
        let seconds = self.started.elapsed().as_secs_f64();
        let server_cpu_s = match (self.server, target.cpu()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a).as_secs_f64()),
            _ => None,
        };
        Cpu {
            seconds,
            server_cores: server_cpu_s.map(|s| s / seconds),
            generator_cores: own_cpu().saturating_sub(self.generator).as_secs_f64() / seconds,
            server_cpu_s,
        }
    }
}

impl Cpu {
    /// The server's CPU time per item, in microseconds.
    pub fn server_us_per(&self, items: u64) -> Option<f64> {
        self.server_cpu_s
            .filter(|_| items > 0)
            .map(|s| s * 1e6 / items as f64)
    }
}

/// Formats an optional figure, `-` when absent.
pub fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// Writes `figures` as pretty JSON to `path`.
pub fn write_json(path: &Path, figures: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(figures).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!("figures written to {}", path.display());
    Ok(())
}

/// An SVG chart of latency (p50 and p99, ms, log scale) against delivered throughput, one
/// point per ramp step, with the 50 ms line.
pub fn latency_chart(title: &str, points: &[(f64, Latency)]) -> String {
    let (w, h, left, bottom, top, right) = (720.0, 420.0, 70.0, 50.0, 40.0, 20.0);
    let max_x = points.iter().map(|p| p.0).fold(1.0, f64::max) * 1.05;
    let (lo, hi) = (0.1f64.log10(), 1000f64.log10());
    let x = |v: f64| left + v / max_x * (w - left - right);
    let y = |ms: f64| {
        let l = ms.clamp(0.1, 1000.0).log10();
        h - bottom - (l - lo) / (hi - lo) * (h - bottom - top)
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="{w}" height="{h}" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">{title}</text>
"#,
        w / 2.0
    );
    for ms in [0.1, 1.0, 10.0, 50.0, 100.0, 1000.0] {
        let yy = y(ms);
        let stroke = if ms == 50.0 { "#c00" } else { "#ddd" };
        svg += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{stroke}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{ms} ms</text>\n",
            w - right,
            left - 6.0,
            yy + 4.0
        );
    }
    for i in 0..=5 {
        let v = max_x * f64::from(i) / 5.0;
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{:.0}k</text>\n",
            x(v),
            h - bottom + 18.0,
            v / 1000.0
        );
    }
    svg += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">deliveries per second</text>\n",
        (left + w - right) / 2.0,
        h - 10.0
    );
    for (name, color, pick) in [
        (
            "p50",
            "#06c",
            (|l: &Latency| l.p50_ms) as fn(&Latency) -> f64,
        ),
        ("p99", "#e80", |l: &Latency| l.p99_ms),
    ] {
        let path: Vec<String> = points
            .iter()
            .map(|(t, l)| format!("{:.1},{:.1}", x(*t), y(pick(l))))
            .collect();
        svg += &format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        );
        for p in &path {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            svg += &format!("<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{color}\"/>\n");
        }
        let ly = if name == "p50" { 50.0 } else { 66.0 };
        svg += &format!(
            "<text x=\"{}\" y=\"{ly}\" fill=\"{color}\">{name}</text>\n",
            left + 10.0
        );
    }
    svg + "</svg>\n"
}
