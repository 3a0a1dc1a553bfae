//! Partner webhooks: the events a partner can subscribe to, the signature they verify, the
//! schedule failed deliveries are retried on, and which URLs may receive them.
//!
//! # Signature
//!
//! Every delivery carries a header
//!
//! ```text
//! Imprint-Signature: t=1700000000,v1=75ce8f0b…
//! ```
//!
//! where `t` is the Unix time of the attempt and `v1` is the lowercase hex of
//! HMAC-SHA256(key = the webhook's signing secret as UTF-8, message = `"{t}.{body}"`), `body`
//! being the exact bytes of the request body. While a rotated secret is still honoured, the
//! header holds one `v1` per secret (`t=…,v1=<new>,v1=<old>`); a receiver accepts the request
//! when any `v1` matches. [`verify`] is the reference receiver, small enough to copy: it checks
//! the signature in constant time and refuses a timestamp further than a tolerance from now,
//! so a captured request cannot be replayed later.
//!
//! # Retries
//!
//! A delivery is an attempt to POST one event to one webhook. Any answer other than a 2xx
//! (redirects are not followed), a timeout or a connection failure fails the attempt, and
//! [`RetrySchedule`] says when to try again: by default after 30 s, 2 min, 8 min, 32 min,
//! 2 h 8 min, 8 h 32 min and 12 h, so the 8th and last attempt comes about 23 hours after the
//! first; then the delivery is `failed`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::enums::string_enum;

string_enum! {
    /// What happened, as a partner subscribes to it; the word is the body's `type`.
    pub enum WebhookEvent: "webhook event" {
        /// A statement finished parsing: its lines, counts and totals are final.
        StatementParsed => "statement.parsed",
        /// A payout run changed status.
        PayoutRunUpdated => "payout_run.updated",
    }
}

string_enum! {
    /// Where one delivery stands.
    pub enum DeliveryStatus: "webhook delivery status" {
        /// Waiting for its first or next attempt.
        Pending => "pending",
        /// A 2xx answer was received; final.
        Delivered => "delivered",
        /// Every attempt failed (or the webhook was disabled); final until redelivered.
        Failed => "failed",
    }
}

/// The request header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Imprint-Signature";

/// The request header that names the event type, for routing before the body is parsed.
pub const EVENT_HEADER: &str = "Imprint-Event";

/// The request header that names the delivery (its global id), as shown in the delivery log.
pub const DELIVERY_HEADER: &str = "Imprint-Delivery";

/// How far a signature's timestamp may be from the receiver's clock, by default.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// How signing secrets start, so that one found in a log or a repository is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
#[must_use]
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The `v1` signature: lowercase hex of HMAC-SHA256(`secret`, `"{timestamp}.{body}"`).
#[must_use]
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    to_hex(&hmac_sha256(secret.as_bytes(), &message))
}

/// The [`SIGNATURE_HEADER`] value: `t={timestamp}` and one `v1=` per secret, in order.
#[must_use]
pub fn signature_header(timestamp: i64, body: &[u8], secrets: &[&str]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&signature(secret, timestamp, body));
    }
    header
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<unix>,v1=<hex>[,v1=<hex>…]`.
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    /// The header has a timestamp but no `v1` signature.
    #[error("the signature header has no v1 signature")]
    NoSignature,
    /// No `v1` signature matches the body under this secret.
    #[error("no signature matches the body and the secret")]
    Mismatch,
    /// The signature matches, but it was made longer ago (or further ahead) than allowed.
    #[error("the signature is {age_secs} s from now, more than the {tolerance_secs} s allowed")]
    OutsideTolerance {
        /// `now - t`, negative for a timestamp in the future.
        age_secs: i64,
        tolerance_secs: i64,
    },
}

/// Verifies a delivery as a receiver should: `header` is the [`SIGNATURE_HEADER`] value, `body`
/// the raw request body (before any JSON parsing), `now_unix` the receiver's clock.
///
/// Returns the signed timestamp.
///
/// # Errors
/// A [`SignatureError`] saying why the request must be refused.
pub fn verify(
    header: &str,
    body: &[u8],
    secret: &str,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("every part is key=value"))?;
        match key.trim() {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one timestamp"));
                }
                let t = value
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("the timestamp is not a number"))?;
                timestamp = Some(t);
            }
            "v1" => candidates.push(value.trim().to_ascii_lowercase()),
            // Other schemes (a future v2) are for receivers that know them.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no timestamp"))?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let expected = signature(secret, timestamp, body);
    // Check every candidate, so the time taken does not tell which one matched.
    let matched = candidates.iter().fold(false, |found, candidate| {
        constant_time_eq(candidate.as_bytes(), expected.as_bytes()) | found
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age_secs = now_unix.saturating_sub(timestamp);
    if age_secs.unsigned_abs() > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance {
            age_secs,
            tolerance_secs,
        });
    }
    Ok(timestamp)
}

/// Compares in time that depends only on the lengths, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// When to try a failed delivery again: `first_delay`, then each delay `multiplier` times the
/// one before, never more than `max_delay`, for at most `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first_delay: Duration,
    pub multiplier: u32,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again after this long.
    RetryIn(Duration),
    /// That was the last attempt: the delivery has failed.
    GiveUp,
}

