//! A byte-counting TCP proxy on 127.0.0.1, so headers and framing are counted as well as bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Default)]
pub struct Counter {
    pub up: Arc<AtomicU64>,
    pub down: Arc<AtomicU64>,
}

impl Counter {
    pub fn take(&self) -> (u64, u64) {
        (
            self.up.swap(0, Ordering::SeqCst),
            self.down.swap(0, Ordering::SeqCst),
        )
    }
}

/// Starts a proxy to `target` (host:port); returns its URL and the counter.
pub async fn start(target: String) -> (String, Counter) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let counter = Counter::default();
    let c = counter.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let target = target.clone();
            let c = c.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(&target).await else {
                    return;
                };
                let (mut ri, mut wi) = inbound.into_split();
                let (mut ro, mut wo) = outbound.into_split();
                let up = c.up.clone();
                let down = c.down.clone();
                let a = tokio::spawn(async move { pump(&mut ri, &mut wo, &up).await });
                let b = tokio::spawn(async move { pump(&mut ro, &mut wi, &down).await });
                let _ = tokio::join!(a, b);
            });
        }
    });
    (url, counter)
}

async fn pump(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    count: &AtomicU64,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                count.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
