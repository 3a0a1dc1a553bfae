//! Payouts: what each payee is paid in a payout run, and what is carried or held back.
//!
//! # The rule
//!
//! For one payee in one currency, [`compute_payout`] starts from the balance brought forward
//! from the previous run and adds the period's earnings net of recoupment, plus the reserves
//! that fall due ([`due_reserves`]):
//!
//! 1. **Reserve.** A share (`reserve_ppb`) of the period's net earnings, when they are
//!    positive, is held back against future returns, but never more than the payee's balance
//!    would otherwise be (a payee who owes money is not reserved against). Reserves are kept
//!    exactly in nano-units and released, whole, after the configured number of periods.
//! 2. **Negative balance.** Nothing is paid; the debt is carried forward.
//! 3. **Rounding.** A positive balance is rounded down to the currency's minor unit (cents,
//!    yen, fils) by [`Money::round_down_to_minor_unit`]; the sub-minor-unit remainder is carried
//!    forward, never lost.
//! 4. **Minimum.** If the rounded amount is below the payee's minimum payout (or zero), nothing
//!    is paid and the whole balance is carried forward.
//!
//! So, exactly: `brought_forward + earnings − recouped − reserved + reserve_released ==
//! payable + carried_forward`.
//!
//! # Paying it: withholding and the payee's currency
//!
//! [`compute_paid_payout`] then pays `payable` by the payee's [`PaymentTerms`]:
//!
//! 5. **Withholding.** `withheld = payable × withholding rate`, rounded half-even to the
//!    ledger currency's minor unit (so both parts stay whole cents); it goes to the
//!    `withholding` ledger account, never to the payee. A payee with 30 % withholding is paid
//!    70 % of their payable.
//! 6. **Currency.** What is left (`payable − withheld`, in the ledger currency) is converted at
//!    the run's [`PayoutRate`] (1 unit of the ledger currency = `rate` units of the payout
//!    currency) and rounded half-even **once** to the payout currency's minor unit (ISO 4217:
//!    JPY 0, USD 2, BHD 3). The ledger amount that payment stands for is
//!    `payout_amount ÷ rate` rounded half-even to the nano-unit (`paid_nanos`); the difference
//!    (`payable − withheld − paid`, either sign: half-even may round up) joins the rounding
//!    remainder and is carried forward.
//!
//! So, exactly: `payable == paid + withheld + fx remainder`, and
//! `brought_forward + earnings − recouped − reserved + reserve_released ==
//! paid + withheld + carried_forward`.
//!
//! # Conservation
//!
//! [`ConservationLedger`] follows allocations and payout lines and checks, per currency, that
//! `Σ allocated == Σ paid + Σ withheld + carried forward + reserves held + Σ recouped
//! (retained against unrecouped costs) + earnings not yet in a payout run`, to the nano-unit. The last term is
//! zero right after a run that took up every payee's earnings.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::allocation::{Allocation, AllocationKind};
use crate::enums::string_enum;
use crate::money::{Currency, Money, decimal_from_nanos, nanos_from_decimal};
use crate::share::Share;

/// Why a payout could not be computed or recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PayoutError {
    /// The reserve share is above 100 %.
    #[error("the reserve share must be at most 100%")]
    InvalidReserveShare,
    /// A negative minimum payout.
    #[error("the minimum payout cannot be negative")]
    NegativeMinimum,
    /// A negative reserve release.
    #[error("a reserve release cannot be negative")]
    NegativeReserve,
    /// An amount out of the `i64` nano-unit range.
    #[error("amount out of range")]
    Overflow,
    /// A payout line brought forward something other than what was carried forward.
    #[error(
        "payee {payee_id} ({currency}): brought forward {brought_forward_nanos}, but {carried_nanos} was carried forward"
    )]
    BroughtForwardMismatch {
        /// The payee.
        payee_id: i64,
        /// The currency.
        currency: Currency,
        /// What the line brought forward.
        brought_forward_nanos: i64,
        /// What the previous line carried forward.
        carried_nanos: i128,
    },
    /// A payout line released more reserve than the payee had held.
    #[error("payee {payee_id} ({currency}): released more reserve than was held")]
    ReleasedMoreThanHeld {
        /// The payee.
        payee_id: i64,
        /// The currency.
        currency: Currency,
    },
    /// A withholding rate above 100 %.
    #[error("the withholding rate must be at most 100%")]
    InvalidWithholding,
    /// The books do not balance.
    #[error("{currency}: allocated {allocated} but accounted for {accounted_for}")]
    NotConserved {
        /// The currency.
        currency: Currency,
        /// Σ allocated.
        allocated: i128,
        /// Σ paid + carried + reserved + recouped + pending.
        accounted_for: i128,
    },
}

