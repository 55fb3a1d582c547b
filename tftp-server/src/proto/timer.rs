//! The retransmission timer shared by both sessions: one deadline, exponential backoff.

use std::time::{Duration, Instant};

use super::options::{next_interval, RetransmitPolicy};

/// What a due timer asks the session to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Not due yet (a spurious `handle_timeout`), or disarmed.
    NotDue,
    /// Retransmit; the timer is re-armed with a doubled interval.
    Retransmit,
    /// The retransmission budget is spent: give up.
    GiveUp,
}

#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: RetransmitPolicy,
    interval: Duration,
    retransmissions: u32,
    deadline: Option<Instant>,
}

impl Backoff {
    pub(crate) fn new(policy: RetransmitPolicy) -> Self {
        Backoff {
            policy,
            interval: policy.initial,
            retransmissions: 0,
            deadline: None,
        }
    }

    pub(crate) fn set_policy(&mut self, policy: RetransmitPolicy) {
        self.policy = policy;
    }

    /// Progress was made: wait `initial` again from `now`.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.interval = self.policy.initial;
        self.retransmissions = 0;
        self.deadline = Some(deadline_after(now, self.interval));
    }

    /// Waits `duration` from `now` without touching the backoff state (used for dallying).
    pub(crate) fn arm_once(&mut self, now: Instant, duration: Duration) {
        self.deadline = Some(deadline_after(now, duration));
    }

    pub(crate) fn disarm(&mut self) {
        self.deadline = None;
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|deadline| now >= deadline)
    }

    pub(crate) fn expire(&mut self, now: Instant) -> Expiry {
        if !self.is_due(now) {
            return Expiry::NotDue;
        }
        if self.retransmissions >= self.policy.max_retransmissions {
            self.deadline = None;
            return Expiry::GiveUp;
        }
        self.retransmissions += 1;
        self.interval = next_interval(self.interval, self.policy.max_interval);
        self.deadline = Some(deadline_after(now, self.interval));
        Expiry::Retransmit
    }
}

fn deadline_after(now: Instant, wait: Duration) -> Instant {
    // An Instant this far out cannot be represented only with absurd configurations;
    // falling back to `now` makes the session retry immediately rather than panic.
    now.checked_add(wait).unwrap_or(now)
}
