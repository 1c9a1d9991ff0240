//! A TCP proxy in front of a server, for cutting a client off without stopping the server: a
//! cut closes every open connection and refuses new ones until the proxy is reopened. It keeps
//! the request lines clients sent, to show how they reconnected.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Default)]
struct State {
    open: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
    request_lines: Mutex<Vec<String>>,
}

pub struct Proxy {
    /// Where clients connect, known before the server behind it starts.
    pub address: SocketAddr,
    listener: Mutex<Option<TcpListener>>,
    state: Arc<State>,
}

impl Proxy {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self {
            address: listener.local_addr().unwrap(),
            listener: Mutex::new(Some(listener)),
            state: Arc::default(),
        }
    }

    /// Starts forwarding every connection to `target` (`http://host:port`).
    pub fn forward_to(&self, target: &str) {
        let target: SocketAddr = target.trim_start_matches("http://").parse().unwrap();
        let listener = self.listener.lock().unwrap().take().unwrap();
        let state = self.state.clone();
        state.open.store(true, Ordering::SeqCst);
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                if !state.open.load(Ordering::SeqCst) {
                    continue;
                }
                let task = tokio::spawn(relay(client, target, state.clone()));
                state.connections.lock().unwrap().push(task);
            }
        });
    }

    /// Closes every open connection and refuses new ones until `reopen`.
    pub fn cut(&self) {
        self.state.open.store(false, Ordering::SeqCst);
        for connection in self.state.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    pub fn reopen(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    /// The request lines (`GET /path?query HTTP/1.1`) clients sent so far, oldest first.
    pub fn request_lines(&self) -> Vec<String> {
        self.state.request_lines.lock().unwrap().clone()
    }
}

async fn relay(client: TcpStream, target: SocketAddr, state: Arc<State>) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_reads, mut client_writes) = client.into_split();
    let (mut server_reads, mut server_writes) = server.into_split();
    let upstream = async {
        let mut buffer = vec![0; 16 * 1024];
        while let Ok(read @ 1..) = client_reads.read(&mut buffer).await {
            let text = String::from_utf8_lossy(&buffer[..read]);
            let lines = text
                .lines()
                .filter(|line| line.starts_with("GET ") || line.starts_with("POST "));
            state
                .request_lines
                .lock()
                .unwrap()
                .extend(lines.map(str::to_owned));
            if server_writes.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
    };
    let downstream = tokio::io::copy(&mut server_reads, &mut client_writes);
    // Either side closing ends the connection.
    tokio::select! {
        () = upstream => {}
        _ = downstream => {}
    }
}