/// A reserve held from one period's earnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldReserve {
    /// The end of the period it was held in.
    pub held_in: NaiveDate,
    /// The amount held, ≥ 0.
    pub amount_nanos: i64,
}

/// Splits `held` into the reserves due for release in the period ending `period_end` and those
/// still held: a reserve held in a period is released `release_after_periods` periods later,
/// a period being `months_per_period` months (1 monthly, 3 quarterly, 6 half-yearly).
///
/// Returns `(due, still_held)`, each in input order. With `release_after_periods == 0` a reserve
/// is due in the period it was held in, which amounts to no reserve.
#[must_use]
pub fn due_reserves(
    held: &[HeldReserve],
    period_end: NaiveDate,
    release_after_periods: u32,
    months_per_period: u32,
) -> (Vec<HeldReserve>, Vec<HeldReserve>) {
    let months = Months::new(release_after_periods.saturating_mul(months_per_period));
    held.iter().partition(|r| {
        r.held_in
            .checked_add_months(months)
            .is_some_and(|due_on| due_on <= period_end)
    })
}

/// One payee's figures for a payout run, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutInput {
    /// The payee's payout currency.
    pub currency: Currency,
    /// Carried forward by the previous run (negative when the payee owes).
    pub brought_forward_nanos: i64,
    /// Every allocation to the payee since the previous run, recoupment entries included.
    pub earnings_nanos: i64,
    /// The part of `earnings_nanos` retained by recoupment (the `Recoupment` allocations).
    pub recouped_nanos: i64,
    /// The share of positive net earnings held in reserve, in ppb.
    pub reserve_ppb: u64,
    /// Reserves falling due now (see [`due_reserves`]).
    pub reserve_releases: Vec<HeldReserve>,
    /// The payee's minimum payout, ≥ 0.
    pub minimum_payout_nanos: i64,
}

/// A payee's payout, by the rule in the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutLine {
    /// The currency of every amount below.
    pub currency: Currency,
    /// Carried forward by the previous run.
    pub brought_forward_nanos: i64,
    /// Earnings of the period, recoupment included.
    pub earnings_nanos: i64,
    /// Retained by recoupment.
    pub recouped_nanos: i64,
    /// Held back in reserve this run.
    pub reserved_nanos: i64,
    /// Earlier reserves released this run.
    pub reserve_released_nanos: i64,
    /// Paid now: a whole number of minor units, ≥ the minimum, or zero.
    pub payable_nanos: i64,
    /// Carried forward to the next run (the rounding remainder, or everything when nothing is
    /// paid).
    pub carried_forward_nanos: i64,
    /// The part of `carried_forward_nanos` that is the sub-minor-unit remainder of a payment
    /// (zero when nothing is paid).
    pub rounding_remainder_nanos: i64,
    /// Whether a positive balance was carried forward because it is below the minimum.
    pub below_minimum: bool,
    /// The part of `payable_nanos` withheld (tax), in `currency`: whole minor units.
    pub withheld_nanos: i64,
    /// What the payment stands for in `currency`: `payable − withheld − fx remainder`.
    pub paid_nanos: i64,
    /// The currency the payee is paid in.
    pub payout_currency: Currency,
    /// 1 unit of `currency` = `exchange_rate` units of `payout_currency` (1 when they are the
    /// same).
    pub exchange_rate: Decimal,
    /// What the payee receives, in `payout_currency`: whole minor units of it.
    pub payout_amount_nanos: i64,
}

impl PayoutLine {
    /// The payable amount as [`Money`].
    #[must_use]
    pub fn payable(&self) -> Money {
        Money::new(self.payable_nanos, self.currency)
    }
}

fn to_i64(v: i128) -> Result<i64, PayoutError> {
    i64::try_from(v).map_err(|_| PayoutError::Overflow)
}

