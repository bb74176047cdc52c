//! How a subflow is recognised at both capture points, a NAT between them or not: what its SYN
//! or SYN/ACK says that a NAT does not rewrite.
use std::net::IpAddr;

use super::model::LinkedBy;
use mptcp_wire::decode::TcpSegment;

pub(super) type Flow4 = (IpAddr, u16, IpAddr, u16);

/// What a SYN or SYN/ACK says about its subflow that a NAT does not rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Ident {
    /// MP_JOIN SYN: receiver's token, sender's address id, sender's nonce.
    JoinSyn(u32, u8, u32),
    /// MP_JOIN SYN/ACK: address id, truncated HMAC, nonce.
    JoinSynAck(u8, u64, u32),
    /// MP_CAPABLE with the sender's key (v0 SYN; SYN/ACK of both versions); true: SYN/ACK.
    Key(bool, u64),
    /// The ISN; SYN/ACK (true): with the acknowledged number.
    Isn(bool, u32, u32),
}

impl Ident {
    pub(super) fn how(self) -> LinkedBy {
        match self {
            Ident::JoinSyn(..) | Ident::JoinSynAck(..) => LinkedBy::MpJoin,
            Ident::Key(..) => LinkedBy::MpCapableKey,
            Ident::Isn(..) => LinkedBy::Isn,
        }
    }
}

/// The identities of a SYN or SYN/ACK, most specific first.
pub(super) fn idents(seg: &TcpSegment<'_>) -> Vec<Ident> {
    use mptcp_wire::options::mptcp::{MpJoin, MptcpOption};
    let synack = seg.flags.ack();
    let mut v = Vec::with_capacity(2);
    for o in mptcp_wire::options::mptcp_options(seg.options).flatten() {
        match o.1 {
            MptcpOption::Join(MpJoin::Syn(j)) if !synack => v.push(Ident::JoinSyn(j.token, j.address_id, j.nonce)),
            MptcpOption::Join(MpJoin::SynAck(j)) if synack => v.push(Ident::JoinSynAck(j.address_id, j.hmac, j.nonce)),
            MptcpOption::Capable(c) => {
                if let Some(k) = c.sender_key {
                    v.push(Ident::Key(synack, k));
                }
            }
            _ => {}
        }
    }
    v.push(Ident::Isn(synack, seg.seq, if synack { seg.ack } else { 0 }));
    v
}
