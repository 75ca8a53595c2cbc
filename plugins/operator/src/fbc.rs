//! Reading File-Based Catalogs without holding them.
//!
//! A catalog is a directory of files, each a stream of JSON objects or a
//! multi-document YAML file. Red Hat's index is ~116 MiB of JSON, and the
//! `olm.bundle.object` form (base64 manifests in bundle properties) runs to
//! several hundred MB, so nothing here keeps a file, or even one JSON
//! document, in memory:
//!
//! - [`Documents`] splits a source into documents and hands out each one as a
//!   [`Document`], a reader of exactly that document's bytes (JSON documents
//!   are streamed; a YAML document is buffered, as the YAML parser needs it
//!   whole);
//! - [`Meta::read`] parses one document into the fields selection needs,
//!   skipping everything else (properties of other types, icons,
//!   descriptions) as it streams past;
//! - [`Catalog`] collects those fields into a compact model, and remembers
//!   for each file the sequence of documents it held ([`DocKey`]), so that
//!   [`crate::render`] can stream the same source again and copy kept
//!   documents through unchanged.
//!
//! Documents of other schemas are recorded only by their package, and carried
//! through by the renderer as they were written.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Schema names of the documents the model understands.
pub const SCHEMA_PACKAGE: &str = "olm.package";
/// A channel: its entries and their upgrade edges.
pub const SCHEMA_CHANNEL: &str = "olm.channel";
/// A bundle: its image, version and properties.
pub const SCHEMA_BUNDLE: &str = "olm.bundle";
/// Deprecation notices of one package.
pub const SCHEMA_DEPRECATIONS: &str = "olm.deprecations";

/// The syntax of one catalog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A stream of JSON objects (opm's own output).
    Json,
    /// One or more YAML documents separated by `---`.
    Yaml,
}

impl Format {
    /// The format of a file by its name, as opm decides (`.json`, `.yaml`,
    /// `.yml`); `None` for files that are not part of the catalog.
    pub fn from_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else {
            None
        }
    }
}

/// A mistake in a catalog, or a failure to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error(e.to_string())
    }
}

/// The UTF-8 byte-order mark some editors put at the start of a file.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Largest JSON document parsed from memory (see [`Meta::read_with`]).
pub const SLICE_LIMIT: usize = 16 << 20;

/// How much of a JSON document the parser buffers.
const READ_BUFFER: usize = 64 * 1024;

/// Splits a source into documents, one at a time.
pub struct Documents<R> {
    inner: R,
    format: Format,
    /// JSON: the current document is being streamed and has not ended.
    open: bool,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// YAML: the current document, and how much of it was read.
    yaml: Vec<u8>,
    yaml_pos: usize,
    /// YAML: text after a `---` marker, which belongs to the next document.
    carry: Vec<u8>,
    eof: bool,
}

impl<R: BufRead> Documents<R> {
    /// Documents of `source`, written in `format`.
    pub fn new(source: R, format: Format) -> Self {
        Documents {
            inner: source,
            format,
            open: false,
            depth: 0,
            in_string: false,
            escape: false,
            yaml: Vec::new(),
            yaml_pos: 0,
            carry: Vec::new(),
            eof: false,
        }
    }

