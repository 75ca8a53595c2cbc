//! Renders a chart natively as the helm plugin does and prints the images it
//! finds (with the template each came from) and the warnings; with
//! `--times N`, renders it N more times and prints the time per render.
//!
//! ```sh
//! cargo run --release --manifest-path plugins/Cargo.toml -p helm --example render -- CHART [--image-path '{.spec.image}'] [--times 50] [--show]
//! ```
//!
//! CHART is a chart directory or a `.tgz`. `--show` prints the rendered
//! templates too. For checking the engine against real charts, and for the
//! render benchmark (BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use helm::archive::{self, Files};
use helm::chart::Chart;

fn files_of(path: &Path) -> Result<Files, String> {
    if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        return archive::unpack(&bytes, &path.display().to_string()).map_err(|e| format!("{e:?}"));
    }
    let mut pairs = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = path.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let rel = rel.join(entry.file_name());
            if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
                stack.push(rel);
            } else {
                let data = std::fs::read(path.join(&rel)).map_err(|e| e.to_string())?;
                pairs.push((format!("chart/{}", rel.to_string_lossy()), data));
            }
        }
    }
    Ok(archive::from_pairs(pairs))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut chart_path = None;
    let mut image_paths = Vec::new();
    let mut times = 0usize;
    let mut show = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--image-path" => image_paths.push(args.next().expect("--image-path PATH")),
            "--times" => times = args.next().and_then(|n| n.parse().ok()).expect("--times N"),
            "--show" => show = true,
            other => chart_path = Some(PathBuf::from(other)),
        }
    }
    let Some(chart_path) = chart_path else {
        eprintln!("usage: render CHART [--image-path P]... [--times N] [--show]");
        std::process::exit(2);
    };
    let files = files_of(&chart_path).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    let chart = Chart::load(&files, &chart_path.display().to_string()).unwrap_or_else(|e| {
        eprintln!("error: {e:?}");
        std::process::exit(1)
    });
    let what = format!("chart {} {}", chart.metadata.name, chart.metadata.version);
    if show {
        match helm::render::render(chart.clone()) {
            Ok(out) => {
                for r in out {
                    println!("# ---- {}\n{}", r.name, r.text);
                }
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
    let found = match helm::discover(chart.clone(), &image_paths, &what) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:?}");
            std::process::exit(1);
        }
    };
    for image in &found.images {
        println!("{}\t{}", image.reference, image.template);
    }
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    if times > 0 {
        let start = Instant::now();
        for _ in 0..times {
            helm::discover(chart.clone(), &image_paths, &what).expect("renders again");
        }
        let per = start.elapsed().as_secs_f64() * 1000.0 / times as f64;
        println!("{what}: {per:.2} ms per render and discovery ({times} renders, warm)");
    }
}
