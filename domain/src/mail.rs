//! Mail: what Imprint tells people, as pure rules. The outbox row's statuses, the idempotency
//! key of each mail (one per event and recipient), its `Message-ID` (derived from the key, so
//! every attempt of one mail carries the same one and a receiver can drop a duplicate), the
//! ISO week a digest belongs to, and the templates (plain text + simple HTML, every value
//! escaped in the HTML part).
//!
//! Sending is the workers' (`workers::mail`); nothing here does I/O.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};

use crate::enums::string_enum;

string_enum! {
    /// Where one outbox mail stands.
    pub enum OutboxStatus: "mail outbox status" {
        /// Waiting for its first or next attempt (or for SMTP to be configured).
        Pending => "pending",
        /// The SMTP server accepted it; final.
        Sent => "sent",
        /// Every attempt failed; final.
        Failed => "failed",
        /// Nothing to say (a digest of an idle week): recorded so it is decided once, never sent.
        Skipped => "skipped",
    }
}

string_enum! {
    /// What a mail is about.
    pub enum MailKind: "mail kind" {
        /// An invitation to join an organisation, with its accept link.
        Invitation => "invitation",
        /// A paid run's payee statement, the PDF attached.
        StatementReady => "statement_ready",
        /// The weekly digest to a label's owners and admins.
        WeeklyDigest => "weekly_digest",
    }
}

/// The idempotency key of the mail that tells `recipient` about `event`: unique in the outbox,
/// so an event never queues a mail to one address twice. The address is compared lowercased.
#[must_use]
pub fn idempotency_key(event: &str, recipient: &str) -> String {
    format!("{event}|{}", recipient.trim().to_ascii_lowercase())
}

/// The event of an invitation.
#[must_use]
pub fn invitation_event(invitation_id: i64) -> String {
    format!("invitation:{invitation_id}")
}

/// The event of a payout's statement being ready (its run paid).
#[must_use]
pub fn statement_ready_event(payout_id: i64) -> String {
    format!("statement_ready:{payout_id}")
}