    /// The next document, or `None` at the end of the source. A document not
    /// read to its end is skipped.
    pub fn next_document(&mut self) -> Result<Option<Document<'_, R>>, Error> {
        match self.format {
            Format::Json => {
                if self.open {
                    io::copy(&mut Document { docs: self }, &mut io::sink())?;
                }
                if !self.skip_json_space()? {
                    return Ok(None);
                }
                self.open = true;
                self.depth = 0;
                self.in_string = false;
                self.escape = false;
            }
            Format::Yaml => {
                if !self.next_yaml()? {
                    return Ok(None);
                }
            }
        }
        Ok(Some(Document { docs: self }))
    }

    /// Skips whitespace (and a byte-order mark) before a JSON document;
    /// false at the end of the source.
    fn skip_json_space(&mut self) -> Result<bool, Error> {
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            if buf[0] == BOM[0] {
                // A byte-order mark, however the reads cut it.
                for expected in BOM {
                    let buf = self.inner.fill_buf()?;
                    if buf.first() != Some(&expected) {
                        return Err(Error(
                            "expected a JSON object, found a broken byte-order mark".into(),
                        ));
                    }
                    self.inner.consume(1);
                }
                continue;
            }
            let blank = buf
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .count();
            if blank == 0 {
                return if buf[0] == b'{' {
                    Ok(true)
                } else {
                    Err(Error(format!(
                        "expected a JSON object, found `{}`",
                        char::from(buf[0]).escape_default()
                    )))
                };
            }
            self.inner.consume(blank);
        }
    }

    fn read_json(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.open || out.is_empty() {
            return Ok(0);
        }
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the catalog ends inside a JSON document",
            ));
        }
        let n = buf.len().min(out.len());
        let mut used = 0;
        while used < n {
            if self.in_string {
                if self.escape {
                    self.escape = false;
                    used += 1;
                    continue;
                }
                // Strings are most of a catalog: jump to the next quote or
                // backslash.
                match memchr::memchr2(b'"', b'\\', &buf[used..n]) {
                    None => used = n,
                    Some(k) => {
                        used += k;
                        if buf[used] == b'\\' {
                            self.escape = true;
                        } else {
                            self.in_string = false;
                        }
                        used += 1;
                    }
                }
                continue;
            }
            let b = buf[used];
            used += 1;
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.open = false;
                        break;
                    }
                }
                _ => {}
            }
        }
        out[..used].copy_from_slice(&buf[..used]);
        self.inner.consume(used);
        Ok(used)
    }

    /// Reads the next non-empty YAML document into `self.yaml`.
    fn next_yaml(&mut self) -> Result<bool, Error> {
        loop {
            self.yaml.clear();
            self.yaml_pos = 0;
            if self.eof && self.carry.is_empty() {
                return Ok(false);
            }
            self.yaml.append(&mut self.carry);
            let mut line = Vec::new();
            loop {
                line.clear();
                if self.inner.read_until(b'\n', &mut line)? == 0 {
                    self.eof = true;
                    break;
                }
                if let Some(rest) = marker(&line, b"---") {
                    // Text after the marker opens the next document.
                    if !is_blank(rest) {
                        self.carry.extend_from_slice(rest);
                    }
                    if is_blank_yaml(&self.yaml) {
                        self.yaml.clear();
                        self.yaml.append(&mut self.carry);
                        continue;
                    }
                    break;
                }
                if marker(&line, b"...").is_some() {
                    break;
                }
                if line.starts_with(b"%") && is_blank_yaml(&self.yaml) {
                    continue; // a directive
                }
                self.yaml.extend_from_slice(&line);
            }
            if !is_blank_yaml(&self.yaml) {
                if !self.yaml.ends_with(b"\n") {
                    self.yaml.push(b'\n');
                }
                return Ok(true);
            }
        }
    }
}

/// `rest` after a document marker at the start of `line` (followed by
/// whitespace or the end of the line).
fn marker<'a>(line: &'a [u8], mark: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(mark)?;
    match rest.first() {
        None | Some(b' ' | b'\t' | b'\r' | b'\n') => Some(rest),
        _ => None,
    }
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// Only blank lines and comments.
fn is_blank_yaml(text: &[u8]) -> bool {
    text.split(|b| *b == b'\n').all(|line| {
        let line = line.trim_ascii_start();
        line.is_empty() || line.starts_with(b"#") || is_blank(line)
    })
}

/// One document of a source: reads exactly its bytes.
pub struct Document<'a, R> {
    docs: &'a mut Documents<R>,
}

impl<R> Document<'_, R> {
    /// The syntax the document is written in.
    pub fn format(&self) -> Format {
        self.docs.format
    }
}

impl<R: BufRead> Read for Document<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self.docs.format {
            Format::Json => self.docs.read_json(out),
            Format::Yaml => {
                let rest = &self.docs.yaml[self.docs.yaml_pos..];
                let n = rest.len().min(out.len());
                out[..n].copy_from_slice(&rest[..n]);
                self.docs.yaml_pos += n;
                Ok(n)
            }
        }
    }
}

/// A group/version/kind, provided (`olm.gvk`) or required (`olm.gvk.required`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Gvk {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

/// An `olm.package.required` property: a package and a version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRequirement {
    /// The package needed.
    pub package: String,
    /// The versions that satisfy (blang/semver range syntax).
    pub range: String,
}

/// A related image of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RelatedImage {
    /// Its name, often empty.
    pub name: String,
    /// The image reference.
    pub image: String,
}

