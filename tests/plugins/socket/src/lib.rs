//! Fixture: `resolve` opens a TCP connection to `127.0.0.1:<port>` (`{"port": N}`
//! in the config, 1 when absent) and would send a request. The sandbox has no
//! sockets, so the connect must fail; the failure comes back as `Error::Other`.

use std::io::Write;
use std::net::TcpStream;

use oc_mirror_plugin_sdk::{ContentSource, Error, PluginInfo, Resolution};
use serde::Deserialize;

#[derive(Deserialize)]
struct Config {
    #[serde(default = "default_port")]
    port: u16,
}

fn default_port() -> u16 {
    1
}

struct Socket;

impl ContentSource for Socket {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "socket".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            config_key: "socket".into(),
            capabilities: Vec::new(),
        }
    }

    fn resolve(
        config: serde_json::Value,
        _state: Option<serde_json::Value>,
    ) -> Result<Resolution, Error> {
        let port = if config.is_null() {
            default_port()
        } else {
            oc_mirror_plugin_sdk::config::<Config>(config)?.port
        };
        let address = format!("127.0.0.1:{port}");
        let mut stream = TcpStream::connect(&address)
            .map_err(|e| Error::Other(format!("connecting to {address} failed: {e}")))?;
        stream
            .write_all(b"GET / HTTP/1.0\r\n\r\n")
            .map_err(|e| Error::Other(format!("writing to {address} failed: {e}")))?;
        Err(Error::Other(format!(
            "connected to {address}: the sandbox let a socket through"
        )))
    }
}

oc_mirror_plugin_sdk::export_content_source!(Socket);