/// Computes a payee's payout (see the module doc).
///
/// # Errors
///
/// [`PayoutError::InvalidReserveShare`], [`PayoutError::NegativeMinimum`],
/// [`PayoutError::NegativeReserve`], or [`PayoutError::Overflow`] when the balance does not fit
/// in an `i64`.
pub fn compute_payout(input: &PayoutInput) -> Result<PayoutLine, PayoutError> {
    if input.reserve_ppb > Share::WHOLE_PPB {
        return Err(PayoutError::InvalidReserveShare);
    }
    if input.minimum_payout_nanos < 0 {
        return Err(PayoutError::NegativeMinimum);
    }
    if input.reserve_releases.iter().any(|r| r.amount_nanos < 0) {
        return Err(PayoutError::NegativeReserve);
    }
    let released: i128 = input
        .reserve_releases
        .iter()
        .map(|r| i128::from(r.amount_nanos))
        .sum();
    let net = i128::from(input.earnings_nanos) - i128::from(input.recouped_nanos);
    let available = i128::from(input.brought_forward_nanos) + net + released;
    let target = if net > 0 {
        net * i128::from(input.reserve_ppb) / i128::from(Share::WHOLE_PPB)
    } else {
        0
    };
    let reserved = target.min(available.max(0));
    let balance = to_i64(available - reserved)?;

    let (payable, remainder, below_minimum) = if balance <= 0 {
        (0, 0, false)
    } else {
        let (payable, remainder) = Money::new(balance, input.currency).round_down_to_minor_unit();
        if payable.amount_nanos < input.minimum_payout_nanos || payable.amount_nanos == 0 {
            (0, 0, payable.amount_nanos < input.minimum_payout_nanos)
        } else {
            (payable.amount_nanos, remainder.amount_nanos, false)
        }
    };
    Ok(PayoutLine {
        currency: input.currency,
        brought_forward_nanos: input.brought_forward_nanos,
        earnings_nanos: input.earnings_nanos,
        recouped_nanos: input.recouped_nanos,
        reserved_nanos: to_i64(reserved)?,
        reserve_released_nanos: to_i64(released)?,
        payable_nanos: payable,
        carried_forward_nanos: balance - payable,
        rounding_remainder_nanos: remainder,
        below_minimum,
        withheld_nanos: 0,
        paid_nanos: payable,
        payout_currency: input.currency,
        exchange_rate: Decimal::ONE,
        payout_amount_nanos: payable,
    })
}

/// A rate a payout run converts at: 1 unit of the ledger currency = `rate` units of the payout
/// currency. Exact, strictly positive; built only by [`PayoutRate::parse`] or
/// [`PayoutRate::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct PayoutRate(Decimal);

/// Why a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RateError {
    /// Not a plain decimal number.
    #[error("the rate must be a decimal number such as \"0.9231\"")]
    NotADecimal,
    /// Zero or negative.
    #[error("the rate must be greater than zero")]
    NotPositive,
    /// A payee currency the run has no rate for.
    #[error(
        "no exchange rate for {payout} (1 {ledger} = ? {payout}): give one on the run or add it to the rate table"
    )]
    Missing {
        /// The ledger's currency.
        ledger: Currency,
        /// The payee's currency.
        payout: Currency,
    },
}

impl PayoutRate {
    /// The rate of a currency to itself.
    pub const ONE: PayoutRate = PayoutRate(Decimal::ONE);

    /// A rate from an exact decimal.
    ///
    /// # Errors
    /// [`RateError::NotPositive`].
    pub fn new(rate: Decimal) -> Result<PayoutRate, RateError> {
        if rate <= Decimal::ZERO {
            return Err(RateError::NotPositive);
        }
        Ok(PayoutRate(rate.normalize()))
    }

    /// Parses a decimal string (`"0.9231"`, `"151.2"`), never through a float.
    ///
    /// # Errors
    /// [`RateError::NotADecimal`] or [`RateError::NotPositive`].
    pub fn parse(raw: &str) -> Result<PayoutRate, RateError> {
        let raw = raw.trim();
        if raw.is_empty()
            || !raw
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
        {
            return Err(RateError::NotADecimal);
        }
        let d: Decimal = raw.parse().map_err(|_| RateError::NotADecimal)?;
        PayoutRate::new(d)
    }

    /// The exact decimal.
    #[must_use]
    pub const fn get(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for PayoutRate {
    type Error = RateError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        PayoutRate::new(d)
    }
}

impl From<PayoutRate> for Decimal {
    fn from(r: PayoutRate) -> Decimal {
        r.0
    }
}

/// The rate a payee in `payout` is paid at from a ledger in `ledger`: 1 when they are the
/// same, else the run's rate for `payout`. The one place a run finds its rates (a fallback to
/// the organisation's rate table goes here).
///
/// # Errors
/// [`RateError::Missing`] when the run has no rate for `payout`.
pub fn payout_rate(
    run_rates: &BTreeMap<Currency, PayoutRate>,
    ledger: Currency,
    payout: Currency,
) -> Result<PayoutRate, RateError> {
    if ledger == payout {
        return Ok(PayoutRate::ONE);
    }
    run_rates
        .get(&payout)
        .copied()
        .ok_or(RateError::Missing { ledger, payout })
}

/// How a payee is paid: the share withheld and the currency (and rate) of the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PaymentTerms {
    /// The share of the payable withheld, in ppb (0 ..= 1 000 000 000).
    pub withholding_ppb: u64,
    /// The payout currency and the rate to it; `None` pays in the ledger currency.
    pub conversion: Option<(Currency, PayoutRate)>,
}

