//! The handshakes (RFC 8684 §3.1, §3.2): MP_CAPABLE creates a connection and carries the keys,
//! from which come the tokens and IDSNs; MP_JOIN attaches a subflow by token and proves it with
//! HMACs of both keys and nonces. A SYN/ACK without MP_CAPABLE is a fallback to TCP; the keys of a
//! third ACK found a connection whose SYN the capture missed.
use ahash::HashMap;

use super::checks::{CheckId, Verdict};
use super::mappings::Mapping;
use super::state::Conn;
use super::{swap_roles, Analyzer, Anomaly, ConnState, Connection, Ctx, Dir, EventKind, OrphanToken, SubflowKind};
use crate::track::kinds::{AnomalyKind, FoundBy, RoleRule};
use mptcp_wire::crypto::{self, Key, Token, Version};
use mptcp_wire::options::mptcp::{MpCapable, MpJoin};
use mptcp_wire::seq::{DataSeq, SubflowSeq};

impl Analyzer<'_> {
    pub(super) fn on_capable(&mut self, ctx: &Ctx, c: &MpCapable) {
        let flags = ctx.flags;
        let existing = self.conn_of(ctx.flow);
        if flags.syn() && !flags.ack() {
            // MP_CAPABLE SYN: a new connection (a retransmitted SYN reuses it).
            if existing.is_some() {
                return;
            }
            let Some(id) = self.new_connection(ctx, FoundBy::MpCapable) else { return };
            let Some(f) = self.flows.get_mut(ctx.flow) else { return };
            f.kind = SubflowKind::Initial;
            f.work.mptcp_syn = true;
            let Some(conn) = self.conns.get_mut(id) else { return };
            conn.version = Some(c.version);
            conn.syn_version = Some(c.version);
            conn.state = ConnState::SynSent;
            conn.syn_flags = c.flags;
            // v0: the client's key is in the SYN.
            if let Some(k) = c.sender_key {
                set_key(conn, Dir::C2s, Key(k), &mut self.tokens);
            }
            self.event(ctx, EventKind::Created, Some(id), |_| {});
            return;
        }
        let existing = match existing {
            Some(cid) => Some(cid),
            // The third ACK or first data of a connection whose SYN is not in the capture: its
            // keys found the connection (the client sends it).
            None if c.sender_key.is_some() && c.receiver_key.is_some() && !flags.syn() => {
                let id = self.new_connection(ctx, FoundBy::MpCapableAck);
                if let (Some(id), Some(f)) = (id, self.flows.get_mut(ctx.flow)) {
                    f.kind = SubflowKind::Initial;
                    if f.client != ctx.saddr {
                        swap_roles(f);
                    }
                    f.role_rule = RoleRule::MpCapableAck;
                    if let Some(conn) = self.conns.get_mut(id) {
                        conn.version = Some(c.version);
                        conn.client = ctx.saddr;
                        conn.server = ctx.daddr;
                        conn.role_rule = RoleRule::MpCapableAck;
                        conn.state = ConnState::SynSent;
                    }
                }
                id
            }
            None => None,
        };
        // The roles may just have been swapped: this packet is the client's.
        let ctx = &Ctx {
            dir: if existing.is_some() && self.flows.get(ctx.flow).is_some_and(|f| f.client == ctx.saddr) { Dir::C2s } else { ctx.dir },
            ..*ctx
        };
        let Some(cid) = existing else {
            // MP_CAPABLE on a flow whose SYN is not in the capture.
            self.orphan_flow(ctx, "mp_capable_without_syn");
            return;
        };
        let max = self.limits.max_anomalies;
        let Some(conn) = self.conns.get_mut(cid) else { return };
        if flags.syn() && flags.ack() {
            // SYN/ACK: the server's key and version.
            conn.version = Some(c.version);
            conn.checksums = (conn.syn_flags & 0x80 != 0) || (c.flags & 0x80 != 0);
            conn.synack_flags.get_or_insert(c.flags);
            if let Some(k) = c.sender_key.map(Key) {
                conn.work.synack_key = Some(k);
                set_key(conn, Dir::S2c, k, &mut self.tokens);
            }
            return;
        }
        // Third ACK (20 bytes) or first data (22/24): the sender's and receiver's keys.
        let (Some(sk), Some(rk)) = (c.sender_key.map(Key), c.receiver_key.map(Key)) else { return };
        let (snd, rcv) = (ctx.dir, ctx.dir.flip());
        let mut mismatch = Vec::new();
        if let Some(known) = conn.key(rcv) {
            if known != rk {
                mismatch.push(format!("receiver key {rk} is not the SYN/ACK key {known}"));
            }
        }
        if let Some(known) = conn.key(snd) {
            if known != sk {
                mismatch.push(format!("sender key {sk} is not the key {known} seen before"));
            }
        }
        let id = CheckId::CapableKeyEcho;
        if mismatch.is_empty() {
            conn.checks.record(id, Verdict::Pass, ctx.frame, String::new);
        } else {
            let reason = mismatch.join("; ");
            conn.checks.record(id, Verdict::Fail, ctx.frame, || reason.clone());
            conn.anomaly(max, ctx.frame, AnomalyKind::KeyEchoMismatch, || reason);
        }
        let newly = conn.key(snd).is_none() || conn.key(rcv).is_none();
        if conn.key(snd).is_none() {
            set_key(conn, snd, sk, &mut self.tokens);
        }
        if conn.key(rcv).is_none() {
            set_key(conn, rcv, rk, &mut self.tokens);
        }
        if newly || conn.state == ConnState::SynSent {
            conn.state = ConnState::Established;
            self.event(ctx, EventKind::Established, Some(cid), |_| {});
        }
        // v1 MP_CAPABLE with data: an implicit mapping DSN = IDSN+1, subflow seq 1 (§3.1).
        if let Some(dll) = c.data_level_length {
            if let Some(conn) = self.conns.get(cid) {
                if let Some(idsn) = conn.key(snd).map(|k| crypto::key_material(Version::V1, k).idsn) {
                    let m = Mapping { dsn: idsn.first_dsn(), ssn: 1, data_len: u32::from(dll) };
                    let checksum = c.checksum;
                    self.cur.mapping = Some(super::model::MappingRecord {
                        dsn: m.dsn,
                        subflow_seq: SubflowSeq(1),
                        length: dll,
                        data_fin: false,
                        checksum,
                        implicit: true,
                    });
                    self.add_mapping(ctx, m, checksum, dll, false);
                }
            }
        }
    }

    /// Creates a connection whose first subflow is the current flow (roles as the flow's);
    /// `None` when the connection cap is hit.
    pub(super) fn new_connection(&mut self, ctx: &Ctx, found_by: FoundBy) -> Option<usize> {
        if self.state_full(super::state::CONN_COST) {
            // Counted once per connection, not once per packet of it.
            if let Some(f) = self.flows.get_mut(ctx.flow).filter(|f| !f.work.refused) {
                f.work.refused = true;
                self.stats.connections_dropped += 1;
            }
            self.state_cap(ctx.frame);
            return None;
        }
        let id = self.conns.next_id();
        let f = self.flows.get_mut(ctx.flow)?;
        f.connection = Some(id);
        let conn = super::state::Conn::new(Connection::new(id, f.client, f.server, found_by, f.role_rule, ctx.flow, ctx.ts));
        self.conns.push(conn);
        Some(id)
    }

    pub(super) fn on_synack_without_capable(&mut self, ctx: &Ctx) {
        let Some(f) = self.flows.get(ctx.flow) else { return };
        if !f.work.mptcp_syn || f.kind != SubflowKind::Initial {
            return;
        }
        let Some(cid) = f.connection else { return };
        let Some(conn) = self.conns.get_mut(cid) else { return };
        if conn.fallback.is_some() {
            return;
        }
        conn.state = ConnState::Fallback;
        let detail = if f.work.last_syn_capable {
            "MP_CAPABLE SYN answered by a SYN/ACK without MP_CAPABLE: plain TCP"
        } else {
            "MP_CAPABLE SYN(s) unanswered, SYN retried without MP_CAPABLE and answered: plain TCP (the client's fallback when MP_CAPABLE SYNs are dropped on the path)"
        };
        conn.fallback = Some(Anomaly { frame: ctx.frame, kind: AnomalyKind::Handshake, detail: detail.into() });
        // The subflow's byte stream is the data stream: an infinite mapping from byte 1.
        for dir in [Dir::C2s, Dir::S2c] {
            let m = Mapping { dsn: DataSeq(0), ssn: 1, data_len: u32::MAX };
            let ctx_dir = Ctx { dir, ..*ctx };
            self.add_mapping(&ctx_dir, m, None, 0, false);
            self.data.start(cid, dir, DataSeq(0));
        }
        self.event(ctx, EventKind::Fallback, Some(cid), |e| e.reason = Some("SYN/ACK without MP_CAPABLE".into()));
    }

    pub(super) fn orphan_flow(&mut self, ctx: &Ctx, why: &'static str) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        if f.kind == SubflowKind::Tcp || f.kind == SubflowKind::Unknown {
            let first = f.kind == SubflowKind::Tcp || f.orphan_token.is_none();
            f.kind = SubflowKind::Unknown;
            if first && f.orphan_token.is_none() {
                f.orphan_token = Some(OrphanToken::Unknown);
                let (c, s) = (f.client, f.server);
                self.global_anomaly(ctx.frame, AnomalyKind::OrphanSubflow, || {
                    format!("{why}: subflow {c} -> {s} has no connection in the capture")
                });
            }
        }
    }

    pub(super) fn on_join(&mut self, ctx: &Ctx, j: &MpJoin<'_>) {
        match j {
            MpJoin::Syn(s) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                if f.connection.is_some() {
                    return; // retransmitted SYN
                }
                f.kind = SubflowKind::Join;
                f.join = true;
                f.work.mptcp_syn = true;
                f.client_address_id = Some(s.address_id);
                f.backup = s.backup;
                f.work.join_state.token = Some(s.token);
                f.work.join_state.client_nonce = Some(s.nonce);
                match self.tokens.get(&Token(s.token)).copied() {
                    Some(cid) => {
                        f.connection = Some(cid);
                        let Some(conn) = self.conns.get_mut(cid) else { return };
                        f.initiator_is_client = conn.server_token == Some(Token(s.token));
                        conn.subflow_ids.push(ctx.flow);
                        let id = CheckId::JoinToken;
                        conn.checks.record(id, Verdict::Pass, ctx.frame, String::new);
                    }
                    None => {
                        f.orphan_token = Some(OrphanToken::Join(Token(s.token)));
                        let token = s.token;
                        self.global_anomaly(ctx.frame, AnomalyKind::JoinUnknownToken, || {
                            format!("MP_JOIN SYN with token {token:08x}, which no MP_CAPABLE handshake in the capture produced")
                        });
                    }
                }
            }
            MpJoin::SynAck(sa) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                f.server_address_id = Some(sa.address_id);
                f.work.join_state.server_nonce = Some(sa.nonce);
                f.work.join_state.server_hmac = Some(sa.hmac);
                f.synack_backup = sa.backup;
                f.work.join_state.synack_frame = ctx.frame;
                let js = f.work.join_state;
                let Some(cid) = f.connection else { return };
                let Some(conn) = self.conns.get_mut(cid) else { return };
                let id = CheckId::JoinSynackHmac;
                // B = the join responder, A = the initiator.
                let (a, b) = if f.initiator_is_client { (Dir::C2s, Dir::S2c) } else { (Dir::S2c, Dir::C2s) };
                match (conn.crypto_version(), conn.key(a), conn.key(b), js.client_nonce) {
                    (Some(v), Some(ka), Some(kb), Some(na)) => {
                        let expected = crypto::join_synack_hmac(v, kb, ka, sa.nonce, na);
                        if expected == sa.hmac {
                            conn.checks.record(id, Verdict::Pass, ctx.frame, String::new);
                        } else {
                            conn.checks.record(id, Verdict::Fail, ctx.frame, || {
                                format!("truncated HMAC {:016x}, expected {expected:016x}", sa.hmac)
                            });
                        }
                    }
                    _ => {
                        conn.checks.record(id, Verdict::NotCheckable, ctx.frame, || "keys or nonces of the join not in the capture".into())
                    }
                }
            }
            MpJoin::Ack(ack) => {
                let Some(f) = self.flows.get_mut(ctx.flow) else { return };
                let js = f.work.join_state;
                let Some(cid) = f.connection else { return };
                if f.established_ts.is_none() {
                    f.established_ts = Some(ctx.ts);
                }
                // The third ACK again (Linux re-sends it until it is acknowledged): one event.
                let first = !f.work.join_state.ack_seen;
                f.work.join_state.ack_seen = true;
                let Some(conn) = self.conns.get_mut(cid) else { return };
                let id = CheckId::JoinAckHmac;
                let (a, b) = if f.initiator_is_client { (Dir::C2s, Dir::S2c) } else { (Dir::S2c, Dir::C2s) };
                match (conn.crypto_version(), conn.key(a), conn.key(b), js.client_nonce, js.server_nonce) {
                    (Some(v), Some(ka), Some(kb), Some(na), Some(nb)) => {
                        let expected = crypto::join_ack_hmac(v, ka, kb, na, nb);
                        if &expected == ack.hmac {
                            conn.checks.record(id, Verdict::Pass, ctx.frame, String::new);
                        } else {
                            conn.checks.record(id, Verdict::Fail, ctx.frame, || "third-ACK HMAC does not match the keys and nonces".into());
                        }
                    }
                    _ => {
                        conn.checks.record(id, Verdict::NotCheckable, ctx.frame, || "keys or nonces of the join not in the capture".into())
                    }
                }
                let backup = self.flows.get(ctx.flow).is_some_and(|f| f.backup);
                let (caddr, saddr_id) =
                    self.flows.get(ctx.flow).map(|f| (f.client_address_id, f.server_address_id)).unwrap_or((None, None));
                if first {
                    self.event(ctx, EventKind::SfEstablished, Some(cid), |e| {
                        e.backup = Some(backup);
                        e.address_id = caddr.or(saddr_id);
                    });
                }
            }
        }
    }
}

