//! The `oc-mirror` binary: all of it lives in the library; this only runs it.

fn main() -> std::process::ExitCode {
    oc_mirror::cli::run(std::env::args_os())
}