/// `nanos` rounded half-even to `currency`'s minor unit.
fn half_even_to_minor_unit(value: Decimal, currency: Currency) -> Result<i64, PayoutError> {
    let rounded = value.round_dp_with_strategy(
        currency.minor_units(),
        RoundingStrategy::MidpointNearestEven,
    );
    nanos_from_decimal(rounded).map_err(|_| PayoutError::Overflow)
}

/// Computes a payee's payout ([`compute_payout`]) and pays it by `terms` (withholding, then
/// the conversion to the payout currency); see the module doc.
///
/// # Errors
/// Those of [`compute_payout`], [`PayoutError::InvalidWithholding`], or
/// [`PayoutError::Overflow`] when a converted amount is out of range.
pub fn compute_paid_payout(
    input: &PayoutInput,
    terms: &PaymentTerms,
) -> Result<PayoutLine, PayoutError> {
    if terms.withholding_ppb > Share::WHOLE_PPB {
        return Err(PayoutError::InvalidWithholding);
    }
    let mut line = compute_payout(input)?;
    let (payout_currency, rate) = terms
        .conversion
        .filter(|(c, _)| *c != input.currency)
        .unwrap_or((input.currency, PayoutRate::ONE));
    line.payout_currency = payout_currency;
    line.exchange_rate = rate.get();
    line.payout_amount_nanos = 0;
    line.paid_nanos = 0;
    if line.payable_nanos <= 0 {
        return Ok(line);
    }
    let ppb = Decimal::from(terms.withholding_ppb) / Decimal::from(Share::WHOLE_PPB);
    let withheld =
        half_even_to_minor_unit(decimal_from_nanos(line.payable_nanos) * ppb, input.currency)?;
    let net = line.payable_nanos - withheld;
    let (payout_amount, paid) = if payout_currency == input.currency {
        (net, net)
    } else {
        let converted = decimal_from_nanos(net)
            .checked_mul(rate.get())
            .ok_or(PayoutError::Overflow)?;
        let payout_amount = half_even_to_minor_unit(converted, payout_currency)?;
        let back = decimal_from_nanos(payout_amount)
            .checked_div(rate.get())
            .ok_or(PayoutError::Overflow)?;
        let paid = nanos_from_decimal(back).map_err(|_| PayoutError::Overflow)?;
        (payout_amount, paid)
    };
    if payout_amount == 0 && withheld == 0 {
        // Too little to pay in the payout currency: nothing is paid, everything is carried.
        line.carried_forward_nanos += line.payable_nanos;
        line.payable_nanos = 0;
        line.rounding_remainder_nanos = 0;
        return Ok(line);
    }
    let fx_remainder = net - paid;
    line.withheld_nanos = withheld;
    line.paid_nanos = paid;
    line.payout_amount_nanos = payout_amount;
    line.rounding_remainder_nanos =
        to_i64(i128::from(line.rounding_remainder_nanos) + i128::from(fx_remainder))?;
    line.carried_forward_nanos =
        to_i64(i128::from(line.carried_forward_nanos) + i128::from(fx_remainder))?;
    Ok(line)
}

string_enum! {
    /// Where a payout run is in its life; see [`RunStatus::can_transition_to`] for the moves.
    pub enum RunStatus: "payout run status" {
        /// Created, not computed yet.
        Draft => "draft",
        /// Being computed.
        Computing => "computing",
        /// Computed, waiting for approval.
        Ready => "ready",
        /// Approved, waiting for payment.
        Approved => "approved",
        /// Every payable payout is paid; the run's ledger entries are written.
        Paid => "paid",
        /// Computing failed.
        Failed => "failed",
        /// Cancelled: nothing in it is paid, and it takes up nothing.
        Cancelled => "cancelled",
    }
}

