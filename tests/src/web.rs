//! Talking to a running dashboard as curl or a browser would: raw HTTP/1.1 requests over a
//! real socket (from any loopback address, to play another machine), and logging in with
//! the one-time link of `orchestractl web link`.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::{TestEnv, wait_until};

/// A TCP connection to `127.0.0.1:port` from the local address `from` (any of 127.0.0.0/8
/// is this machine, so a test can be two clients with different addresses).
pub fn connect_from(from: Ipv4Addr, port: u16) -> TcpStream {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    let fd: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("a socket");
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(SocketAddrV4::new(from, 0)),
    )
    .unwrap_or_else(|err| panic!("bind to {from}: {err}"));
    connect(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)),
    )
    .expect("connect to the dashboard");
    TcpStream::from(fd)
}

/// One HTTP/1.1 request to `127.0.0.1:port` (Host `127.0.0.1:port` unless `headers` name
/// one); returns (status, head, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    http_from(Ipv4Addr::LOCALHOST, port, method, path, headers, body)
}

/// [`http`] from the local address `from`.
pub fn http_from(
    from: Ipv4Addr,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = connect_from(from, port);
    let has = |wanted: &str| {
        headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
    };
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    if !has("host") {
        request.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    if !has("connection") {
        request.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).expect("write");
    // A successful WebSocket upgrade keeps the connection open: read what comes in time.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    read_response(&mut stream)
}

/// Reads an answer to its end: (status, head, body); status 0 when there was none.
fn read_response(stream: &mut impl std::io::Read) -> (u16, String, String) {
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// The `Set-Cookie` line of a response head, if any.
pub fn set_cookie(head: &str) -> Option<&str> {
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
}

/// `name=value` of a `Set-Cookie` line: what a browser sends back.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split_once(':')
        .and_then(|(_, v)| v.trim().split(';').next())
        .expect("name=value")
        .to_owned()
}

/// `orchestractl web link --port PORT --json`, once the dashboard on `port` has told the
/// daemon it serves there (it does so just after it starts listening).
pub fn login_link(env: &TestEnv, port: u16) -> serde_json::Value {
    let port = port.to_string();
    let mut link = None;
    wait_until("`web link` finds the dashboard", || {
        let out = env.ctl(&["web", "link", "--port", &port, "--json"]);
        link = out
            .status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("web link --json"));
        link.is_some()
    });
    link.expect("a link")
}

/// The path and query of a login link (`/login?token=...`).
pub fn link_path(link: &serde_json::Value) -> String {
    let url = link["url"].as_str().expect("url");
    let rest = url.split_once("://").expect("a URL").1;
    rest[rest.find('/').expect("a path")..].to_owned()
}

/// Logs in to the plain-HTTP dashboard on `port` as its user does; returns the cookie to
/// send (`orchestra_token=...`).
pub fn login_cookie(env: &TestEnv, port: u16) -> String {
    let link = login_link(env, port);
    let (status, head, body) = http(port, "GET", &link_path(&link), &[], "");
    assert_eq!(status, 303, "the login link logs in: {head}\n{body}");
    cookie_pair(set_cookie(&head).expect("a cookie"))
}

/// A running `orchestra-dashboard`, killed on drop, with what it printed.
#[derive(Debug)]
pub struct Dashboard {
    /// The process.
    child: std::process::Child,
    /// Its port.
    pub port: u16,
    /// The pairing code it printed (LAN mode).
    pub code: Option<String>,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dashboard {
    /// Starts the daemon and `orchestra-dashboard --port 0 ARGS`; returns once it printed
    /// its port (and, with `--lan`, its pairing code).
    pub fn start(env: &TestEnv, args: &[&str]) -> Dashboard {
        use std::io::BufRead as _;
        env.ctl_ok(&["daemon", "start"]);
        let lan = args.contains(&"--lan");
        let mut child = env
            .command(crate::bin("orchestra-dashboard"))
            .args(["--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("orchestra-dashboard");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut port, mut code) = (None, None);
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(rest) = line
                .strip_prefix("dashboard listening on http://127.0.0.1:")
                .or_else(|| line.strip_prefix("dashboard listening on https://127.0.0.1:"))
            {
                port = rest.trim_end_matches('/').parse().ok();
            }
            if let Some(rest) = line.strip_prefix("pairing code: ") {
                code = Some(rest.trim().to_owned());
            }
            if port.is_some() && (!lan || code.is_some()) {
                break;
            }
        }
        // Keep draining stdout so the dashboard never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Dashboard {
            child,
            port: port.expect("the dashboard printed its port"),
            code,
        }
    }
}

/// One HTTPS request to `127.0.0.1:port` with rustls, trusting only the certificate in
/// `cert_pem` (so it fails unless the server presents exactly that certificate for
/// 127.0.0.1); returns (status, head, body).
pub fn https(
    cert_pem: &std::path::Path,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert_pem).expect("cert file") {
        roots.add(cert.expect("a PEM certificate")).expect("a root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = "127.0.0.1".try_into().expect("a server name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("client");
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    tls.write_all(request.as_bytes())
        .expect("the handshake succeeds with the trusted certificate");
    read_response(&mut tls)
}

/// Opens a WebSocket on `path` of the dashboard on `port` with `headers` (Origin, Cookie);
/// returns the stream after the `101`, or the refusal (head and body).
pub fn upgrade(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    if head.starts_with("HTTP/1.1 101") {
        return Ok(stream);
    }
    // The connection may stay open after a refusal: read its body by length.
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = stream.read_exact(&mut body);
    Err(format!("{head}{}", String::from_utf8_lossy(&body)))
}

/// Reads server frames (answering nothing) until a close frame, the end of the stream or
/// `within`; returns the close code and reason (`None` for an end without a close frame).
/// Panics if the socket is still open after `within`.
pub fn until_close(stream: &mut TcpStream, within: Duration) -> Option<(u16, String)> {
    let deadline = std::time::Instant::now() + within;
    let mut read = |buf: &mut [u8]| -> Result<(), ()> {
        let mut done = 0;
        while done < buf.len() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "the socket is still open after {within:?}");
            stream.set_read_timeout(Some(left)).expect("timeout");
            match stream.read(&mut buf[done..]) {
                Ok(0) => return Err(()),
                Ok(n) => done += n,
                Err(err)
                    if err.kind() == std::io::ErrorKind::WouldBlock
                        || err.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return Err(()),
            }
        }
        Ok(())
    };
    loop {
        let mut head = [0u8; 2];
        read(&mut head).ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                read(&mut n).ok()?;
                u16::from_be_bytes(n) as usize
            }
            127 => {
                let mut n = [0u8; 8];
                read(&mut n).ok()?;
                u64::from_be_bytes(n) as usize
            }
            n => n as usize,
        };
        let mut payload = vec![0u8; len];
        read(&mut payload).ok()?;
        if head[0] & 0x0f == 0x8 {
            let code = payload
                .get(..2)
                .map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
            return Some((
                code,
                String::from_utf8_lossy(payload.get(2..).unwrap_or(&[])).into_owned(),
            ));
        }
    }
}

/// Reads one server frame of a WebSocket from [`upgrade`] and returns its payload as text
/// (server frames are not masked; one frame per message, as the dashboard sends them).
pub fn read_text_frame(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let len = match head[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b)?;
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b)?;
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    String::from_utf8(payload).map_err(std::io::Error::other)
}