/// Records one side's key and what derives from it, and registers its token.
fn set_key(conn: &mut Conn, side: Dir, key: Key, tokens: &mut HashMap<Token, usize>) {
    let version = conn.crypto_version().unwrap_or(Version::V1);
    let km = crypto::key_material(version, key);
    match side {
        Dir::C2s => {
            conn.client_key = Some(key);
            conn.client_token = Some(km.token);
            conn.client_idsn = Some(km.idsn);
        }
        Dir::S2c => {
            conn.server_key = Some(key);
            conn.server_token = Some(km.token);
            conn.server_idsn = Some(km.idsn);
        }
    }
    // A token is the newest open connection's: a key seen again (a replayed or repeated
    // capture, or a collision of two keys) names the connection that used it last; joins to an
    // older one with that token fail its join checks.
    tokens.insert(km.token, conn.id);
    let last = &mut conn.work.last_dsn[side.index()];
    if last.is_none() {
        *last = Some(km.idsn.first_dsn());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::EventKind;
    use super::*;
    use hmac::{Hmac, Mac};
    use mptcp_wire::crypto::Idsn;
    use sha2::Sha256;

    fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().into()
    }

    fn kinds(a: &super::super::Analysis) -> Vec<EventKind> {
        a.events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn mp_capable_handshake_gives_keys_tokens_and_idsns() {
        let mut f = Feed::new();
        handshake(&mut f);
        let a = f.finish();
        let c = &a.connections[0];
        assert_eq!((c.version, c.state, c.found_by), (Some(1), ConnState::Established, FoundBy::MpCapable));
        assert_eq!(c.client_token, Some(Token(TOKEN_A)));
        assert_eq!(c.server_token, Some(Token(TOKEN_B)));
        assert_eq!(c.client_idsn, Some(Idsn(IDSN_A)));
        assert_eq!(c.checks.get(CheckId::CapableKeyEcho).map(|t| t.verdict), Some(Verdict::Pass));
        assert_eq!(kinds(&a), vec![EventKind::Created, EventKind::Established]);
        assert_eq!(a.subflows[0].kind, SubflowKind::Initial);
    }

    #[test]
    fn a_third_ack_echoing_another_key_fails_the_echo_check() {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 1000, 0, &capable_syn(0x01), &[]);
        f.seg(1, SERVER, CLIENT, SYN | ACK, 5000, 1001, &capable_synack(0x01, KEY_B), &[]);
        f.seg(2, CLIENT, SERVER, ACK, 1001, 5001, &capable_ack(0x01, KEY_A, 0x42), &[]);
        let a = f.finish();
        let c = &a.connections[0];
        assert_eq!(c.checks.get(CheckId::CapableKeyEcho).map(|t| t.verdict), Some(Verdict::Fail));
        assert!(c.anomalies.iter().any(|x| x.kind == AnomalyKind::KeyEchoMismatch));
    }

    #[test]
    fn a_syn_ack_without_mp_capable_is_a_fallback_to_tcp() {
        // RFC 8684 §3.1: without MP_CAPABLE in the SYN/ACK the connection is plain TCP.
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 1000, 0, &capable_syn(0x01), &[]);
        f.seg(1, SERVER, CLIENT, SYN | ACK, 5000, 1001, &[], &[]);
        f.seg(2, CLIENT, SERVER, ACK, 1001, 5001, &[], b"hello");
        let a = f.finish();
        let c = &a.connections[0];
        assert_eq!(c.state, ConnState::Fallback);
        assert_eq!(c.fallback.as_ref().map(|x| x.kind), Some(AnomalyKind::Handshake));
        assert_eq!(kinds(&a), vec![EventKind::Created, EventKind::Fallback]);
        // The subflow's bytes are the data stream.
        assert_eq!(c.c2s.bytes, 5);
    }

    #[test]
    fn the_keys_of_a_third_ack_found_a_connection_whose_syn_is_missing() {
        let mut f = Feed::new();
        // The client has the lower port here: the ports alone would guess the wrong roles.
        f.seg(0, "10.0.0.1:80", "10.0.0.2:9000", ACK, 1001, 5001, &capable_ack(0x01, KEY_A, KEY_B), &[]);
        let a = f.finish();
        let c = &a.connections[0];
        assert_eq!((c.found_by, c.role_rule, c.client), (FoundBy::MpCapableAck, RoleRule::MpCapableAck, sa("10.0.0.1:80")));
        assert_eq!(c.client_token, Some(Token(TOKEN_A)));
        assert_eq!(a.subflows[0].client, sa("10.0.0.1:80"));
    }

    #[test]
    fn a_join_with_the_server_token_joins_and_its_hmacs_are_checked() {
        let (na, nb) = (0x0102_0304u32, 0x0a0b_0c0du32);
        let j = "10.0.1.1:41000";
        let mut f = Feed::new();
        handshake(&mut f);
        // RFC 8684 §3.2: SYN/ACK HMAC = leftmost 64 bits of HMAC(Key-B‖Key-A, R-B‖R-A), third ACK
        // HMAC = HMAC(Key-A‖Key-B, R-A‖R-B) (160 bits sent); A is the initiator (the client).
        let ba = [KEY_B.to_be_bytes(), KEY_A.to_be_bytes()].concat();
        let ab = [KEY_A.to_be_bytes(), KEY_B.to_be_bytes()].concat();
        let synack_mac = hmac_sha256(&ba, &[nb.to_be_bytes(), na.to_be_bytes()].concat());
        let ack_mac = hmac_sha256(&ab, &[na.to_be_bytes(), nb.to_be_bytes()].concat());
        f.seg(10, j, SERVER, SYN, 1, 0, &join_syn(TOKEN_B, na, 2, true), &[]);
        f.seg(11, SERVER, j, SYN | ACK, 2, 2, &join_synack(u64::from_be_bytes(synack_mac[..8].try_into().unwrap()), nb, 0), &[]);
        f.seg(12, j, SERVER, ACK, 2, 3, &join_ack(&ack_mac[..20].try_into().unwrap()), &[]);
        let a = f.finish();
        let c = &a.connections[0];
        assert_eq!(c.subflow_ids, vec![0, 1]);
        let verdict = |id: CheckId| c.checks.get(id).map(|t| t.verdict);
        assert_eq!(verdict(CheckId::JoinToken), Some(Verdict::Pass));
        assert_eq!(verdict(CheckId::JoinSynackHmac), Some(Verdict::Pass));
        assert_eq!(verdict(CheckId::JoinAckHmac), Some(Verdict::Pass));
        let s = &a.subflows[1];
        assert_eq!((s.kind, s.backup, s.client_address_id, s.opened_by_client()), (SubflowKind::Join, true, Some(2), true));
        let e = a.events.last().unwrap();
        assert_eq!((e.kind, e.backup, e.address_id), (EventKind::SfEstablished, Some(true), Some(2)));
    }

    #[test]
    fn a_join_with_an_unknown_token_is_an_orphan() {
        let mut f = Feed::new();
        handshake(&mut f);
        f.seg(10, "10.0.1.1:41000", SERVER, SYN, 1, 0, &join_syn(0xdead_beef, 1, 2, false), &[]);
        let a = f.finish();
        assert_eq!(a.orphans().map(|s| s.orphan_token).collect::<Vec<_>>(), vec![Some(OrphanToken::Join(Token(0xdeadbeef)))]);
        assert!(a.anomalies.iter().any(|x| x.kind == AnomalyKind::JoinUnknownToken));
        assert_eq!(a.connections[0].subflow_ids, vec![0]);
    }
}
