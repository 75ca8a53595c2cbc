//! Reads a custom section out of a WebAssembly module or component: how the host
//! finds the [`API_SECTION`](crate::API_SECTION) a plugin carries.
//!
//! A Rust plugin's custom sections end up in its core module, which
//! wasm-component-ld nests inside the component (component section 1); this reader
//! looks at the top level first, then into nested core modules and components, in
//! order. It needs nothing but the bytes, so the host may copy it as is.

/// The contents of the first custom section called `name`, at the top level or in
/// a nested module or component; `None` if there is none or the binary is
/// malformed.
pub fn find_custom_section<'a>(wasm: &'a [u8], name: &str) -> Option<&'a [u8]> {
    find(wasm, name, 0)
}

/// Nesting deeper than this is refused (a component holds one or two levels).
const MAX_DEPTH: usize = 8;

fn find<'a>(wasm: &'a [u8], name: &str, depth: usize) -> Option<&'a [u8]> {
    if depth > MAX_DEPTH || wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return None;
    }
    // Bytes 6..8 are the layer: 0 for a core module, 1 for a component.
    let component = wasm[6] == 1 && wasm[7] == 0;
    let mut nested = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let id = wasm[at];
        let (size, after) = leb_u32(wasm, at + 1)?;
        let end = after.checked_add(size as usize)?;
        let body = wasm.get(after..end)?;
        if id == 0 {
            let (len, name_at) = leb_u32(body, 0)?;
            let name_end = name_at.checked_add(len as usize)?;
            if body.get(name_at..name_end)? == name.as_bytes() {
                return Some(&body[name_end..]);
            }
        } else if component && (id == 1 || id == 4) {
            // A nested core module (1) or component (4).
            nested.push(body);
        }
        at = end;
    }
    nested
        .into_iter()
        .find_map(|inner| find(inner, name, depth + 1))
}

/// An unsigned LEB128 `u32` at `at`: its value and the offset after it.
fn leb_u32(bytes: &[u8], mut at: usize) -> Option<(u32, usize)> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at)?;
        at += 1;
        value |= u32::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut body = vec![name.len() as u8];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        let mut s = vec![0, body.len() as u8];
        s.extend(body);
        s
    }

    #[test]
    fn finds_a_section_in_a_nested_module() {
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.extend(custom("other", b"x"));
        module.extend(custom("oc-mirror:plugin-api", b"0.1.0"));
        let mut component = b"\0asm\x0d\0\x01\0".to_vec();
        component.extend(custom("producers", b""));
        component.push(1);
        component.push(module.len() as u8);
        component.extend(&module);
        assert_eq!(
            find_custom_section(&component, "oc-mirror:plugin-api"),
            Some(&b"0.1.0"[..])
        );
        assert_eq!(find_custom_section(&component, "missing"), None);
        assert_eq!(
            find_custom_section(&component[..20], "oc-mirror:plugin-api"),
            None
        );
        assert_eq!(find_custom_section(b"not wasm", "x"), None);
    }
}