impl RetrySchedule {
    /// 30 s, 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, 12 h: eight attempts over about 23 h.
    pub const DEFAULT: RetrySchedule = RetrySchedule {
        first_delay: Duration::from_secs(30),
        multiplier: 4,
        max_delay: Duration::from_secs(12 * 3600),
        max_attempts: 8,
    };

    /// The wait after the `failed_attempts`-th failure (1 for the first).
    #[must_use]
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1);
        let factor = self.multiplier.checked_pow(exponent).unwrap_or(u32::MAX);
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_delay)
    }

    /// What to do once `failed_attempts` attempts (counting the one that just failed) have
    /// failed.
    #[must_use]
    pub fn after_failure(&self, failed_attempts: u32) -> NextAttempt {
        if failed_attempts >= self.max_attempts {
            NextAttempt::GiveUp
        } else {
            NextAttempt::RetryIn(self.delay(failed_attempts))
        }
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The longest URL a webhook may have.
pub const MAX_URL_CHARS: usize = 2048;

/// Why a URL cannot receive webhooks; the message is fit to show to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("a URL is required")]
    Empty,
    #[error("the URL is longer than {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("the URL contains spaces or control characters; percent-encode them")]
    Whitespace,
    #[error(
        "the URL contains characters outside ASCII; use the punycode host and percent-encoding"
    )]
    NotAscii,
    #[error("give an absolute URL starting with https:// (or http://)")]
    NotAbsolute,
    #[error("`{0}` URLs cannot receive webhooks; use https:// (or http://)")]
    UnsupportedScheme(String),
    #[error("the URL has no host")]
    MissingHost,
    #[error("`{0}` is not a valid host name or IP address")]
    InvalidHost(String),
    #[error("`{0}` is not a port number between 1 and 65535")]
    InvalidPort(String),
    #[error("the URL must not contain a user name or password; authenticate with the signature")]
    Credentials,
    #[error("the URL must not contain a #fragment: it is never sent to the server")]
    Fragment,
    #[error(
        "`{0}` is a loopback, private or reserved address: webhooks are delivered to the public internet"
    )]
    PrivateAddress(String),
}

/// An absolute `http` or `https` URL with a host, fit to POST deliveries to. The scheme and
/// host are lowercased; the rest is kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// # Errors
    /// A [`UrlError`] saying what is wrong with it.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let url = input.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if url.chars().count() > MAX_URL_CHARS {
            return Err(UrlError::TooLong);
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Whitespace);
        }
        if !url.is_ascii() {
            return Err(UrlError::NotAscii);
        }
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotAbsolute)?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(UrlError::NotAbsolute);
        }
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(UrlError::UnsupportedScheme(scheme));
        }
        if rest.contains('#') {
            return Err(UrlError::Fragment);
        }
        let authority_end = rest.find(['/', '?', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(UrlError::MissingHost);
        }
        check_host(host)?;
        if let Some(port) = port {
            let valid = !port.is_empty()
                && port.chars().all(|c| c.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p > 0);
            if !valid {
                return Err(UrlError::InvalidPort(port.to_owned()));
            }
        }
        let mut normalised = format!("{scheme}://{}", host.to_ascii_lowercase());
        if let Some(port) = port {
            normalised.push(':');
            normalised.push_str(port);
        }
        normalised.push_str(tail);
        Ok(Self(normalised))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, lowercased; an IPv6 address keeps its brackets.
    #[must_use]
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        let authority = &rest[..rest.find(['/', '?', '\\']).unwrap_or(rest.len())];
        split_host_port(authority).map_or(authority, |(host, _)| host)
    }

    /// Refuses a URL whose host is plainly not on the public internet: an IP address that
    /// [`is_public_ip`] refuses, or `localhost`. A host name is resolved only when a delivery
    /// is sent, and its addresses are checked then (a name can point anywhere, and change).
    ///
    /// # Errors
    /// [`UrlError::PrivateAddress`].
    pub fn check_public(&self) -> Result<(), UrlError> {
        let host = self.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let private = match literal.parse::<IpAddr>() {
            Ok(ip) => !is_public_ip(ip),
            Err(_) => host == "localhost" || host.ends_with(".localhost"),
        };
        if private {
            return Err(UrlError::PrivateAddress(host.to_owned()));
        }
        Ok(())
    }
}

