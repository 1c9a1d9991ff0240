//! A Redis and a Postgres that a test starts, stops and starts again on a free port of its
//! own, to take a dependency away from a running node (the shared servers stay untouched).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_port;

/// Waits until something accepts connections on `port`.
async fn wait_listening(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on port {port}");
}

/// `redis-server` on its own port, without persistence.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    pub async fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
        };
        server.resume().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).unwrap();
            assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
            child.wait().unwrap();
        }
    }

    /// Starts the server again on the same port; returns once it accepts connections.
    pub async fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        wait_listening(self.port).await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway Postgres cluster (`initdb` into a temporary folder, trust authentication),
/// managed with `pg_ctl`. Postgres refuses to run as root, so as root it runs as `postgres`.
pub struct PostgresCluster {
    port: u16,
    folder: PathBuf,
}

impl PostgresCluster {
    pub async fn start() -> Self {
        let folder = std::env::temp_dir().join(format!("sesame-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let cluster = Self {
            port: free_port(),
            folder,
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:", &cluster.folder.display().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
        }
        cluster.pg(
            "initdb",
            &["--auth=trust", "--username=postgres", "--no-sync", "-D"],
            &[cluster.data().as_str()],
        );
        cluster.resume().await;
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> String {
        self.folder.join("data").display().to_string()
    }

    /// Shuts the server down (fast mode: sessions are ended) and waits until it has.
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// Starts the server again on the same port; returns once it accepts connections.
    pub async fn resume(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.folder.display()
        );
        let log = self.folder.join("log").display().to_string();
        self.pg_ctl(&["-o", &options, "-l", &log, "start"]);
        wait_listening(self.port).await;
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        self.pg("pg_ctl", &["-w", "-D", &data], args);
    }

    /// Runs a Postgres program and asserts it succeeded.
    fn pg(&self, program: &str, options: &[&str], args: &[&str]) {
        let output = pg_command(program)
            .args(options)
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{program}: {output:?}");
    }
}

/// A Postgres program, run as `postgres` when this process is root.
fn pg_command(program: &str) -> Command {
    let program = format!("{PG_BIN}/{program}");
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", &program]);
        command
    } else {
        Command::new(program)
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = pg_command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}