impl RunStatus {
    /// The statuses of a run still under way. An organisation has at most one such run: the
    /// database enforces it (`uq_payout_runs_open`, whose `WHERE` lists these words).
    pub const OPEN: [RunStatus; 4] = [
        RunStatus::Draft,
        RunStatus::Computing,
        RunStatus::Ready,
        RunStatus::Approved,
    ];

    /// Whether the run is still under way (not paid, failed or cancelled).
    #[must_use]
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            RunStatus::Draft | RunStatus::Computing | RunStatus::Ready | RunStatus::Approved
        )
    }

    /// Whether a run may move from `self` to `next`.
    ///
    /// - `draft → computing`: the worker starts (it fixes the ledger watermark).
    /// - `computing → ready | failed`: the worker finished, or the rules refused a figure.
    /// - `ready → approved`: someone with `ApprovePayouts` checked the figures.
    /// - `approved → paid`: every payable payout has its payment reference.
    /// - any open status `→ cancelled`, as long as no payout of the run is paid (the caller
    ///   checks that; a status alone cannot tell).
    /// - `paid`, `failed` and `cancelled` are final.
    ///
    /// Staying in the same status is not a transition and returns `false`.
    #[must_use]
    pub const fn can_transition_to(self, next: RunStatus) -> bool {
        use RunStatus::{Approved, Cancelled, Computing, Draft, Failed, Paid, Ready};
        matches!(
            (self, next),
            (Draft, Computing)
                | (Computing, Ready | Failed)
                | (Ready, Approved)
                | (Approved, Paid)
                | (Draft | Computing | Ready | Approved, Cancelled)
        )
    }
}

string_enum! {
    /// What became of one payee's payout in a run; see [`PayoutStatus::can_transition_to`].
    pub enum PayoutStatus: "payout status" {
        /// Payable, waiting for its payment reference.
        Pending => "pending",
        /// Nothing payable this run: the balance is carried forward.
        CarriedForward => "carried_forward",
        /// Paid, with its payment reference.
        Paid => "paid",
        /// The run was cancelled.
        Cancelled => "cancelled",
    }
}

impl PayoutStatus {
    /// The status a freshly computed payout starts in: pending when something is payable,
    /// carried forward otherwise.
    #[must_use]
    pub const fn computed(payable_nanos: i64) -> PayoutStatus {
        if payable_nanos > 0 {
            PayoutStatus::Pending
        } else {
            PayoutStatus::CarriedForward
        }
    }

    /// Whether a payout may move from `self` to `next`: `pending → paid` (once, with its
    /// reference), `pending | carried_forward → cancelled` (its run is cancelled). A paid payout
    /// is final: money that left is never un-paid by a status change (a mistake is corrected by
    /// new ledger entries).
    #[must_use]
    pub const fn can_transition_to(self, next: PayoutStatus) -> bool {
        use PayoutStatus::{Cancelled, CarriedForward, Paid, Pending};
        matches!(
            (self, next),
            (Pending, Paid) | (Pending | CarriedForward, Cancelled)
        )
    }

    /// Whether settling its run writes ledger entries for this payout: a paid one (the money
    /// that left, its reserve held or released) and a carried-forward one (its reserve moves
    /// only: nothing was paid). Never a pending or cancelled one: no money moved for it.
    #[must_use]
    pub const fn is_settled_in_ledger(self) -> bool {
        matches!(self, PayoutStatus::Paid | PayoutStatus::CarriedForward)
    }
}

/// What recording a payment reference against a payout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payout is pending: record the payment.
    Record,
    /// The payout is already paid with this very reference: nothing to do (a retry).
    AlreadyRecorded,
    /// The payout is already paid with another reference: refuse.
    PaidWithAnotherReference,
    /// The payout has nothing to pay (carried forward) or was cancelled: refuse.
    NotPayable,
}

/// Decides what a payment with `reference` does to a payout in `status`, paid with `stored`
/// (if any). Paying is idempotent per payout: the same reference again is a no-op, another
/// reference for a paid payout is refused.
#[must_use]
pub fn payment_outcome(
    status: PayoutStatus,
    stored: Option<&str>,
    reference: &str,
) -> PaymentOutcome {
    match status {
        PayoutStatus::Pending => PaymentOutcome::Record,
        PayoutStatus::Paid if stored == Some(reference) => PaymentOutcome::AlreadyRecorded,
        PayoutStatus::Paid => PaymentOutcome::PaidWithAnotherReference,
        PayoutStatus::CarriedForward | PayoutStatus::Cancelled => PaymentOutcome::NotPayable,
    }
}