/// Whether an address belongs to the public internet, where webhook receivers are. Refused:
/// unspecified, loopback, private (RFC 1918, IPv6 unique local), link-local (cloud metadata
/// services answer at 169.254.169.254), shared (carrier-grade NAT), benchmarking,
/// documentation, multicast, broadcast and other reserved ranges, and IPv6 forms that embed a
/// refused IPv4 address. Delivering to them would let anyone who may create a webhook make the
/// server send requests inside its own network.
#[must_use]
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [.., a, b, c, d] = v6.octets();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // IPv4-compatible (deprecated) ::a.b.c.d
                || segments[..6] == [0; 6]
                // unique local fc00::/7
                || (segments[0] & 0xfe00) == 0xfc00
                // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfe80
                // site-local fec0::/10 (deprecated, still routed privately)
                || (segments[0] & 0xffc0) == 0xfec0
                // documentation 2001:db8::/32
                || (segments[0] == 0x2001 && segments[1] == 0x0db8)
                // discard-only 100::/64
                || segments[..4] == [0x100, 0, 0, 0])
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        // 0.0.0.0/8 "this network"
        || a == 0
        // 100.64.0.0/10 shared address space (carrier-grade NAT)
        || (a == 100 && (b & 0xc0) == 64)
        // 192.0.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15 benchmarking
        || (a == 198 && (b & 0xfe) == 18)
        // 240.0.0.0/4 reserved
        || a >= 240)
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `host[:port]` or `[ipv6][:port]`.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlError::InvalidHost(authority.to_owned()))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::InvalidHost(authority.to_owned()));
        }
        let host = &authority[..inside.len() + 2];
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlError::InvalidHost(authority.to_owned())),
            },
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A bracketed IPv6 address (checked by the caller) or DNS labels of letters, digits, `-` and
/// `_`, separated by dots (a trailing dot is allowed), each at most 63 characters.
fn check_host(host: &str) -> Result<(), UrlError> {
    if host.starts_with('[') {
        return Ok(());
    }
    let invalid = || UrlError::InvalidHost(host.to_owned());
    let labels = host.strip_suffix('.').unwrap_or(host);
    if labels.len() > 253 {
        return Err(invalid());
    }
    for label in labels.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !ok {
            return Err(invalid());
        }
    }
    Ok(())
}

/// The events column: distinct event words, sorted, separated by spaces.
#[must_use]
pub fn join_events(events: &[WebhookEvent]) -> String {
    let mut words: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    words.sort_unstable();
    words.dedup();
    words.join(" ")
}

