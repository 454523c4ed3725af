//! Raw HTTP for exact requests: one-shot, keep-alive, and the answer's parts.
#![allow(unused_imports)]
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Status, headers (lower-case names) and body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// Sends one raw request (the caller writes every byte, Host included),
/// half-closes, and reads the whole answer.
pub fn http(addr: SocketAddr, request: &str) -> Reply {
    let raw = http_raw(addr, request.as_bytes());
    parse_response(&raw).unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"))
}

/// Sends bytes, reads until the server closes or 10 s pass.
pub fn http_raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// Status, headers (lower-case names) and body of the first response.
pub fn parse_response(raw: &str) -> Option<Reply> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((status, headers, body.to_owned()))
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A keep-alive HTTP/1.1 client over any stream: many requests, one
/// connection, each response read exactly by its Content-Length.
pub struct KeepAlive<S> {
    reader: BufReader<S>,
}

impl<S: Read + Write> KeepAlive<S> {
    pub fn new(stream: S) -> KeepAlive<S> {
        KeepAlive {
            reader: BufReader::new(stream),
        }
    }

    /// `GET path`; an error if the connection broke or the answer was cut.
    pub fn get(&mut self, path: &str) -> std::io::Result<(u16, String)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let mut body = vec![0; length.ok_or(std::io::ErrorKind::InvalidData)?];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A served credential: its key and how long it had left when served.
pub fn key_and_life(body: &str) -> (String, time::Duration) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    let expiration = time::OffsetDateTime::parse(
        value["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    (
        value["AccessKeyId"].as_str().unwrap().to_owned(),
        expiration - time::OffsetDateTime::now_utc(),
    )
}

/// The keys of a JSON object, in order.
pub fn json_keys(body: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}