/// Per-currency totals kept by [`ConservationLedger`], in nano-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConservationTotals {
    /// Σ allocations of statement lines.
    pub allocated: i128,
    /// Σ paid by payout runs (the ledger amount of what left).
    pub paid: i128,
    /// Σ withheld by payout runs (the `withholding` account).
    pub withheld: i128,
    /// Carried forward, now (the sum of every payee's latest carry).
    pub carried_forward: i128,
    /// Reserves held, now.
    pub reserved: i128,
    /// Σ retained by recoupment (negative un-recoupments included).
    pub recouped: i128,
    /// Allocated to payees but not yet taken up by a payout run.
    pub pending: i128,
}

impl ConservationTotals {
    /// `paid + withheld + carried_forward + reserved + recouped + pending`: must equal
    /// `allocated`.
    #[must_use]
    pub fn accounted_for(&self) -> i128 {
        self.paid
            + self.withheld
            + self.carried_forward
            + self.reserved
            + self.recouped
            + self.pending
    }

    /// Whether the books balance: every nano-unit allocated is paid, withheld, carried
    /// forward, held in reserve, recouped or still pending. `Organization.moneySummary.balanced` is this.
    #[must_use]
    pub fn is_balanced(&self) -> bool {
        self.allocated == self.accounted_for()
    }
}

/// Follows allocations and payout lines and checks that no nano-unit appears or disappears.
#[derive(Debug, Clone, Default)]
pub struct ConservationLedger {
    totals: BTreeMap<Currency, ConservationTotals>,
    carried: BTreeMap<(Currency, i64), i128>,
    held: BTreeMap<(Currency, i64), i128>,
}

impl ConservationLedger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> ConservationLedger {
        ConservationLedger::default()
    }

    /// Records one allocation of a line in `currency`.
    pub fn record_allocation(&mut self, currency: Currency, allocation: &Allocation) {
        let t = self.totals.entry(currency).or_default();
        let amount = i128::from(allocation.amount_nanos);
        t.allocated += amount;
        if matches!(allocation.kind, AllocationKind::Recoupment { .. }) {
            t.recouped += amount;
        } else {
            t.pending += amount;
        }
    }

    /// Records a payout line of `payee_id`.
    ///
    /// # Errors
    ///
    /// [`PayoutError::BroughtForwardMismatch`] when the line does not bring forward exactly what
    /// the payee's previous line carried, [`PayoutError::ReleasedMoreThanHeld`] when it releases
    /// more reserve than is held; nothing is recorded then.
    pub fn record_payout(&mut self, payee_id: i64, line: &PayoutLine) -> Result<(), PayoutError> {
        let key = (line.currency, payee_id);
        let carried = self.carried.get(&key).copied().unwrap_or(0);
        if carried != i128::from(line.brought_forward_nanos) {
            return Err(PayoutError::BroughtForwardMismatch {
                payee_id,
                currency: line.currency,
                brought_forward_nanos: line.brought_forward_nanos,
                carried_nanos: carried,
            });
        }
        let held = self.held.get(&key).copied().unwrap_or(0);
        let released = i128::from(line.reserve_released_nanos);
        if released > held {
            return Err(PayoutError::ReleasedMoreThanHeld {
                payee_id,
                currency: line.currency,
            });
        }
        let reserved = i128::from(line.reserved_nanos);
        self.held.insert(key, held - released + reserved);
        let carried_forward = i128::from(line.carried_forward_nanos);
        self.carried.insert(key, carried_forward);
        let t = self.totals.entry(line.currency).or_default();
        t.pending -= i128::from(line.earnings_nanos) - i128::from(line.recouped_nanos);
        t.paid += i128::from(line.paid_nanos);
        t.withheld += i128::from(line.withheld_nanos);
        t.carried_forward += carried_forward - carried;
        t.reserved += reserved - released;
        Ok(())
    }

    /// The totals for `currency` (all zero when nothing was recorded in it).
    #[must_use]
    pub fn totals(&self, currency: Currency) -> ConservationTotals {
        self.totals.get(&currency).copied().unwrap_or_default()
    }

    /// Checks `allocated == accounted_for` in every currency.
    ///
    /// # Errors
    ///
    /// [`PayoutError::NotConserved`] for the first currency that does not balance.
    pub fn check(&self) -> Result<(), PayoutError> {
        for (currency, t) in &self.totals {
            if !t.is_balanced() {
                return Err(PayoutError::NotConserved {
                    currency: *currency,
                    allocated: t.allocated,
                    accounted_for: t.accounted_for(),
                });
            }
        }
        Ok(())
    }
}
