//! decode::decode for every supported link type, then the MPTCP option walk of the segment.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptcp_wire::decode::*;
use mptcp_wire::options::{has_mptcp, mptcp_options};

const LINKTYPES: [u32; 11] = [
    LINKTYPE_NULL,
    LINKTYPE_ETHERNET,
    LINKTYPE_PPP,
    LINKTYPE_RAW_OLD,
    LINKTYPE_PPP_HDLC,
    LINKTYPE_RAW,
    LINKTYPE_LOOP,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_IPV4,
    LINKTYPE_IPV6,
    LINKTYPE_LINUX_SLL2,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the link type the seed was captured with; every other link type
    // still gets the same bytes, so the seeds also exercise the other link decoders.
    let (first, rest) = match data.split_first() {
        Some((b, r)) => (usize::from(*b) % LINKTYPES.len(), r),
        None => (0, data),
    };
    for (i, lt) in LINKTYPES.iter().enumerate() {
        if i != first && rest.len() > 256 {
            continue; // keep executions fast on large seeds
        }
        if let Decoded::Tcp(seg) = decode(*lt, rest) {
            let _ = endpoints(&seg);
            let _ = has_mptcp(seg.options);
            for o in mptcp_options(seg.options) {
                if let Ok((_, opt)) = o {
                    let _ = opt.to_string();
                }
            }
        }
    }
});
