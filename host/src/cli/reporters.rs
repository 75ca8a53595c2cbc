//! Everything the user sees while a run works: progress and log lines.
//!
//! This is the only code that draws. On a terminal a progress bar shows bytes,
//! rate and images; elsewhere (CI, a pipe, `--log-level debug`) there is no bar,
//! and each finished image is one plain line. Log lines from `tracing` go
//! through the bar so the two never garble each other.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::copy::{ImageOutcome, ImageStatus, Reporter};

/// The bar being drawn, if any, so log lines can be printed above it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Sets up `tracing` at `level` (`error`, `warn`, `info`, `debug`, `trace`),
/// writing to stderr around the progress bar. `RUST_LOG` refines it.
pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,oc_mirror={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| LogWriter(Vec::new()))
        .try_init();
}

/// Collects one log event and prints it above the bar when dropped.
struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        print_above_bar(&text);
    }
}

fn print_above_bar(text: &str) {
    let bar = BAR.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(bar) => bar.suspend(|| eprint!("{text}")),
        None => eprint!("{text}"),
    }
}

/// Prints an error and its causes, one per line, then any `hint:` lines.
pub fn print_error(err: &anyhow::Error) {
    let mut out = format!("error: {err}");
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str(&format!("\n  caused by: {c}"));
        }
    }
    print_above_bar(&format!("{out}\n"));
}

/// Progress for a mirror run: a bar on a terminal, lines elsewhere.
pub struct Progress {
    bar: Option<ProgressBar>,
    images: AtomicUsize,
    done: AtomicUsize,
}

impl Progress {
    /// A bar when stderr is a terminal and `plain` is false.
    pub fn new(plain: bool) -> Progress {
        let bar = (!plain && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message("resolving images");
            if let Ok(mut slot) = BAR.lock() {
                *slot = Some(bar.clone());
            }
            bar
        });
        Progress {
            bar,
            images: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }

    /// Removes the bar (before the summary is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if let Ok(mut slot) = BAR.lock() {
                *slot = None;
            }
        }
    }
}

impl Reporter for Progress {
    fn planned(&self, images: usize, bytes: u64, distinct_bytes: u64) {
        self.images.store(images, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.set_length(bytes);
                bar.set_message(format!("0/{images} images"));
            }
            None => eprintln!(
                "copying {images} images ({} in distinct blobs)",
                human_bytes(distinct_bytes)
            ),
        }
    }

    fn bytes(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    fn image_done(&self, outcome: &ImageOutcome) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.images.load(Ordering::Relaxed);
        let what = match &outcome.status {
            ImageStatus::Copied => "mirrored",
            ImageStatus::AlreadyPresent => "already in the mirror",
            ImageStatus::Failed(_) => "FAILED",
        };
        match &self.bar {
            Some(bar) => bar.set_message(format!("{done}/{total} images")),
            None => eprintln!(
                "[{done}/{total}] {what}: {} → {}",
                outcome.source.whole(),
                outcome.destination.whole()
            ),
        }
    }
}

/// `1.5 MiB`-style sizes for people.
pub fn human_bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}