/// One entry of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Entry {
    /// The bundle's name.
    pub name: String,
    /// The single predecessor it replaces.
    pub replaces: Option<String>,
    /// Bundles it skips.
    pub skips: Vec<String>,
    /// A range of versions it skips (not used to find heads).
    pub skip_range: Option<String>,
}

/// A property of a bundle that selection needs; other types are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// `olm.package`: the bundle's own package and version.
    Package {
        /// `packageName`.
        package: String,
        /// `version`.
        version: String,
    },
    /// `olm.gvk`: an API the bundle provides.
    Gvk(Gvk),
    /// `olm.gvk.required`: an API the bundle needs.
    GvkRequired(Gvk),
    /// `olm.package.required`: a package the bundle needs.
    PackageRequired(PackageRequirement),
    /// `olm.csv.metadata`: of it, only the display name.
    DisplayName(String),
}

/// What a deprecation entry refers to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reference {
    /// `olm.bundle`, `olm.channel` or `olm.package`.
    pub schema: String,
    /// The bundle or channel; absent for the package.
    pub name: Option<String>,
}

/// The fields of one document that selection and rendering need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// `schema`.
    pub schema: String,
    /// `name` (package, channel or bundle name).
    pub name: Option<String>,
    /// `package` (of a channel, bundle, deprecations or other document).
    pub package: Option<String>,
    /// `defaultChannel` of a package.
    pub default_channel: Option<String>,
    /// `entries` of a channel.
    pub entries: Vec<Entry>,
    /// `entries[].reference` of deprecations.
    pub references: Vec<Reference>,
    /// `image` of a bundle.
    pub image: Option<String>,
    /// `properties` of a bundle, of the types selection uses.
    pub properties: Vec<Property>,
    /// `relatedImages` of a bundle.
    pub related_images: Vec<RelatedImage>,
}

impl Meta {
    /// Parses one document, streaming past what is not needed.
    pub fn read(doc: impl Read, format: Format) -> Result<Meta, Error> {
        Meta::read_with(doc, format, &mut Vec::new())
    }

    /// [`Meta::read`] with a scratch buffer kept between documents.
    ///
    /// A JSON document of up to [`SLICE_LIMIT`] bytes is read whole into
    /// `scratch` and parsed from memory, several times faster than from a
    /// reader (serde_json's reader path goes byte by byte); a larger one,
    /// e.g. a bundle whose properties carry megabytes of manifests, is parsed
    /// as it streams, so memory stays bounded by the limit, never by a
    /// document.
    pub fn read_with(
        mut doc: impl Read,
        format: Format,
        scratch: &mut Vec<u8>,
    ) -> Result<Meta, Error> {
        let meta: Loose<Meta> = match format {
            Format::Json => {
                scratch.clear();
                (&mut doc)
                    .take(SLICE_LIMIT as u64 + 1)
                    .read_to_end(scratch)?;
                if scratch.len() <= SLICE_LIMIT {
                    serde_json::from_slice(scratch).map_err(|e| Error(e.to_string()))?
                } else {
                    // Through a buffer each byte is a copy out of it, not a
                    // call down to the source; it never reaches past the
                    // document (a document reads only its own bytes).
                    let rest = io::Cursor::new(std::mem::take(scratch)).chain(doc);
                    serde_json::from_reader(io::BufReader::with_capacity(READ_BUFFER, rest))
                        .map_err(|e| Error(e.to_string()))?
                }
            }
            Format::Yaml => serde_norway::from_reader(doc).map_err(|e| Error(e.to_string()))?,
        };
        if scratch.capacity() > SLICE_LIMIT + 1 {
            // Keep the scratch buffer at the size of ordinary documents.
            *scratch = Vec::new();
        }
        let meta = meta
            .0
            .ok_or_else(|| Error("the document is not an object".into()))?;
        if meta.schema.is_empty() {
            return Err(Error("the document has no `schema`".into()));
        }
        Ok(meta)
    }
}

// Tolerant deserialization: documents of schemas we do not know may use
// `entries`, `properties` or `image` for anything, so a field of an
// unexpected shape is skipped instead of failing the document. Every value we
// do not keep goes to `IgnoredAny`, which streams past it.

/// A value parsed by `LooseFields`/`LooseValue`; `None` when of another shape.
struct Loose<T>(Option<T>);

