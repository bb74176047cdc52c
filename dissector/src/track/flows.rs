//! The flow table and TCP-level bookkeeping: a 4-tuple finds its flow (a SYN on an ended or
//! different flow starts a new one; stray segments before a SYN are its prelude), the roles
//! come from the SYN or the ports, and each direction keeps its ISN, bytes, retransmissions
//! (subflow sequence space carried again, `mappings::SeqSpace`), RTT (Karn) and ending.
use std::net::SocketAddr;

use super::mappings::Fresh;
use super::state::key_of;
use super::{Analyzer, ConnState, Ctx, Dir, EventKind, Subflow, SubflowEnd, SubflowKind, SubflowTunnel, SubflowTunnels};
use crate::track::kinds::{AnomalyKind, EndHow, RoleRule};
use mptcp_wire::decode::TcpSegment;
use mptcp_wire::seq::SubflowSeq;

impl Analyzer<'_> {
    /// Finds or creates the flow of a segment; `None` when the flow cap is hit.
    pub(super) fn flow_for(&mut self, frame: u64, ts: f64, seg: &TcpSegment<'_>) -> Option<(usize, Dir)> {
        let src = SocketAddr::new(seg.src, seg.sport);
        let dst = SocketAddr::new(seg.dst, seg.dport);
        let key = key_of(src, dst);
        let pure_syn = seg.flags.syn() && !seg.flags.ack();
        let mut reuse = None;
        let known = self.flow_index.get(&key).copied();
        if known.is_none() && !pure_syn && self.is_late(&key) {
            self.stats.late_packets += 1;
            return None;
        }
        if let Some(id) = known {
            if let Some(f) = self.flows.get(id) {
                // A SYN that reuses a 4-tuple whose flow ended, with another ISN, or after the flow
                // carried data (a repeated capture: same ports, same ISN) is a new flow.
                let carried = f.c2s.bytes > 0 || f.s2c.bytes > 0;
                let new_syn = pure_syn && (f.closed() || carried || f.work.c2s.isn.is_some_and(|isn| isn != seg.seq) || f.client != src);
                if !new_syn {
                    let dir = if f.client == src { Dir::C2s } else { Dir::S2c };
                    return Some((id, dir));
                }
                // Stray segments before the SYN (no SYN, no payload, no connection: e.g. ACKs of
                // a join whose first SYN the capture missed, and the RST they drew) are the same
                // subflow's prelude, not a flow of their own: the SYN starts it afresh.
                if !f.work.syn_seen && f.c2s.bytes == 0 && f.s2c.bytes == 0 && f.connection.is_none() {
                    reuse = Some(id);
                }
            }
        }
        if reuse.is_none() && self.state_full(super::state::FLOW_COST) {
            self.stats.flows_dropped += 1;
            self.state_cap(frame);
            return None;
        }
        // The SYN sender is the client; without the SYN, a SYN/ACK's receiver; else the end
        // with the higher (ephemeral) port.
        let (client, server, role_rule) = if seg.flags.syn() && seg.flags.ack() {
            (dst, src, RoleRule::SynAck)
        } else if seg.flags.syn() {
            (src, dst, RoleRule::Syn)
        } else if seg.sport > seg.dport {
            (src, dst, RoleRule::Ports)
        } else if seg.sport < seg.dport {
            (dst, src, RoleRule::Ports)
        } else {
            (src, dst, RoleRule::FirstPacket)
        };
        let kind = if seg.flags.syn() { SubflowKind::Tcp } else { SubflowKind::Unknown };
        let id = reuse.unwrap_or(self.flows.next_id());
        let flow = super::state::Flow::new(Subflow::new(id, client, server, role_rule, kind, frame, ts));
        match reuse {
            Some(id) => self.flows.replace(id, flow),
            None => {
                self.flows.push(flow);
            }
        }
        self.flow_index.insert(key, id);
        let dir = if client == src { Dir::C2s } else { Dir::S2c };
        Some((id, dir))
    }

    /// TCP-level bookkeeping: ISNs, bytes, retransmissions, endings.
    pub(super) fn tcp_level(&mut self, ctx: &Ctx, seg: &TcpSegment<'_>) {
        let Some(f) = self.flows.get_mut(ctx.flow) else { return };
        f.last_ts = ctx.ts;
        if let Some(t @ None) = f.ttl.get_mut(ctx.dir.index()) {
            *t = Some(seg.ttl);
        }
        // Nothing is kept for a flow until a tunnelled packet comes: then the directions that
        // had packets had them without a tunnel.
        if seg.tunnel.is_some() || f.tunnels.is_some() {
            let had = [f.c2s.packets > 0, f.s2c.packets > 0];
            let first_packet = !had[0] && !had[1];
            let t = f
                .tunnels
                .get_or_insert_with(|| Box::new(SubflowTunnels { first: had.map(|h| h.then_some(None)), ..SubflowTunnels::default() }));
            match t.first.get_mut(ctx.dir.index()) {
                Some(first @ None) => {
                    *first = Some(seg.tunnel);
                    if first_packet {
                        t.tunnel = seg.tunnel.map(|x| SubflowTunnel::new(x, ctx.dir == Dir::C2s));
                    }
                }
                Some(Some(first)) if *first != seg.tunnel => {
                    t.tunnel_changed_frame.get_or_insert(ctx.frame);
                }
                _ => {}
            }
        }
        if seg.flags.syn() {
            let first = if seg.flags.ack() { &mut f.synack_ts } else { &mut f.syn_ts };
            first.get_or_insert(ctx.ts);
        }
        if seg.flags.syn() && !seg.flags.ack() {
            f.work.syn_seen = true;
        }
        let (d, w) = f.dirs_mut(ctx.dir);
        if seg.flags.syn() {
            w.isn = Some(seg.seq);
        }
        d.packets += 1;
        let len = seg.payload_len;
        self.cur_fresh = Fresh::default();
        self.cur_mapping = None;
        if len > 0 {
            d.bytes += u64::from(len);
            // A SYN's payload (TCP Fast Open) starts after the SYN's own sequence number.
            let first = seg.seq.wrapping_add(u32::from(seg.flags.syn()));
            let start = SubflowSeq(first);
            let end = start + len as usize;
            // Bytes of subflow sequence space already carried are a TCP retransmission; bytes
            // filling a hole the capture had not seen are a first copy.
            let prev_next = w.seen.next().map(SubflowSeq);
            let fresh = w.seen.carry(first, len);
            let again = len.saturating_sub(fresh.total());
            self.cur_fresh = fresh;
            if again > 0 {
                d.retransmitted_bytes += u64::from(again);
                d.retransmitted_segments += 1;
                self.cur.tcp_retransmission = true;
            }
            match prev_next {
                // Karn: no RTT sample across a retransmission (or a late first copy).
                Some(next) if start < next => w.rtt_probe = None,
                _ => {
                    if w.rtt_probe.is_none() {
                        w.rtt_probe = Some((end, ctx.ts_ns));
                    }
                }
            }
        }
        if seg.flags.fin() {
            w.fin = true;
            w.fin_end = Some(seg.seq.wrapping_add(len).wrapping_add(1));
        }
        // This segment's ACK may complete an RTT probe of the other direction's data.
        if seg.flags.ack() {
            let (other, ow) = f.dirs_mut(ctx.dir.flip());
            if ow.fin_end.is_some_and(|e| SubflowSeq(seg.ack) >= SubflowSeq(e)) {
                ow.fin_acked = true;
            }
            if let Some(isn) = ow.isn {
                ow.mappings.prune(seg.ack.wrapping_sub(isn));
            }
            if let Some((end, sent)) = ow.rtt_probe {
                if SubflowSeq(seg.ack) >= end {
                    ow.rtt_probe = None;
                    let ms = ctx.ts_ns.saturating_sub(sent) as f64 / 1e6;
                    other.rtt.add(ms);
                    self.cur.rtt = Some((ctx.dir.flip(), ms));
                }
            }
        }
        if seg.flags.ack() && !seg.flags.syn() && f.established_ts.is_none() && f.work.synack_seen && ctx.dir == Dir::C2s {
            f.established_ts = Some(ctx.ts);
        }
        if seg.flags.syn() && seg.flags.ack() {
            f.work.synack_seen = true;
        }
        let was_closed = f.end.is_some();
        // RFC 9293 §3.10.7.3: in SYN-SENT a RST without ACK is ignored (servers send them in
        // answer to stray ACKs of a join whose SYN/ACK has not arrived yet); the SYN is then
        // retransmitted with the same ISN and the subflow goes on.
        let ignored_rst = seg.flags.rst() && !seg.flags.ack() && f.work.syn_seen && !f.work.synack_seen && ctx.dir == Dir::S2c;
        if ignored_rst {
            if let Some(cid) = f.connection {
                let max = self.limits.max_anomalies;
                if let Some(conn) = self.conns.get_mut(cid) {
                    conn.anomaly(max, ctx.frame, AnomalyKind::RstIgnoredInSynSent, || {
                        "RST without ACK to a subflow in SYN-SENT: ignored by the receiver (RFC 9293 §3.10.7.3)".into()
                    });
                }
            }
        } else if seg.flags.rst() {
            f.work.rst = true;
            if f.end.is_none() {
                f.end = Some(SubflowEnd { how: EndHow::Rst, frame: ctx.frame, ts: ctx.ts, reason: None });
            }
        } else if f.work.c2s.fin && f.work.s2c.fin && f.end.is_none() {
            f.end = Some(SubflowEnd { how: EndHow::Fin, frame: ctx.frame, ts: ctx.ts, reason: None });
        }
        if !was_closed && f.end.is_some() {
            let conn = f.connection;
            if conn.is_some() {
                self.event(ctx, EventKind::SfClosed, conn, |_| {});
                self.maybe_closed(ctx, conn);
            }
        }
    }

    /// A connection whose subflows have all ended is closed.
    fn maybe_closed(&mut self, ctx: &Ctx, conn: Option<usize>) {
        let Some(c) = conn else { return };
        let Some(connection) = self.conns.get(c) else { return };
        // A join whose SYN was never answered never opened: it does not keep the connection open.
        let all_closed = self.subflows_of(connection).all(|f| f.end.is_some() || f.unanswered());
        if all_closed && !matches!(connection.state, ConnState::Closed) {
            if let Some(connection) = self.conns.get_mut(c) {
                if connection.state != ConnState::FastClosed && connection.state != ConnState::Fallback {
                    connection.state = ConnState::Closed;
                }
                connection.end_ts = ctx.ts;
            }
            self.event(ctx, EventKind::Closed, conn, |_| {});
        }
    }
}

