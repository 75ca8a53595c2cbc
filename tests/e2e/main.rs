//! End-to-end tests: the `oc-mirror` binary against real `docker-registry`
//! instances on loopback, checked with the independent client of the
//! test-support library. One binary, modules by workflow.

mod support;

/// Credentials and TLS: htpasswd registries, self-signed CAs.
mod auth_tls;
/// Two runs at once: on one workspace, into one mirror.
mod concurrency;
/// Delete and prune: what goes, what stays, across the gap, resumed.
mod delete;
/// Disk full: refused before writing, or stopped cleanly halfway; the rerun completes.
mod disk_full;
/// Things going wrong: missing images, unreachable and refusing registries, resume.
mod faults;
/// Helm charts: repositories, OCI charts, local charts; rendered, their images and themselves mirrored.
mod helm;
/// Hostile imagesets: crafted tar entries and head files, refused before anything is pushed.
mod hostile_imagesets;
/// Hostile plugins against the plugin runtime: each fails cleanly, the rest run on.
mod hostile_plugins;
/// Imagesets across the gap: create, publish, diff, damaged archives.
mod imagesets;
/// Killed with SIGKILL at points drawn from a seed, then run again: nothing lost.
mod kill;
/// The copy engine, the sources and the workflows driven directly, against the fault front.
mod library;
/// Mirror to mirror of additional images: what lands where, digest for digest.
mod mirror_to_mirror;
/// Operator catalogs: filtered, rebuilt, their images mirrored.
mod operators;
/// Files read out of image layers by a plugin (`registry.open-file`).
mod plugin_files;
/// What publish leaves for the cluster, and when: before the sequence is recorded.
mod publish_outputs;
/// OpenShift releases: channels, signatures, the graph image, imagesets.
mod releases;
/// No secret in any output: every workflow at trace level against htpasswd and token registries.
mod secrets;