/// Reads the events column back.
///
/// # Errors
/// A word that is not an event.
pub fn split_events(column: &str) -> Result<Vec<WebhookEvent>, crate::enums::ParseEnumError> {
    column.split_whitespace().map(str::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1: a 20-byte key.
        assert_eq!(
            to_hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2: a key shorter than the output.
        assert_eq!(
            to_hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block, hashed first.
        assert_eq!(
            to_hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // A key of exactly one block is used as is.
        assert_eq!(
            to_hex(&hmac_sha256(&unhex(&"0b".repeat(64)), b"Hi There")).len(),
            64
        );
    }

    const BODY: &[u8] = br#"{"id":"statement.parsed:1","type":"statement.parsed"}"#;
    const SECRET: &str = "whsec_test_secret";
    // printf '%s' '1700000000.<BODY>' | openssl dgst -sha256 -hmac whsec_test_secret
    const KNOWN: &str = "75ce8f0bf1af6d853bd9b80c94fb620be87bf3c0e7d6bbaee23827c22d5d8c61";

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        assert_eq!(signature(SECRET, 1_700_000_000, BODY), KNOWN);
        assert_eq!(
            signature_header(1_700_000_000, BODY, &[SECRET]),
            format!("t=1700000000,v1={KNOWN}")
        );
        let two = signature_header(1_700_000_000, BODY, &[SECRET, "whsec_old"]);
        assert!(two.starts_with(&format!("t=1700000000,v1={KNOWN},v1=")));
        assert_eq!(two.matches("v1=").count(), 2);
    }

    #[test]
    fn verify_accepts_a_fresh_matching_signature() {
        let header = signature_header(1_700_000_000, BODY, &[SECRET]);
        assert_eq!(
            verify(&header, BODY, SECRET, 1_700_000_100, 300),
            Ok(1_700_000_000)
        );
        // Spaces, upper-case hex, unknown schemes and the order of parts do not matter.
        let loose =
            format!("v0=abc, V1={} , t=1700000000", KNOWN.to_uppercase()).replace("V1", "v1");
        assert_eq!(
            verify(&loose, BODY, SECRET, 1_700_000_000, 300),
            Ok(1_700_000_000)
        );
        // With a rotated secret, either one verifies.
        let both = signature_header(1_700_000_000, BODY, &["whsec_new", SECRET]);
        assert!(verify(&both, BODY, SECRET, 1_700_000_000, 300).is_ok());
        assert!(verify(&both, BODY, "whsec_new", 1_700_000_000, 300).is_ok());
    }

    #[test]
    fn verify_refuses_tampering_replay_and_garbage() {
        let header = signature_header(1_700_000_000, BODY, &[SECRET]);
        assert_eq!(
            verify(&header, b"{}", SECRET, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, BODY, "whsec_other", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = header.replace("t=1700000000", "t=1700000500");
        assert_eq!(
            verify(&moved, BODY, SECRET, 1_700_000_500, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, BODY, SECRET, 1_700_000_301, 300),
            Err(SignatureError::OutsideTolerance {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(matches!(
            verify(&header, BODY, SECRET, 1_699_999_000, 300),
            Err(SignatureError::OutsideTolerance {
                age_secs: -1000,
                ..
            })
        ));
        assert_eq!(
            verify("t=1700000000", BODY, SECRET, 1_700_000_000, 300),
            Err(SignatureError::NoSignature)
        );
        for bad in ["", "v1=abc", "t=soon,v1=abc", "t=1,t=2,v1=abc", "garbage"] {
            assert!(
                matches!(
                    verify(bad, BODY, SECRET, 1_700_000_000, 300),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn default_schedule_backs_off_to_a_cap_then_gives_up() {
        let s = RetrySchedule::DEFAULT;
        let minutes: Vec<u64> = (1..s.max_attempts).map(|n| s.delay(n).as_secs()).collect();
        assert_eq!(
            minutes,
            [30, 120, 480, 1920, 7680, 30720, 43200],
            "30 s, 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, then the 12 h cap"
        );
        for n in 1..s.max_attempts {
            assert_eq!(s.after_failure(n), NextAttempt::RetryIn(s.delay(n)));
        }
        assert_eq!(s.after_failure(8), NextAttempt::GiveUp);
        assert_eq!(s.after_failure(9), NextAttempt::GiveUp);
        let total: u64 = minutes.iter().sum();
        assert!((22 * 3600..24 * 3600).contains(&total), "{total}");
    }

    #[test]
    fn schedule_never_overflows() {
        let s = RetrySchedule {
            first_delay: Duration::from_millis(500),
            multiplier: 4,
            max_delay: Duration::from_secs(12 * 3600),
            max_attempts: u32::MAX,
        };
        assert_eq!(s.delay(1), Duration::from_millis(500));
        assert_eq!(s.delay(2), Duration::from_secs(2));
        assert_eq!(s.delay(0), Duration::from_millis(500));
        assert_eq!(s.delay(1_000), s.max_delay);
        assert_eq!(s.delay(u32::MAX), s.max_delay);
        let never = RetrySchedule {
            max_attempts: 1,
            ..RetrySchedule::DEFAULT
        };
        assert_eq!(never.after_failure(1), NextAttempt::GiveUp);
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        for (input, normalised) in [
            (
                "https://hooks.partner.example/imprint",
                "https://hooks.partner.example/imprint",
            ),
            (
                "  HTTPS://Hooks.Partner.Example:8443/In?Token=AbC ",
                "https://hooks.partner.example:8443/In?Token=AbC",
            ),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
            ("http://[::1]:8080/hook", "http://[::1]:8080/hook"),
            (
                "https://under_score.example./x",
                "https://under_score.example./x",
            ),
            ("https://example.com?x=1", "https://example.com?x=1"),
        ] {
            assert_eq!(
                WebhookUrl::parse(input).map(|u| u.to_string()),
                Ok(normalised.to_owned()),
                "{input}"
            );
        }
        for (input, error) in [
            ("", UrlError::Empty),
            ("   ", UrlError::Empty),
            ("example.com/hook", UrlError::NotAbsolute),
            ("/hook", UrlError::NotAbsolute),
            ("mailto:ops@example.com", UrlError::NotAbsolute),
            (
                "ftp://files.example.com/",
                UrlError::UnsupportedScheme("ftp".into()),
            ),
            (
                "javascript://x",
                UrlError::UnsupportedScheme("javascript".into()),
            ),
            ("https:///path", UrlError::MissingHost),
            ("https://:443/path", UrlError::MissingHost),
            ("https://user:pw@example.com/", UrlError::Credentials),
            ("https://example.com/#top", UrlError::Fragment),
            ("https://exa mple.com/", UrlError::Whitespace),
            ("https://example.com/a\nb", UrlError::Whitespace),
            ("https://bücher.example/", UrlError::NotAscii),
            ("https://example.com:0/", UrlError::InvalidPort("0".into())),
            (
                "https://example.com:99999/",
                UrlError::InvalidPort("99999".into()),
            ),
            (
                "https://example.com:/",
                UrlError::InvalidPort(String::new()),
            ),
            (
                "https://exa..mple.com/",
                UrlError::InvalidHost("exa..mple.com".into()),
            ),
            (
                "https://[not-ipv6]/",
                UrlError::InvalidHost("[not-ipv6]".into()),
            ),
            ("https://a%2eb/", UrlError::InvalidHost("a%2eb".into())),
        ] {
            assert_eq!(WebhookUrl::parse(input), Err(error), "{input:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(WebhookUrl::parse(&long), Err(UrlError::TooLong));
        assert!(
            UrlError::UnsupportedScheme("ftp".into())
                .to_string()
                .contains("use https://")
        );
    }

    #[test]
    fn event_words_round_trip_through_the_column() {
        assert_eq!(WebhookEvent::StatementParsed.as_str(), "statement.parsed");
        assert_eq!(
            WebhookEvent::PayoutRunUpdated.as_str(),
            "payout_run.updated"
        );
        let column = join_events(&[
            WebhookEvent::PayoutRunUpdated,
            WebhookEvent::StatementParsed,
            WebhookEvent::PayoutRunUpdated,
        ]);
        assert_eq!(column, "payout_run.updated statement.parsed");
        assert_eq!(
            split_events(&column),
            Ok(vec![
                WebhookEvent::PayoutRunUpdated,
                WebhookEvent::StatementParsed
            ])
        );
        assert!(split_events("statement.parsed release.created").is_err());
        assert_eq!(split_events(""), Ok(Vec::new()));
        assert_eq!("FAILED".parse(), Ok(DeliveryStatus::Failed));
    }

    #[test]
    fn only_public_addresses_receive_webhooks() {
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "198.20.0.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = public.parse().expect(public);
            assert!(is_public_ip(ip), "{public} is public");
        }
        for private in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
        ] {
            let ip: IpAddr = private.parse().expect(private);
            assert!(!is_public_ip(ip), "{private} is not public");
        }
    }

    #[test]
    fn urls_naming_a_private_host_are_refused() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://localhost:3000/hook",
            "https://api.LOCALHOST/hook",
            "http://[::ffff:192.168.0.1]/",
        ] {
            let parsed = WebhookUrl::parse(url).expect(url);
            assert!(
                matches!(parsed.check_public(), Err(UrlError::PrivateAddress(_))),
                "{url}"
            );
        }
        for url in [
            "https://hooks.partner.example/imprint",
            "https://93.184.216.34:8443/hook?x=1",
            "http://[2606:4700::1111]/",
            "https://localhost.partner.example/hook",
        ] {
            let parsed = WebhookUrl::parse(url).expect(url);
            assert_eq!(parsed.check_public(), Ok(()), "{url}");
        }
        assert_eq!(
            WebhookUrl::parse("https://[::1]:9/x").expect("url").host(),
            "[::1]"
        );
        assert_eq!(
            WebhookUrl::parse("https://Hooks.Example/x?y")
                .expect("url")
                .host(),
            "hooks.example"
        );
    }
}