/// Objects read field by field.
trait LooseFields: Default {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

impl<'de, T: LooseFields> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: LooseFields> Visitor<'de> for V<T> {
            type Value = Loose<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = T::default();
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    match key {
                        Some(key) => out.field(&key, &mut map)?,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Loose(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            other_shapes!();
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Visitor methods for the shapes a loose value does not want.
macro_rules! other_shapes {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Loose(None))
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    };
}
use other_shapes;

/// A string, or a scalar written as text (`version: 1` in YAML); `None` for
/// objects, lists and null.
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list whose elements are read loosely; elements of another shape are
/// dropped, and a value that is not a list is an empty list.
struct List<T>(Vec<T>);

impl<'de, T> Deserialize<'de> for List<T>
where
    Loose<T>: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T> Visitor<'de> for V<T>
        where
            Loose<T>: Deserialize<'de>,
        {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(Loose(item)) = seq.next_element::<Loose<T>>()? {
                    out.extend(item);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(List(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<List<T>, E> {
                Ok(List(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<List<T>, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(map.next_value::<Text>()?.0)
}

fn strings<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Vec<String>, A::Error> {
    Ok(map.next_value::<StringList>()?.0)
}

/// A list of strings; other elements dropped.
struct StringList(Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(item)) = seq.next_element::<Text>()? {
                    out.extend(item);
                }
                Ok(StringList(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(StringList(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_none<E: de::Error>(self) -> Result<StringList, E> {
                Ok(StringList(Vec::new()))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<StringList, D::Error> {
                d.deserialize_any(self)
            }
        }
        d.deserialize_any(V)
    }
}

/// An entry of a channel, or of deprecations (`reference`, `message`).
#[derive(Default)]
struct AnyEntry {
    entry: Entry,
    reference: Option<Reference>,
}

impl LooseFields for AnyEntry {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.entry.name = text(map)?.unwrap_or_default(),
            "replaces" => self.entry.replaces = text(map)?.filter(|s| !s.is_empty()),
            "skips" => self.entry.skips = strings(map)?,
            "skipRange" => self.entry.skip_range = text(map)?.filter(|s| !s.is_empty()),
            "reference" => self.reference = map.next_value::<Loose<Reference>>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl LooseFields for Reference {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "schema" => self.schema = text(map)?.unwrap_or_default(),
            "name" => self.name = text(map)?.filter(|s| !s.is_empty()),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl LooseFields for RelatedImage {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = text(map)?.unwrap_or_default(),
            "image" => self.image = text(map)?.unwrap_or_default(),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The value of a property we keep, whatever its type; the type decides
/// which fields count.
#[derive(Default)]
struct PropertyValue {
    package_name: Option<String>,
    version: Option<String>,
    version_range: Option<String>,
    group: Option<String>,
    kind: Option<String>,
    display_name: Option<String>,
}

impl LooseFields for PropertyValue {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "packageName" => self.package_name = text(map)?,
            "version" => self.version = text(map)?,
            "versionRange" => self.version_range = text(map)?,
            "group" => self.group = text(map)?,
            "kind" => self.kind = text(map)?,
            "displayName" => self.display_name = text(map)?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Whether the value of a property of this type is worth reading (the
/// large ones, `olm.bundle.object` above all, stream past unread).
fn wanted(kind: &str) -> bool {
    matches!(
        kind,
        "olm.package"
            | "olm.gvk"
            | "olm.gvk.required"
            | "olm.package.required"
            | "olm.csv.metadata"
    )
}

/// `{type, value}`. opm writes `type` first, so the value of an unwanted
/// property (an `olm.bundle.object`) streams past unread; when `value` comes
/// first it is buffered, as its type is not known yet.
#[derive(Default)]
struct RawProperty {
    kind: Option<String>,
    value: Option<PropertyValue>,
    pending: Option<serde_json::Value>,
}

impl LooseFields for RawProperty {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => self.kind = text(map)?,
            "value" => match &self.kind {
                Some(kind) if wanted(kind) => {
                    self.value = map.next_value::<Loose<PropertyValue>>()?.0;
                }
                Some(_) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => self.pending = Some(map.next_value()?),
            },
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl RawProperty {
    fn into_property(self) -> Option<Property> {
        let kind = self.kind?;
        if !wanted(&kind) {
            return None;
        }
        let value = match (self.value, self.pending) {
            (Some(value), _) => value,
            (None, Some(pending)) => serde_json::from_value::<Loose<PropertyValue>>(pending)
                .ok()
                .and_then(|v| v.0)?,
            (None, None) => return None,
        };
        let gvk = |v: PropertyValue| {
            Some(Gvk {
                group: v.group?,
                version: v.version?,
                kind: v.kind?,
            })
        };
        match kind.as_str() {
            "olm.package" => Some(Property::Package {
                package: value.package_name?,
                version: value.version?,
            }),
            "olm.gvk" => gvk(value).map(Property::Gvk),
            "olm.gvk.required" => gvk(value).map(Property::GvkRequired),
            "olm.package.required" => Some(Property::PackageRequired(PackageRequirement {
                package: value.package_name?,
                range: value.version_range.unwrap_or_default(),
            })),
            "olm.csv.metadata" => value.display_name.map(Property::DisplayName),
            _ => None,
        }
    }
}

impl LooseFields for Meta {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "schema" => self.schema = text(map)?.unwrap_or_default(),
            "name" => self.name = text(map)?,
            "package" => self.package = text(map)?.filter(|s| !s.is_empty()),
            "defaultChannel" => self.default_channel = text(map)?.filter(|s| !s.is_empty()),
            "image" => self.image = text(map)?,
            "entries" => {
                for entry in map.next_value::<List<AnyEntry>>()?.0 {
                    if let Some(reference) = entry.reference {
                        self.references.push(reference);
                    } else {
                        self.entries.push(entry.entry);
                    }
                }
            }
            "properties" => {
                self.properties = map
                    .next_value::<List<RawProperty>>()?
                    .0
                    .into_iter()
                    .filter_map(RawProperty::into_property)
                    .collect();
            }
            "relatedImages" => self.related_images = map.next_value::<List<RelatedImage>>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A bundle, as much of it as selection needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Bundle {
    /// Its name (`name`).
    pub name: String,
    /// The version of its `olm.package` property, as written; `None` when
    /// the bundle has none.
    pub version: Option<String>,
    /// The bundle image.
    pub image: String,
    /// Its related images, in order.
    pub related_images: Vec<RelatedImage>,
    /// The APIs it provides (`olm.gvk`).
    pub provides: Vec<Gvk>,
    /// The APIs it needs (`olm.gvk.required`).
    pub requires_gvks: Vec<Gvk>,
    /// The packages it needs (`olm.package.required`).
    pub requires_packages: Vec<PackageRequirement>,
    /// Its display name (`olm.csv.metadata`), when it has one.
    pub display_name: Option<String>,
}

/// A channel: its entries in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Channel {
    /// The channel's name.
    pub name: String,
    /// Its entries.
    pub entries: Vec<Entry>,
}

/// A package with its channels and bundles.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Package {
    /// The package's name.
    pub name: String,
    /// `defaultChannel` of its `olm.package` document.
    pub default_channel: Option<String>,
    /// Whether an `olm.package` document declared it.
    pub declared: bool,
    /// Its channels by name.
    pub channels: BTreeMap<String, Channel>,
    /// Its bundles by name.
    pub bundles: BTreeMap<String, Bundle>,
}

/// Which document a position in a file held, so that the renderer can decide
/// about it again without parsing more than its boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocKey {
    /// An `olm.package`.
    Package(String),
    /// An `olm.channel` of a package.
    Channel {
        /// Package.
        package: String,
        /// Channel.
        name: String,
    },
    /// An `olm.bundle` of a package.
    Bundle {
        /// Package.
        package: String,
        /// Bundle.
        name: String,
    },
    /// An `olm.deprecations` of a package.
    Deprecations(String),
    /// A document of another schema, and its package if it names one.
    Other(Option<String>),
}

/// Identifies one file added to a [`Catalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// The model of a whole catalog: what selection needs, and for each file the
/// documents it held.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Packages by name.
    pub packages: BTreeMap<String, Package>,
    files: Vec<Vec<DocKey>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Catalog::default()
    }

    /// Reads every document of one file; `name` is used in errors only.
    pub fn add_file(
        &mut self,
        name: &str,
        source: impl BufRead,
        format: Format,
    ) -> Result<FileId, Error> {
        let mut docs = Documents::new(source, format);
        let mut keys = Vec::new();
        let mut scratch = Vec::new();
        while let Some(doc) = docs
            .next_document()
            .map_err(|e| Error(format!("{name}: {e}")))?
        {
            let at = keys.len() + 1;
            let meta = Meta::read_with(doc, format, &mut scratch)
                .map_err(|e| Error(format!("{name}: document {at}: {e}")))?;
            let key = self
                .add(meta)
                .map_err(|e| Error(format!("{name}: document {at}: {e}")))?;
            keys.push(key);
        }
        self.files.push(keys);
        Ok(FileId(self.files.len() - 1))
    }

    /// The documents of a file, in order.
    pub fn documents(&self, file: FileId) -> &[DocKey] {
        self.files.get(file.0).map_or(&[], Vec::as_slice)
    }

    fn package(&mut self, name: &str) -> &mut Package {
        self.packages
            .entry(name.to_string())
            .or_insert_with(|| Package {
                name: name.to_string(),
                ..Package::default()
            })
    }

    /// Adds one parsed document to the model.
    pub fn add(&mut self, meta: Meta) -> Result<DocKey, Error> {
        let need = |field: Option<String>, what: &str| {
            field
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error(format!("{} without `{what}`", meta.schema)))
        };
        match meta.schema.as_str() {
            SCHEMA_PACKAGE => {
                let name = need(meta.name.clone(), "name")?;
                let package = self.package(&name);
                if package.declared {
                    return Err(Error(format!("package {name:?} is declared twice")));
                }
                package.declared = true;
                package.default_channel = meta.default_channel;
                Ok(DocKey::Package(name))
            }
            SCHEMA_CHANNEL => {
                let name = need(meta.name.clone(), "name")?;
                let package_name = need(meta.package.clone(), "package")?;
                let package = self.package(&package_name);
                if package.channels.contains_key(&name) {
                    return Err(Error(format!(
                        "channel {name:?} of package {package_name:?} is declared twice"
                    )));
                }
                package.channels.insert(
                    name.clone(),
                    Channel {
                        name: name.clone(),
                        entries: meta.entries,
                    },
                );
                Ok(DocKey::Channel {
                    package: package_name,
                    name,
                })
            }
            SCHEMA_BUNDLE => {
                let name = need(meta.name.clone(), "name")?;
                let package_name = need(meta.package.clone(), "package")?;
                let mut bundle = Bundle {
                    name: name.clone(),
                    image: meta.image.unwrap_or_default(),
                    related_images: meta.related_images,
                    ..Bundle::default()
                };
                for property in meta.properties {
                    match property {
                        Property::Package { version, .. } => bundle.version = Some(version),
                        Property::Gvk(gvk) => bundle.provides.push(gvk),
                        Property::GvkRequired(gvk) => bundle.requires_gvks.push(gvk),
                        Property::PackageRequired(req) => bundle.requires_packages.push(req),
                        Property::DisplayName(name) => bundle.display_name = Some(name),
                    }
                }
                let package = self.package(&package_name);
                if package.bundles.insert(name.clone(), bundle).is_some() {
                    return Err(Error(format!(
                        "bundle {name:?} of package {package_name:?} is declared twice"
                    )));
                }
                Ok(DocKey::Bundle {
                    package: package_name,
                    name,
                })
            }
            SCHEMA_DEPRECATIONS => {
                let package = need(meta.package.clone(), "package")?;
                Ok(DocKey::Deprecations(package))
            }
            _ => Ok(DocKey::Other(meta.package)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str, format: Format) -> Vec<String> {
        let mut docs = Documents::new(text.as_bytes(), format);
        let mut out = Vec::new();
        while let Some(mut doc) = docs.next_document().unwrap() {
            let mut s = String::new();
            doc.read_to_string(&mut s).unwrap();
            out.push(s);
        }
        out
    }

    #[test]
    fn splits_a_json_stream_exactly() {
        let text = "\u{feff}{\"a\": \"}{\\\"\"}\n\n  {\"b\": [1, {\"c\": 2}]}{\"d\":{}}\n";
        assert_eq!(
            docs(text, Format::Json),
            [r#"{"a": "}{\""}"#, r#"{"b": [1, {"c": 2}]}"#, r#"{"d":{}}"#]
        );
        // However the source is cut (escapes and quotes across reads).
        for capacity in 1..9 {
            let mut docs = Documents::new(
                io::BufReader::with_capacity(capacity, text.as_bytes()),
                Format::Json,
            );
            let mut out = Vec::new();
            while let Some(mut doc) = docs.next_document().unwrap() {
                let mut s = String::new();
                doc.read_to_string(&mut s).unwrap();
                out.push(s);
            }
            assert_eq!(
                out,
                [r#"{"a": "}{\""}"#, r#"{"b": [1, {"c": 2}]}"#, r#"{"d":{}}"#],
                "{capacity}"
            );
        }
        let mut d = Documents::new("[1]".as_bytes(), Format::Json);
        assert!(d.next_document().is_err());
        // A truncated document is an error, not a short document.
        let mut d = Documents::new("{\"a\": 1".as_bytes(), Format::Json);
        let mut doc = d.next_document().unwrap().unwrap();
        assert!(doc.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn skips_unread_documents() {
        let text = "{\"schema\":\"x\",\"n\":1} {\"schema\":\"y\"}";
        let mut d = Documents::new(text.as_bytes(), Format::Json);
        let mut first = d.next_document().unwrap().unwrap();
        let mut one = [0u8; 3];
        first.read_exact(&mut one).unwrap();
        let second = d.next_document().unwrap().unwrap();
        assert_eq!(Meta::read(second, Format::Json).unwrap().schema, "y");
        assert!(d.next_document().unwrap().is_none());
    }

    #[test]
    fn splits_yaml_documents() {
        let text = "%YAML 1.2\n---\n# only a comment\n---\na: 1\n---\nb: |\n  --- not a marker\n...\n--- {c: 3}\n---\n\n";
        assert_eq!(
            docs(text, Format::Yaml),
            ["a: 1\n", "b: |\n  --- not a marker\n", " {c: 3}\n"]
        );
        assert_eq!(docs("x: 1", Format::Yaml), ["x: 1\n"]);
        assert!(docs("", Format::Yaml).is_empty());
    }

    const BUNDLE_JSON: &str = r#"{
    "schema": "olm.bundle",
    "name": "one.v1.0.0",
    "package": "one",
    "image": "example.com/one-bundle@sha256:aa",
    "properties": [
        {"type": "olm.bundle.object", "value": {"data": "eyJhIjoxfQ=="}},
        {"type": "olm.package", "value": {"packageName": "one", "version": "1.0.0"}},
        {"value": {"group": "g.example.com", "version": "v1", "kind": "Thing"}, "type": "olm.gvk"},
        {"type": "olm.gvk.required", "value": {"group": "h.example.com", "version": "v2", "kind": "Other"}},
        {"type": "olm.package.required", "value": {"packageName": "two", "versionRange": ">=1.0.0"}},
        {"type": "olm.csv.metadata", "value": {"annotations": {"x": "y"}}}
    ],
    "relatedImages": [
        {"name": "", "image": "example.com/one-bundle@sha256:aa"},
        {"name": "operator", "image": "example.com/one@sha256:bb"}
    ]
}"#;

    #[test]
    fn reads_the_fields_selection_needs() {
        let meta = Meta::read(BUNDLE_JSON.as_bytes(), Format::Json).unwrap();
        assert_eq!(meta.schema, "olm.bundle");
        assert_eq!(meta.name.as_deref(), Some("one.v1.0.0"));
        assert_eq!(
            meta.properties,
            [
                Property::Package {
                    package: "one".into(),
                    version: "1.0.0".into()
                },
                Property::Gvk(Gvk {
                    group: "g.example.com".into(),
                    version: "v1".into(),
                    kind: "Thing".into()
                }),
                Property::GvkRequired(Gvk {
                    group: "h.example.com".into(),
                    version: "v2".into(),
                    kind: "Other".into()
                }),
                Property::PackageRequired(PackageRequirement {
                    package: "two".into(),
                    range: ">=1.0.0".into()
                }),
            ]
        );
        assert_eq!(meta.related_images.len(), 2);
        assert_eq!(meta.related_images[1].name, "operator");
    }

    #[test]
    fn a_document_above_the_slice_limit_is_parsed_as_it_streams() {
        // A bundle carrying more manifest bytes than the limit, before and
        // after the fields selection needs.
        let big = "A".repeat(SLICE_LIMIT);
        let json = format!(
            r#"{{"properties": [{{"type": "olm.bundle.object", "value": {{"data": "{big}"}}}}, {{"type": "olm.package", "value": {{"packageName": "one", "version": "1.0.0"}}}}], "schema": "olm.bundle", "name": "one.v1.0.0", "package": "one", "image": "example.com/one@sha256:aa"}}"#
        );
        let mut scratch = Vec::new();
        let meta = Meta::read_with(json.as_bytes(), Format::Json, &mut scratch).unwrap();
        assert_eq!(meta.name.as_deref(), Some("one.v1.0.0"));
        assert_eq!(meta.properties.len(), 1);
        assert!(
            scratch.capacity() <= SLICE_LIMIT + 1,
            "the scratch buffer is not kept big"
        );
        // And the same document cut short is an error, not a shorter bundle.
        let cut = &json[..json.len() - 2];
        assert!(Meta::read_with(cut.as_bytes(), Format::Json, &mut scratch).is_err());
    }

    #[test]
    fn reads_yaml_like_json() {
        let yaml = "schema: olm.channel\npackage: one\nname: stable\nentries:\n  - name: one.v1.0.0\n  - name: one.v1.1.0\n    replaces: one.v1.0.0\n    skips: [one.v0.9.0]\n    skipRange: '<1.1.0'\n";
        let meta = Meta::read(yaml.as_bytes(), Format::Yaml).unwrap();
        assert_eq!(meta.entries.len(), 2);
        assert_eq!(
            meta.entries[1],
            Entry {
                name: "one.v1.1.0".into(),
                replaces: Some("one.v1.0.0".into()),
                skips: vec!["one.v0.9.0".into()],
                skip_range: Some("<1.1.0".into()),
            }
        );
        // Deprecation entries are references.
        let yaml = "schema: olm.deprecations\npackage: one\nentries:\n  - reference: {schema: olm.bundle, name: one.v1.0.0}\n    message: old\n  - reference: {schema: olm.package}\n    message: gone\n";
        let meta = Meta::read(yaml.as_bytes(), Format::Yaml).unwrap();
        assert_eq!(meta.references.len(), 2);
        assert_eq!(meta.references[1].name, None);
    }

    #[test]
    fn other_schemas_may_use_any_shape() {
        let json = r#"{"schema":"example.other","entries":"text","properties":{"a":[1,2]},"image":{"x":1},"package":"one","relatedImages":7}"#;
        let meta = Meta::read(json.as_bytes(), Format::Json).unwrap();
        assert_eq!(meta.schema, "example.other");
        assert_eq!(meta.package.as_deref(), Some("one"));
        assert!(Meta::read("{\"name\":\"x\"}".as_bytes(), Format::Json).is_err());
        assert!(Meta::read("- 1\n".as_bytes(), Format::Yaml).is_err());
    }

    #[test]
    fn builds_the_model() {
        let mut catalog = Catalog::new();
        let json = format!(
            "{}\n{}\n{}\n{}",
            r#"{"schema":"olm.package","name":"one","defaultChannel":"stable","icon":{"base64data":"AAAA","mediatype":"image/png"}}"#,
            r#"{"schema":"olm.channel","package":"one","name":"stable","entries":[{"name":"one.v1.0.0"}]}"#,
            BUNDLE_JSON,
            r#"{"schema":"example.other","value":1}"#
        );
        let file = catalog
            .add_file("one/catalog.json", json.as_bytes(), Format::Json)
            .unwrap();
        let one = &catalog.packages["one"];
        assert!(one.declared);
        assert_eq!(one.default_channel.as_deref(), Some("stable"));
        let bundle = &one.bundles["one.v1.0.0"];
        assert_eq!(bundle.version.as_deref(), Some("1.0.0"));
        assert_eq!(bundle.image, "example.com/one-bundle@sha256:aa");
        assert_eq!(bundle.provides.len(), 1);
        assert_eq!(bundle.requires_gvks.len(), 1);
        assert_eq!(bundle.requires_packages[0].package, "two");
        assert_eq!(catalog.documents(file).len(), 4);
        assert_eq!(catalog.documents(file)[3], DocKey::Other(None));

        // Duplicates are errors that name the file and the document.
        let again = r#"{"schema":"olm.channel","package":"one","name":"stable","entries":[]}"#;
        let err = catalog
            .add_file("dup.json", again.as_bytes(), Format::Json)
            .unwrap_err();
        assert_eq!(
            err.0,
            "dup.json: document 1: channel \"stable\" of package \"one\" is declared twice"
        );
        assert!(Format::from_path("a/b.YML") == Some(Format::Yaml));
        assert!(Format::from_path("a/.indexignore").is_none());
    }
}
