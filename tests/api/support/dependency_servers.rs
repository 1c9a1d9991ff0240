//! A Redis and a Postgres that a test starts, stops and starts again on a free port of its
//! own, to take a dependency away from a running node (the shared servers stay untouched).

use std::path::{Path, PathBuf};
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

/// Waits until `child` accepts connections on every one of `ports` (true), or exits (false).
async fn listening_unless_exited(child: &mut Child, ports: &[u16]) -> bool {
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let mut listening = true;
        for port in ports {
            listening &= tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .is_ok();
        }
        if listening {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing listens on ports {ports:?}");
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

/// A Redis Cluster of three masters, each with a replica, on free ports of its own, for a test
/// that kills a master: a node is taken for failed after a second (`cluster-node-timeout`).
/// Its nodes are killed when it is dropped.
pub struct RedisCluster {
    folder: PathBuf,
    /// Each node's port, and its process while it runs.
    nodes: Vec<(u16, Option<Child>)>,
}

impl RedisCluster {
    pub async fn start() -> Self {
        let folder = std::env::temp_dir().join(format!("sesame-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let mut nodes = Vec::new();
        while nodes.len() < 6 {
            let (port, child) = Self::start_node(&folder).await;
            nodes.push((port, Some(child)));
        }
        let cluster = Self { folder, nodes };
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(
                cluster
                    .nodes
                    .iter()
                    .map(|(port, _)| format!("127.0.0.1:{port}")),
            )
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli is installed");
        assert!(output.status.success(), "{output:?}");
        cluster.wait_until_serving(None).await;
        // A replica that has not synced with its master refuses to replace it.
        for _ in 0..300 {
            if cluster.replicas_synced() {
                return cluster;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the replicas did not sync with their masters within 30 s");
    }

    /// A node on a free port whose cluster bus port (the port + 10000) was free too, once it
    /// accepts connections on both. Other tests open connections meanwhile, and one may take
    /// either port between the check and the node's bind: a node that exits at start-up is
    /// started again on other ports.
    async fn start_node(folder: &Path) -> (u16, Child) {
        loop {
            let port = free_port();
            if port > 55_535 || std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_err() {
                continue;
            }
            let mut child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(folder)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            if listening_unless_exited(&mut child, &[port, port + 10_000]).await {
                return (port, child);
            }
        }
    }

    fn replicas_synced(&self) -> bool {
        let replicas = self.live().filter_map(|port| {
            let info = self.cli(port, &["info", "replication"]);
            info.contains("role:slave").then_some(info)
        });
        let synced: Vec<bool> = replicas
            .map(|info| info.contains("master_link_status:up"))
            .collect();
        synced.len() == 3 && synced.iter().all(|up| *up)
    }

    /// Its nodes, as `SESAME_REDIS_URL` lists them.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self
            .nodes
            .iter()
            .map(|(port, _)| format!("redis://127.0.0.1:{port}"))
            .collect();
        urls.join(",")
    }

    /// The port of the master that serves the keys of hash tag `tag`.
    pub fn master_of(&self, tag: &str) -> u16 {
        let slot = key_slot(tag);
        let asked = self.cli(self.live().next().unwrap(), &["cluster", "keyslot", tag]);
        assert_eq!(asked.trim(), slot.to_string(), "the slot of {tag}");
        self.serving(slot)
            .unwrap_or_else(|| panic!("no live master serves slot {slot}"))
    }

    fn serving(&self, slot: u16) -> Option<u16> {
        self.slots()
            .into_iter()
            .find_map(|(slots, port)| slots.contains(&slot).then_some(port))
    }

    /// The slots each live master serves, as one live node sees them.
    pub fn slots(&self) -> Vec<(std::ops::RangeInclusive<u16>, u16)> {
        let nodes = self.cli(self.live().next().unwrap(), &["cluster", "nodes"]);
        let mut slots = Vec::new();
        for line in nodes.lines() {
            // id address flags master ping pong epoch link slot…
            let fields: Vec<&str> = line.split(' ').collect();
            let flags: Vec<&str> = fields[2].split(',').collect();
            if !flags.contains(&"master") || flags.iter().any(|flag| flag.starts_with("fail")) {
                continue;
            }
            let address = fields[1].split('@').next().unwrap();
            let port: u16 = address.rsplit(':').next().unwrap().parse().unwrap();
            for range in &fields[8..] {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                slots.push((first.parse().unwrap()..=last.parse().unwrap(), port));
            }
        }
        slots
    }

    /// Kills the node on `port` with SIGKILL, as a crash would.
    pub fn kill(&mut self, port: u16) {
        let (_, child) = self.nodes.iter_mut().find(|(p, _)| *p == port).unwrap();
        let mut child = child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Whether every live node says `cluster_state:ok` and, after `killed` failed, another
    /// master serves what it served.
    pub fn serves(&self, killed: Option<(u16, &str)>) -> bool {
        self.live().all(|port| {
            self.cli(port, &["cluster", "info"])
                .lines()
                .any(|line| line.trim() == "cluster_state:ok")
        }) && killed.is_none_or(|(port, tag)| {
            self.serving(key_slot(tag))
                .is_some_and(|master| master != port)
        })
    }

    /// Waits until `serves(killed)`: a bound against hanging, not a measure of speed.
    pub async fn wait_until_serving(&self, killed: Option<(u16, &str)>) {
        for _ in 0..300 {
            if self.serves(killed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the cluster did not serve every slot within 30 s");
    }

    fn live(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes
            .iter()
            .filter(|(_, child)| child.is_some())
            .map(|(port, _)| *port)
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(mut child) = child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// The cluster slot of a key whose hash tag is `tag`: CRC16 (XMODEM) modulo 16384.
pub fn key_slot(tag: &str) -> u16 {
    let mut crc: u16 = 0;
    for byte in tag.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            };
        }
    }
    crc % 16_384
}
