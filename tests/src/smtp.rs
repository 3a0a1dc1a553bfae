//! A real SMTP server for the mail tests: a small sink on a free port that speaks enough of
//! RFC 5321 for `lettre` (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and
//! keeps every message it received. It can be told to stall the next message, before or after
//! its DATA arrives, to stand for a server that never answers while the sending worker is
//! killed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Where to hold the next message without answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// At `MAIL FROM`: nothing of the message arrives.
    BeforeData,
    /// After the message's data arrived, before `250`: the sink has it, the sender never hears.
    AfterData,
}

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body), CRLF line ends, dot-unstuffed.
    pub data: String,
}

impl Received {
    /// A header's value (unfolded), by case-insensitive name, from the top-level headers.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.trim().eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    #[must_use]
    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }

    /// The whole message with quoted-printable soft breaks and `=3D` undone, for finding text
    /// in a body.
    #[must_use]
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The decoded bodies of the parts whose `Content-Type` is `content_type`
    /// (base64-encoded parts only, as attachments are).
    #[must_use]
    pub fn attachments(&self, content_type: &str) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        for part in self.data.split("\r\n--") {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let head_lower = head.to_ascii_lowercase();
            if !head_lower.contains(&format!("content-type: {content_type}"))
                || !head_lower.contains("content-transfer-encoding: base64")
            {
                continue;
            }
            let encoded: String = body
                .split("\r\n")
                .take_while(|l| !l.is_empty() && !l.starts_with("--"))
                .collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
                found.push(bytes);
            }
        }
        found
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    stall: Option<Stall>,
}

/// A running sink; it stops with the test's runtime.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("port", &self.port)
            .finish()
    }
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, state).await;
                });
            }
        });
        Self { port, state }
    }

    /// The `IMPRINT_SMTP_URL` that reaches this sink.
    #[must_use]
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Messages received so far for `recipient`.
    #[must_use]
    pub fn received_by(&self, recipient: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(recipient)))
            .collect()
    }

    /// Holds the next message at `stall` without answering (once).
    pub fn stall_next(&self, stall: Stall) {
        self.lock().stall = Some(stall);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn take_stall(state: &Mutex<State>, at: Stall) -> bool {
    let mut s = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if s.stall == Some(at) {
        s.stall = None;
        true
    } else {
        false
    }
}

/// Never answers again: the sender times out or is killed.
async fn hang() {
    tokio::time::sleep(Duration::from_secs(600)).await;
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 imprint-test-sink ESMTP\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                write
                    .write_all(b"250-imprint-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            }
            "HELO" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "RSET" => {
                mail_from.clear();
                rcpt_to.clear();
                write.write_all(b"250 OK\r\n").await?;
            }
            "MAIL" => {
                if take_stall(&state, Stall::BeforeData) {
                    hang().await;
                    return Ok(());
                }
                mail_from = address(&command);
                rcpt_to.clear();
                write.write_all(b"250 OK\r\n").await?;
            }
            "RCPT" => {
                rcpt_to.push(address(&command));
                write.write_all(b"250 OK\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        // The sender went away mid-message: nothing was delivered.
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(unstuffed);
                }
                let stall = take_stall(&state, Stall::AfterData);
                state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .received
                    .push(Received {
                        mail_from: mail_from.clone(),
                        rcpt_to: rcpt_to.clone(),
                        data,
                    });
                if stall {
                    hang().await;
                    return Ok(());
                }
                write.write_all(b"250 OK queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 command not implemented\r\n").await?,
        }
    }
}

/// The address inside `<…>` of a `MAIL FROM:`/`RCPT TO:` command.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}