/// Swaps a flow's client and server (and everything per direction) when what the capture shows
/// later contradicts the guess made without a handshake.
pub(super) fn swap_roles(f: &mut Subflow) {
    std::mem::swap(&mut f.client, &mut f.server);
    std::mem::swap(&mut f.c2s, &mut f.s2c);
    std::mem::swap(&mut f.client_address_id, &mut f.server_address_id);
    if let Some(t) = f.tunnels.as_mut() {
        if let Some(x) = t.tunnel.as_mut() {
            std::mem::swap(&mut x.client_outer, &mut x.server_outer);
        }
        t.first.swap(0, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn packets_the_full_state_does_not_track_still_count_as_mptcp() {
        // A state budget of a few flows: later SYNs are refused, yet each packet with an MPTCP
        // option is one in the header's count.
        let limits = crate::track::Limits { max_state_bytes: 3 * crate::track::state::FLOW_COST, ..Default::default() };
        let mut f = Feed::with_limits(limits);
        for i in 0..50u16 {
            let client = format!("10.0.0.1:{}", 40000 + i);
            f.seg(u64::from(i), &client, SERVER, SYN, 1, 0, &capable_syn(0x01), &[]);
            f.seg(u64::from(i), &client, SERVER, ACK, 2, 1, &[], &[]);
        }
        let a = f.finish();
        assert!(a.stats.flows_dropped > 40, "{:?}", a.stats);
        assert_eq!((a.stats.tcp_packets, a.stats.mptcp_packets), (100, 50));
    }

    #[test]
    fn roles_come_from_the_syn_the_syn_ack_or_the_ports() {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 1, 0, &[], &[]);
        // No handshake: the end with the higher (ephemeral) port is the client.
        f.seg(1, "10.0.0.2:80", "10.0.0.1:50000", ACK, 7, 8, &[], b"x");
        // Only the SYN/ACK: its receiver is the client.
        f.seg(2, "10.0.0.9:443", "10.0.0.1:30000", SYN | ACK, 7, 8, &[], &[]);
        let a = f.finish();
        let roles: Vec<_> = a.subflows.iter().map(|s| (s.client, s.role_rule)).collect();
        assert_eq!(
            roles,
            vec![(sa(CLIENT), RoleRule::Syn), (sa("10.0.0.1:50000"), RoleRule::Ports), (sa("10.0.0.1:30000"), RoleRule::SynAck)]
        );
    }

    #[test]
    fn a_syn_on_a_closed_four_tuple_starts_a_new_flow() {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 100, 0, &[], &[]);
        f.seg(1, SERVER, CLIENT, SYN | ACK, 900, 101, &[], &[]);
        f.seg(2, CLIENT, SERVER, FIN | ACK, 101, 901, &[], &[]);
        f.seg(3, SERVER, CLIENT, FIN | ACK, 901, 102, &[], &[]);
        // A retransmitted SYN (same ISN) of a live flow would be the same flow; this one is new.
        f.seg(4, CLIENT, SERVER, SYN, 7777, 0, &[], &[]);
        let a = f.finish();
        assert_eq!(a.subflows.len(), 2);
        assert_eq!(a.subflows[0].end.as_ref().map(|e| e.how), Some(EndHow::Fin));
        assert_eq!(a.subflows[1].first_frame, 5);
    }

    #[test]
    fn stray_segments_before_a_syn_are_the_same_flow_s_prelude() {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, ACK, 100, 1, &[], &[]);
        f.seg(1, SERVER, CLIENT, RST, 1, 0, &[], &[]);
        f.seg(2, CLIENT, SERVER, SYN, 99, 0, &[], &[]);
        let a = f.finish();
        assert_eq!(a.subflows.len(), 1);
        assert_eq!(a.subflows[0].role_rule, RoleRule::Syn);
        assert_eq!(a.subflows[0].first_frame, 3);
    }

    #[test]
    fn bytes_sent_again_at_the_same_sequence_numbers_are_a_retransmission() {
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 0, 0, &[], &[]);
        f.seg(1, CLIENT, SERVER, ACK, 1, 1, &[], &[0; 100]);
        f.seg(2, CLIENT, SERVER, ACK, 51, 1, &[], &[0; 100]); // half old, half new
        let a = f.finish();
        let d = &a.subflows[0].c2s;
        assert_eq!((d.bytes, d.retransmitted_bytes, d.retransmitted_segments), (200, 50, 1));
    }

    #[test]
    fn rtt_is_sampled_send_to_ack_and_never_across_a_retransmission() {
        // Karn's rule (RFC 6298 §3): an ACK of retransmitted data gives no sample.
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 0, 0, &[], &[]);
        f.seg(10, CLIENT, SERVER, ACK, 1, 1, &[], &[0; 10]);
        f.seg(35, SERVER, CLIENT, ACK, 1, 11, &[], &[]);
        f.seg(40, CLIENT, SERVER, ACK, 11, 1, &[], &[0; 10]);
        f.seg(90, CLIENT, SERVER, ACK, 11, 1, &[], &[0; 10]);
        f.seg(95, SERVER, CLIENT, ACK, 1, 21, &[], &[]);
        let a = f.finish();
        let rtt = a.subflows[0].c2s.rtt;
        assert_eq!((rtt.samples, rtt.min_ms), (1, Some(25.0)));
    }

    #[test]
    fn a_rst_without_ack_in_syn_sent_is_ignored() {
        // RFC 9293 §3.10.7.3: in SYN-SENT, a RST is acceptable only if it ACKs the SYN.
        let mut f = Feed::new();
        f.seg(0, CLIENT, SERVER, SYN, 10, 0, &[], &[]);
        f.seg(1, SERVER, CLIENT, RST, 0, 0, &[], &[]);
        f.seg(2, SERVER, CLIENT, SYN | ACK, 500, 11, &[], &[]);
        f.seg(3, CLIENT, SERVER, RST | ACK, 11, 501, &[], &[]);
        let a = f.finish();
        let end = a.subflows[0].end.as_ref().unwrap();
        assert_eq!((end.how, end.frame), (EndHow::Rst, 4));
    }
}
