//! Signals on an established connection (RFC 8684 §3.4-§3.7): ADD_ADDR (with its HMAC),
//! REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE and MP_TCPRST.
use std::net::SocketAddr;

use super::checks::{ids, Verdict};
use super::{Analyzer, Announcement, Anomaly, ConnState, Ctx, Dir, EventKind, SubflowEnd};
use crate::crypto::{self, AddAddrHmacVerdict};
use crate::options::mptcp::{AddAddr, AddAddrVersion};

impl Analyzer {
    pub(super) fn on_add_addr(&mut self, ctx: &Ctx, a: &AddAddr) {
        let Some(cid) = self.conn_of(ctx.flow) else {
            self.orphan_flow(ctx, "add_addr_without_connection");
            return;
        };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let echo = matches!(a.version, AddAddrVersion::V1 { echo: true, .. });
        let by = if ctx.dir == Dir::C2s { "client" } else { "server" };
        if conn.announced.len() < 256 {
            conn.announced.push(Announcement { by, address_id: a.address_id, address: a.address, port: a.port, frame: ctx.frame, echo });
        }
        let (id, rfc) = ids::ADD_ADDR_HMAC;
        if matches!(a.version, AddAddrVersion::V1 { echo: false, .. }) {
            match (a.hmac, conn.key(ctx.dir), conn.key(ctx.dir.flip())) {
                (Some(h), Some(ks), Some(kr)) => match crypto::check_add_addr_hmac(ks, kr, a.address_id, a.address, a.port, h) {
                    AddAddrHmacVerdict::Pass => conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new),
                    AddAddrHmacVerdict::LegacyLeftmost => conn.checks.record(id, rfc, Verdict::Legacy, ctx.frame, || {
                        "legacy leftmost: the leftmost 64 bits of the HMAC (Linux before 5.8), RFC 8684 asks for the rightmost".into()
                    }),
                    AddAddrHmacVerdict::Fail => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                        format!("HMAC {h:016x} matches neither end of HMAC(sender key‖receiver key, id‖address‖port)")
                    }),
                },
                (None, _, _) => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || "v1 ADD_ADDR without an HMAC".into()),
                _ => conn.checks.record(id, rfc, Verdict::NotCheckable, ctx.frame, || "keys not in the capture".into()),
            }
        }
        if !echo {
            let addr = match a.port {
                Some(p) => SocketAddr::new(a.address, p).to_string(),
                None => a.address.to_string(),
            };
            let aid = a.address_id;
            self.event(ctx, EventKind::Announced, Some(cid), |e| {
                e.address_id = Some(aid);
                e.address = Some(addr);
            });
        }
    }

    pub(super) fn on_remove_addr(&mut self, ctx: &Ctx, ids: &[u8]) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(conn) = self.conns.get_mut(cid) {
            for &i in ids {
                if conn.removed_address_ids.len() < 256 && !conn.removed_address_ids.contains(&i) {
                    conn.removed_address_ids.push(i);
                }
            }
        }
        for &i in ids {
            self.event(ctx, EventKind::Removed, Some(cid), |e| e.address_id = Some(i));
        }
    }

    pub(super) fn on_prio(&mut self, ctx: &Ctx, backup: bool, address_id: Option<u8>) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            f.backup = backup;
        }
        self.event(ctx, EventKind::SfPriority, Some(cid), |e| {
            e.backup = Some(backup);
            e.address_id = address_id;
        });
    }

    pub(super) fn on_fail(&mut self, ctx: &Ctx, dsn: u64) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        if let Some(conn) = self.conns.get_mut(cid) {
            if conn.fallback.is_none() {
                conn.fallback = Some(Anomaly { frame: ctx.frame, kind: "mp_fail", detail: format!("MP_FAIL at DSN {dsn}") });
                conn.state = ConnState::Fallback;
            }
        }
        self.event(ctx, EventKind::MpFail, Some(cid), |e| e.reason = Some(format!("dsn {dsn}")));
    }

    pub(super) fn on_fastclose(&mut self, ctx: &Ctx, receiver_key: u64) {
        let Some(cid) = self.conn_of(ctx.flow) else { return };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        let (id, rfc) = ids::FASTCLOSE_KEY;
        match conn.key(ctx.dir.flip()) {
            Some(k) if k == receiver_key => conn.checks.record(id, rfc, Verdict::Pass, ctx.frame, String::new),
            Some(k) => conn.checks.record(id, rfc, Verdict::Fail, ctx.frame, || {
                format!("MP_FASTCLOSE carries {receiver_key:016x}, the receiver's key is {k:016x}")
            }),
            None => conn.checks.record(id, rfc, Verdict::NotCheckable, ctx.frame, || "receiver's key not in the capture".into()),
        }
        let first = conn.state != ConnState::FastClosed;
        conn.state = ConnState::FastClosed;
        if first {
            self.event(ctx, EventKind::Fastclose, Some(cid), |_| {});
        }
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            if f.end.is_none() && ctx.flags.rst() {
                f.end = Some(SubflowEnd { how: "mp_fastclose", frame: ctx.frame, ts: ctx.ts, reason: None });
            }
        }
    }

    pub(super) fn on_tcprst(&mut self, ctx: &Ctx, reason: u8) {
        if let Some(f) = self.flows.get_mut(ctx.flow) {
            match &mut f.end {
                Some(e) if e.frame == ctx.frame => {
                    if e.how == "rst" {
                        e.how = "mp_tcprst";
                    }
                    e.reason = Some(reason);
                }
                None => f.end = Some(SubflowEnd { how: "mp_tcprst", frame: ctx.frame, ts: ctx.ts, reason: Some(reason) }),
                Some(_) => {}
            }
        }
    }
}
