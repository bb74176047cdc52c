//! Counters over every finished connection, for the streaming reports that do not keep them all.
use serde::Serialize;

use crate::track::{Connection, Subflow, SubflowKind};

/// Counters over every finished connection, for reports that do not keep them all.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Totals {
    pub connections: u64,
    pub subflows: u64,
    pub orphans: u64,
    /// Connections by state at their end.
    pub closed: u64,
    pub fast_closed: u64,
    pub fallback: u64,
    pub timed_out: u64,
    pub open_at_end: u64,
    /// Connections with a failed check, with anomalies.
    pub failed_checks: u64,
    pub with_anomalies: u64,
    /// Connections whose two directions were both rebuilt complete.
    pub complete: u64,
    pub c2s_bytes: u64,
    pub s2c_bytes: u64,
    pub reinjected_bytes: u64,
}

impl Totals {
    pub(super) fn add(&mut self, c: &Connection, subflows: usize) {
        use crate::track::ConnState;
        self.connections += 1;
        self.subflows += subflows as u64;
        match c.state {
            ConnState::Closed => self.closed += 1,
            ConnState::FastClosed => self.fast_closed += 1,
            ConnState::Fallback => self.fallback += 1,
            ConnState::TimedOut => self.timed_out += 1,
            ConnState::SynSent | ConnState::Established => self.open_at_end += 1,
        }
        self.failed_checks += u64::from(c.checks.any_fail());
        self.with_anomalies += u64::from(!c.anomalies.is_empty());
        self.complete += u64::from(c.c2s.complete && c.s2c.complete);
        self.c2s_bytes += c.c2s.bytes;
        self.s2c_bytes += c.s2c.bytes;
        self.reinjected_bytes += c.c2s.reinjected_bytes + c.s2c.reinjected_bytes;
    }
}

pub(super) fn is_orphan(f: &Subflow) -> bool {
    f.connection.is_none() && f.kind != SubflowKind::Tcp
}
