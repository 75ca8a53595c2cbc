//! HTTP GET to hosts the user allowed, through the host (the `http` import of the
//! `content-source` world).
//!
//! A plugin that calls [`get`] declares in
//! [`PluginInfo::capabilities`](crate::PluginInfo) either `http:<host>` for every
//! host it reaches, or `http:*` when its configuration names the hosts (it then
//! gets exactly the `http:<host>` grants of the user). The host refuses any other
//! host with [`Error::Denied`] and follows redirects only within the allowed hosts.

use std::io;

use crate::Error;
use crate::bindings::imports::oc_mirror::plugin0_1_0::http as wit;
use crate::registry::{ChunkReader, Chunked};

/// A response: status, headers, and a body to read with [`std::io::Read`].
#[derive(Debug)]
pub struct Response {
    /// The HTTP status code (a 404 is a response, not an [`Error`]).
    pub status: u16,
    /// The response headers, in order, names as the server sent them.
    pub headers: Vec<(String, String)>,
    /// The body, streamed from the host.
    pub body: Body,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response body, streamed from the host chunk by chunk. Errors from the host come
/// out of [`io::Read::read`] as [`io::ErrorKind::Other`] wrapping the [`Error`].
#[derive(Debug)]
pub struct Body {
    chunks: ChunkReader<wit::Body>,
}

impl io::Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.chunks.read(buf)
    }
}

impl Chunked for wit::Body {
    fn next_chunk(&self, max: u32) -> Result<Option<Vec<u8>>, Error> {
        self.read(max)
    }
}

/// GET `url` with extra request `headers`.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, Error> {
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let response = wit::get(url, &headers)?;
    Ok(Response {
        status: response.status,
        headers: response.headers,
        body: Body {
            chunks: ChunkReader::new(response.body),
        },
    })
}
