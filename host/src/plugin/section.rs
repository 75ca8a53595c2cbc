//! Finding a custom section in a wasm module or component, searched through
//! nested core modules and components (where a Rust guest's sections land).
//!
//! Dependency-free on purpose: the build scripts include this file too
//! (through `build-support/wasm_workspace.rs`) to check the components they
//! build, so there is one scanner for the host and its builds.

/// The contents of the first custom section called `name`, if any.
pub fn find_custom_section<'a>(bytes: &'a [u8], name: &str) -> Option<&'a [u8]> {
    find_in(bytes, name, 0)
}

fn leb128(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Walks a module or component binary; section ids 1 (core module) and 4
/// (component) of a component hold nested binaries.
fn find_in<'a>(bytes: &'a [u8], name: &str, depth: u32) -> Option<&'a [u8]> {
    if depth > 8 || bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return None;
    }
    let is_component = bytes[6..8] == [1, 0];
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        pos += 1;
        let size = usize::try_from(leb128(bytes, &mut pos)?).ok()?;
        let body = bytes.get(pos..pos.checked_add(size)?)?;
        pos += size;
        if id == 0 {
            let mut p = 0;
            let len = usize::try_from(leb128(body, &mut p)?).ok()?;
            let section_name = body.get(p..p.checked_add(len)?)?;
            if section_name == name.as_bytes() {
                return body.get(p + len..);
            }
        } else if is_component
            && (id == 1 || id == 4)
            && let Some(found) = find_in(body, name, depth + 1)
        {
            return Some(found);
        }
    }
    None
}