/// An ISO 8601 week, as `2026-W49`.
#[must_use]
pub fn iso_week(at: DateTime<Utc>) -> String {
    let week = at.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// The event of an organisation's digest for the ISO week of `at`: one per organisation and
/// week.
#[must_use]
pub fn digest_event(organization_id: i64, at: DateTime<Utc>) -> String {
    format!("weekly_digest:{organization_id}:{}", iso_week(at))
}

/// The `Message-ID` of the mail with this idempotency key, angle brackets included: the same
/// on every attempt, so a receiver can drop the copy a retry may send after a lost answer.
#[must_use]
pub fn message_id(key: &str, domain: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    let domain = if domain.is_empty() {
        "imprint.invalid"
    } else {
        domain
    };
    format!("<{hex}@{domain}>")
}

/// A mail's subject and bodies, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for an HTML body (element content and double-quoted attributes).
#[must_use]
pub fn escape_html(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// A subject line: one line (control characters, line breaks included, become spaces), so a
/// name cannot inject a header.
#[must_use]
pub fn subject_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn html_page(paragraphs: &[String]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; line-height: 1.4\">\n",
    );
    for p in paragraphs {
        html.push_str("<p>");
        html.push_str(p);
        html.push_str("</p>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// The accept link of an invitation: `{public_url}/accept-invitation?token={token}`.
#[must_use]
pub fn invitation_link(public_url: &str, token: &str) -> String {
    format!(
        "{}/accept-invitation?token={token}",
        public_url.trim_end_matches('/')
    )
}

/// The invitation mail: who invites, to which organisation and role, and the link.
#[must_use]
pub fn invitation(organization: &str, role: &str, link: &str, expires: DateTime<Utc>) -> Rendered {
    let expires = expires.format("%Y-%m-%d").to_string();
    let subject = subject_line(&format!(
        "You are invited to join {organization} on Imprint"
    ));
    let text = format!(
        "Hello,\n\nyou are invited to join {organization} on Imprint as {role}.\n\n\
         Accept the invitation here (sign up or log in with this email address first):\n{link}\n\n\
         The invitation expires on {expires}. If you did not expect it, ignore this mail.\n"
    );
    let html = html_page(&[
        "Hello,".to_owned(),
        format!(
            "you are invited to join <strong>{}</strong> on Imprint as {}.",
            escape_html(organization),
            escape_html(role)
        ),
        format!(
            "<a href=\"{0}\">Accept the invitation</a> (sign up or log in with this email address first):<br>{0}",
            escape_html(link)
        ),
        format!(
            "The invitation expires on {}. If you did not expect it, ignore this mail.",
            escape_html(&expires)
        ),
    ]);
    Rendered {
        subject,
        text,
        html,
    }
}

/// The "your statement is ready" mail to a payee of a paid run; the PDF goes attached.
#[must_use]
pub fn statement_ready(
    organization: &str,
    payee: &str,
    period_end: &str,
    paid: &str,
    reference: Option<&str>,
) -> Rendered {
    let subject = subject_line(&format!(
        "Your statement from {organization} (period ending {period_end})"
    ));
    let reference_text = reference
        .map(|r| format!(" (payment reference {r})"))
        .unwrap_or_default();
    let text = format!(
        "Hello {payee},\n\n{organization} has paid {paid}{reference_text} for the period ending \
         {period_end}.\nYour statement is attached as a PDF.\n"
    );
    let reference_html = reference
        .map(|r| format!(" (payment reference {})", escape_html(r)))
        .unwrap_or_default();
    let html = html_page(&[
        format!("Hello {},", escape_html(payee)),
        format!(
            "<strong>{}</strong> has paid {}{reference_html} for the period ending {}.",
            escape_html(organization),
            escape_html(paid),
            escape_html(period_end)
        ),
        "Your statement is attached as a PDF.".to_owned(),
    ]);
    Rendered {
        subject,
        text,
        html,
    }
}

/// What a weekly digest reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestFigures {
    /// Statement lines not matched to a track.
    pub unmatched_lines: i64,
    /// Statements uploaded in the last seven days.
    pub statements_this_week: i64,
    /// Statements whose money no remittance accounts for yet; `None` when reconciliation is
    /// not there to tell.
    pub unreconciled_statements: Option<i64>,
}

impl DigestFigures {
    /// Whether the week has nothing to report, so no digest is sent.
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        self.unmatched_lines == 0
            && self.statements_this_week == 0
            && self.unreconciled_statements.unwrap_or(0) == 0
    }
}

/// The weekly digest to a label's owners and admins.
#[must_use]
pub fn weekly_digest(
    organization: &str,
    week: &str,
    figures: &DigestFigures,
    link: &str,
) -> Rendered {
    let subject = subject_line(&format!("{organization}: your week on Imprint ({week})"));
    let mut items = vec![
        format!(
            "{} statement(s) uploaded in the last seven days",
            figures.statements_this_week
        ),
        format!(
            "{} statement line(s) not matched to a track",
            figures.unmatched_lines
        ),
    ];
    if let Some(n) = figures.unreconciled_statements {
        items.push(format!("{n} statement(s) not reconciled with a remittance"));
    }
    let mut text = format!("Hello,\n\nthis is {organization}'s week {week} on Imprint:\n\n");
    for item in &items {
        text.push_str("- ");
        text.push_str(item);
        text.push('\n');
    }
    text.push_str(&format!("\nOpen Imprint: {link}\n"));
    let list: String = items
        .iter()
        .map(|i| format!("<li>{}</li>", escape_html(i)))
        .collect();
    let html = html_page(&[
        "Hello,".to_owned(),
        format!(
            "this is <strong>{}</strong>'s week {} on Imprint:<ul>{list}</ul>",
            escape_html(organization),
            escape_html(week)
        ),
        format!("<a href=\"{0}\">Open Imprint</a>", escape_html(link)),
    ]);
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_are_per_event_and_address() {
        assert_eq!(
            idempotency_key("invitation:3", " Ada@Label.test "),
            "invitation:3|ada@label.test"
        );
        assert_ne!(
            idempotency_key("invitation:3", "a@x.test"),
            idempotency_key("invitation:4", "a@x.test")
        );
    }

    #[test]
    fn message_ids_are_stable_and_distinct() {
        let a = message_id("invitation:1|a@x.test", "imprint.example");
        assert_eq!(a, message_id("invitation:1|a@x.test", "imprint.example"));
        assert_ne!(a, message_id("invitation:2|a@x.test", "imprint.example"));
        assert!(
            a.starts_with('<') && a.ends_with("@imprint.example>"),
            "{a}"
        );
        assert_eq!(a.len(), 1 + 32 + 1 + "imprint.example".len() + 1);
    }

    #[test]
    fn iso_weeks_cross_years() {
        let at = |y, m, d| {
            Utc.with_ymd_and_hms(y, m, d, 12, 0, 0)
                .single()
                .expect("date")
        };
        assert_eq!(iso_week(at(2026, 12, 6)), "2026-W49");
        // 1 January 2027 is a Friday: still week 53 of 2026.
        assert_eq!(iso_week(at(2027, 1, 1)), "2026-W53");
        assert_eq!(iso_week(at(2024, 12, 30)), "2025-W01");
        assert_eq!(
            digest_event(7, at(2026, 12, 7)),
            digest_event(7, at(2026, 12, 13))
        );
        assert_ne!(
            digest_event(7, at(2026, 12, 13)),
            digest_event(7, at(2026, 12, 14))
        );
    }

    #[test]
    fn html_is_escaped_and_subjects_are_one_line() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 20, 0, 0, 0)
            .single()
            .expect("date");
        let mail = invitation(
            "<script>alert(1)</script> & \"Sons\"",
            "viewer",
            "https://imprint.example/accept-invitation?token=impi_x&y=\"",
            at,
        );
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(mail.html.contains("&amp; &quot;Sons&quot;"));
        assert!(!mail.html.contains("y=\""));
        assert!(mail.text.contains("<script>alert(1)</script>"));
        let evil = statement_ready(
            "Label\r\nBcc: x@y.test",
            "P",
            "2026-11-30",
            "1.00 USD",
            None,
        );
        assert!(!evil.subject.contains('\n') && !evil.subject.contains('\r'));
    }

    #[test]
    fn quiet_weeks_are_not_reported() {
        let mut f = DigestFigures {
            unmatched_lines: 0,
            statements_this_week: 0,
            unreconciled_statements: None,
        };
        assert!(f.is_quiet());
        f.unreconciled_statements = Some(2);
        assert!(!f.is_quiet());
        let mail = weekly_digest("L", "2026-W49", &f, "https://x.test");
        assert!(mail.text.contains("2 statement(s) not reconciled"));
    }
}
