//! For tests: a loopback HTTP server answering every request with one
//! canned response, so the SDK parses a real answer (its modeled errors,
//! their metadata) as it parses AWS's.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The server, until dropped.
pub(crate) struct Canned {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers each request, once read whole, with `status` (e.g. `404 Not
/// Found`) and `body` as XML, then closes the connection.
pub(crate) async fn answering(status: &str, body: &str) -> Canned {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            if read_request(&mut stream).await.is_ok() {
                let _ = stream.write_all(response.as_bytes()).await;
            }
        }
    });
    Canned { url, task }
}

/// Reads one request: its head, then `content-length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut seen = Vec::new();
    let mut chunk = [0; 4096];
    let head_end = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => seen.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while seen.len() < head_end + length {
        match stream.read(&mut chunk).await? {
            0 => break,
            n => seen.extend_from_slice(&chunk[..n]),
        }
    }
    Ok(())
}
