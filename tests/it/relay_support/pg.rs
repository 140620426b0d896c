//! A throwaway PostgreSQL cluster for the relay tests (`initdb` + `pg_ctl` on a free loopback
//! port in a temp dir, run as `nobody` when the tests run as root, since `initdb` refuses
//! root), and a small TCP load balancer in front of several relay instances.
//!
//! Without PostgreSQL binaries a test prints `skipped ...` and returns, unless `CI=true`,
//! where it fails. `KASSE_PG_BINDIR` points at the binaries when they are elsewhere than
//! `/usr/lib/postgresql/<version>/bin`, `pg_config --bindir` or `PATH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A running cluster; stopped (immediate) and removed on drop.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    dir: tempfile::TempDir,
    /// User and group ids to run as (we are root).
    run_as: Option<(u32, u32)>,
    /// More server options (`-c name=value ...`).
    extra: String,
    pub port: u16,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub url: String,
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn has_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// The directory holding `initdb` and `pg_ctl`.
fn find_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KASSE_PG_BINDIR") {
        return Some(PathBuf::from(dir)).filter(|d| has_tools(d));
    }
    // Debian: /usr/lib/postgresql/<major>/bin, newest first.
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_tools(d))
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The unprivileged account to run PostgreSQL as when we are root, with its uid and gid.
fn unprivileged() -> Option<(String, u32, u32)> {
    if output(Command::new("id").arg("-u"))?.as_str() != "0" {
        return None;
    }
    for user in ["nobody", "postgres"] {
        let uid = output(Command::new("id").args(["-u", user])).and_then(|s| s.parse().ok());
        let gid = output(Command::new("id").args(["-g", user])).and_then(|s| s.parse().ok());
        if let (Some(uid), Some(gid)) = (uid, gid) {
            return Some((user.to_string(), uid, gid));
        }
    }
    panic!("running as root and no unprivileged user (nobody, postgres) to run PostgreSQL as");
}

/// A port that was free a moment ago (PostgreSQL cannot be given port 0).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl PgCluster {
    /// Start a fresh cluster, or `None` after printing `skipped <test>: ...` when no PostgreSQL
    /// is installed (outside CI; in CI it panics).
    pub fn start(test: &str) -> Option<PgCluster> {
        PgCluster::start_with(test, false).map(|(c, _)| c)
    }

    /// A cluster that also takes TLS connections, with a certificate for 127.0.0.1 and
    /// localhost from a throwaway CA; returns the CA's PEM file too. Needs `openssl`.
    pub fn start_tls(test: &str) -> Option<(PgCluster, PathBuf)> {
        PgCluster::start_with(test, true).map(|(c, ca)| (c, ca.expect("CA file")))
    }

    fn start_with(test: &str, tls: bool) -> Option<(PgCluster, Option<PathBuf>)> {
        let Some(bin) = find_bindir() else {
            assert!(
                !ci(),
                "CI=true but no PostgreSQL binaries (initdb, pg_ctl) were found: install \
                 postgresql or set KASSE_PG_BINDIR"
            );
            println!(
                "skipped {test}: no PostgreSQL binaries (initdb, pg_ctl); install postgresql or \
                 set KASSE_PG_BINDIR"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("kasse-relay-pg-")
            .tempdir()
            .expect("temp dir");
        let run_as = unprivileged().map(|(_, uid, gid)| {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
            (uid, gid)
        });
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");
        let mut cluster = PgCluster {
            bin,
            data,
            log,
            dir,
            run_as,
            extra: String::new(),
            port: 0,
            url: String::new(),
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                cluster.data.to_str().expect("utf-8 path"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        );
        let ca = tls.then(|| cluster.make_certificates());
        // The port may be taken between choosing and binding it: try a few.
        for attempt in 0..5 {
            cluster.port = free_port();
            if cluster.try_start() {
                cluster.url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
                return Some((cluster, ca));
            }
            eprintln!(
                "PostgreSQL did not start on port {} (attempt {attempt})",
                cluster.port
            );
        }
        panic!(
            "PostgreSQL did not start; its log:\n{}",
            std::fs::read_to_string(&cluster.log).unwrap_or_default()
        );
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = match &self.run_as {
            Some((user, group)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={user}"))
                    .arg(format!("--regid={group}"))
                    .args(["--clear-groups", "--"])
                    .arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.current_dir(self.dir.path()).env_remove("PGDATA");
        c
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A CA and a server certificate signed by it; the server is told to use them.
    fn make_certificates(&mut self) -> PathBuf {
        let dir = self.dir.path();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("run openssl (install it for the TLS test)");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=kasse test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("write san.ext");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        ]);
        let key = dir.join("server.key");
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                .expect("chmod key");
        }
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&key, Some(uid), Some(gid)).expect("chown key");
        }
        self.extra = format!(
            "-c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            dir.join("server.crt").display(),
            key.display()
        );
        dir.join("ca.pem")
    }

    fn try_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 {}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        self.command("pg_ctl")
            .args(["-D", self.data.to_str().expect("utf-8 path")])
            .args(["-l", self.log.to_str().expect("utf-8 path")])
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Stop the server (`fast`: what a restart by an operator does).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().expect("utf-8 path"),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
        );
    }

    /// Start it again on the same port.
    pub fn start_again(&self) {
        assert!(
            self.try_start(),
            "PostgreSQL did not start again; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// `--db` for the relay.
    pub fn db(&self) -> &Path {
        Path::new(&self.url)
    }

    /// A connection for assertions on rows.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test cluster");
        tokio::spawn(conn);
        client
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                self.data.to_str().unwrap_or_default(),
                "-w",
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// A TCP load balancer on loopback: each new connection goes to the next target (round robin)
/// that accepts a connection, as a balancer with health checks would.
pub struct Balancer {
    pub addr: std::net::SocketAddr,
}

impl Balancer {
    pub async fn start(targets: Vec<String>) -> Balancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind balancer");
        let addr = listener.local_addr().expect("balancer addr");
        tokio::spawn(async move {
            let mut next = 0usize;
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let start = next;
                next = next.wrapping_add(1);
                let targets = targets.clone();
                tokio::spawn(async move {
                    for i in 0..targets.len() {
                        let target = &targets[(start + i) % targets.len()];
                        let connect = tokio::net::TcpStream::connect(target);
                        if let Ok(Ok(mut outbound)) =
                            tokio::time::timeout(Duration::from_secs(2), connect).await
                        {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            return;
                        }
                    }
                });
            }
        });
        Balancer { addr }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).expect("balancer URL")
    }
}
