//! Mail: what Imprint tells people, through a transactional outbox.
//!
//! - [`outbox`]: writes mails into `mail_outbox` in the caller's transaction (the event's own),
//!   one per event and recipient, and queues their delivery once that transaction commits.
//! - [`crate::jobs::deliver_mail`]: claims a row, sends it over SMTP, marks it sent.
//! - [`digest`]: the weekly digest to a label's owners and admins, decided once per ISO week.
//! - [`Mailer`]: the SMTP settings (`IMPRINT_SMTP_URL`, `IMPRINT_MAIL_FROM`,
//!   `IMPRINT_PUBLIC_URL`) and the `lettre` transport they make. Without an SMTP URL, mails
//!   stay `pending` in the outbox, where the API shows them (`Organization.outbox`).
//!
//! Templates and keys are `domain::mail`'s.

pub mod digest;
pub mod outbox;

use std::sync::Arc;
use std::time::Duration;

use lettre::{AsyncSmtpTransport, Tokio1Executor};

/// Environment variable: the SMTP server, `smtp://host:port` (plain), `smtp://…?tls=required`
/// (STARTTLS) or `smtps://user:pass@host` (TLS). Unset: mails wait in the outbox.
pub const SMTP_URL_ENV: &str = "IMPRINT_SMTP_URL";
/// Environment variable: the `From` address (default `Imprint <no-reply@localhost>`).
pub const FROM_ENV: &str = "IMPRINT_MAIL_FROM";
/// Environment variable: the address people open Imprint at, for links in mails (default
/// `http://localhost:8080`).
pub const PUBLIC_URL_ENV: &str = "IMPRINT_PUBLIC_URL";
/// Environment variable: how long one attempt holds its mail, in seconds (default 120). A
/// worker killed mid-send leaves the mail to the next attempt after this long.
pub const LEASE_ENV: &str = "IMPRINT_MAIL_LEASE_SECONDS";

/// The default `From`.
pub const DEFAULT_FROM: &str = "Imprint <no-reply@localhost>";
/// The default public address.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";
/// The default lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// The mail settings, as read at start.
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `IMPRINT_SMTP_URL`; `None` keeps mails in the outbox.
    pub smtp_url: Option<String>,
    /// `IMPRINT_MAIL_FROM`.
    pub from: String,
    /// `IMPRINT_PUBLIC_URL`, without a trailing slash.
    pub public_url: String,
    /// `IMPRINT_MAIL_LEASE_SECONDS`.
    pub lease: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: DEFAULT_FROM.to_owned(),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            lease: DEFAULT_LEASE,
        }
    }
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold a password: only its scheme and host are shown.
        let smtp = self.smtp_url.as_deref().map(redact);
        f.debug_struct("MailSettings")
            .field("smtp_url", &smtp)
            .field("from", &self.from)
            .field("public_url", &self.public_url)
            .field("lease", &self.lease)
            .finish()
    }
}

/// `scheme://host:port` of an SMTP URL, without credentials, path or query.
#[must_use]
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

impl MailSettings {
    /// Checks the settings: the URL is one `lettre` understands, the `From` is an address, the
    /// public URL is http(s).
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("{SMTP_URL_ENV} ({}): {e}", redact(url)))?;
        }
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("{FROM_ENV}: {e}"))?;
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(format!(
                "{PUBLIC_URL_ENV}: must start with http:// or https://"
            ));
        }
        if self.lease.is_zero() {
            return Err(format!("{LEASE_ENV}: must be at least 1"));
        }
        Ok(())
    }

    /// The host of the public URL, for `Message-ID`s.
    #[must_use]
    pub fn public_host(&self) -> &str {
        let rest = self
            .public_url
            .split_once("://")
            .map_or(self.public_url.as_str(), |(_, r)| r);
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        authority.split(':').next().unwrap_or("")
    }
}

/// The settings and, when an SMTP URL is set, the transport: cloned into every job.
#[derive(Clone, Debug, Default)]
pub struct Mailer {
    pub settings: MailSettings,
    transport: Option<Arc<AsyncSmtpTransport<Tokio1Executor>>>,
}

impl Mailer {
    /// Builds the transport (no connection is made until a mail is sent).
    ///
    /// # Errors
    /// When the settings do not [`MailSettings::check`].
    pub fn new(settings: MailSettings) -> Result<Self, String> {
        settings.check()?;
        let transport = match &settings.smtp_url {
            None => None,
            Some(url) => {
                let timeout = settings.lease.min(Duration::from_secs(60)) / 2;
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("{SMTP_URL_ENV}: {e}"))?
                    .timeout(Some(timeout));
                Some(Arc::new(builder.build()))
            }
        };
        Ok(Self {
            settings,
            transport,
        })
    }

    /// The transport, when mail is sent at all.
    #[must_use]
    pub fn transport(&self) -> Option<&AsyncSmtpTransport<Tokio1Executor>> {
        self.transport.as_deref()
    }

    /// Whether mails leave the outbox.
    #[must_use]
    pub fn sends(&self) -> bool {
        self.transport.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_checked() {
        assert_eq!(
            redact("smtps://user:secret@mail.example:465/x?tls=required"),
            "smtps://mail.example:465"
        );
        let mut settings = MailSettings::default();
        assert_eq!(settings.check(), Ok(()));
        settings.smtp_url = Some("smtp://127.0.0.1:2525".into());
        assert_eq!(settings.check(), Ok(()));
        assert!(!format!("{settings:?}").contains("secret"));
        settings.smtp_url = Some("http://127.0.0.1".into());
        assert!(settings.check().is_err());
        settings.smtp_url = None;
        settings.from = "not an address".into();
        assert!(settings.check().is_err());
        settings.from = DEFAULT_FROM.into();
        settings.public_url = "https://imprint.example:8443/app".into();
        assert_eq!(settings.public_host(), "imprint.example");
    }
}
