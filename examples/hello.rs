//! The benchmark ceiling: the least a hyper 1 server on tokio can do per
//! request, built from this crate's own dependencies. It answers every
//! request with a fixed JSON body the size of a credential, and nothing
//! else: no routing, no guards, no cache, no log.
//!
//! `cargo run --release --example hello -- PORT`

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8095);
    let body = Bytes::from(format!(
        "{{\n  \"Version\": 1,\n  \"AccessKeyId\": \"{}\",\n  \"SecretAccessKey\": \"{}\",\n  \
         \"SessionToken\": \"{}\",\n  \"Expiration\": \"2026-11-23T00:10:35+00:00\"\n}}",
        "A".repeat(20),
        "s".repeat(40),
        "t".repeat(360)
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("hello serving on 127.0.0.1:{port}");
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
