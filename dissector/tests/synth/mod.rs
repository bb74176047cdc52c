//! Hand-built captures for what the kernel here does not send (MPTCP v0, 4-byte DSNs and data
//! ACKs, ADD_ADDR with ports and IPv6, MP_FAIL, MP_EXPERIMENTAL, unknown subtypes). Every option
//! is written byte by byte from RFC 6824 / RFC 8684, not with the library's emitters, and keys,
//! tokens and HMACs are computed here with the sha1/hmac crates directly.
#![allow(dead_code)]

use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const RST: u8 = 0x04;
pub const FIN: u8 = 0x01;

/// A classic pcap (µs, little-endian) of raw IP packets (LINKTYPE_RAW 101).
pub struct Pcap {
    pub bytes: Vec<u8>,
    ts_us: u64,
}

impl Pcap {
    pub fn new() -> Self {
        let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        b.extend([0u8; 8]);
        b.extend(65535u32.to_le_bytes());
        b.extend(101u32.to_le_bytes());
        Pcap { bytes: b, ts_us: 1_700_000_000_000_000 }
    }

    pub fn push(&mut self, packet: &[u8]) {
        self.ts_us += 1000;
        self.bytes.extend(((self.ts_us / 1_000_000) as u32).to_le_bytes());
        self.bytes.extend(((self.ts_us % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend((packet.len() as u32).to_le_bytes());
        self.bytes.extend((packet.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(packet);
    }
}

/// An IPv4 TCP packet; `options` are padded with leading NOPs to a multiple of 4.
#[allow(clippy::too_many_arguments)]
pub fn tcp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let tcp = tcp_header(sport, dport, seq, ack, flags, options, payload);
    let total = 20 + tcp.len();
    let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 6, 0, 0];
    p.extend(src);
    p.extend(dst);
    p.extend(tcp);
    p
}

/// An IPv6 TCP packet.
#[allow(clippy::too_many_arguments)]
pub fn tcp6(
    src: [u8; 16],
    dst: [u8; 16],
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let tcp = tcp_header(sport, dport, seq, ack, flags, options, payload);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend((tcp.len() as u16).to_be_bytes());
    p.extend([6, 64]);
    p.extend(src);
    p.extend(dst);
    p.extend(tcp);
    p
}

fn tcp_header(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let pad = (4 - options.len() % 4) % 4;
    let hlen = 20 + options.len() + pad;
    let mut t = Vec::new();
    t.extend(sport.to_be_bytes());
    t.extend(dport.to_be_bytes());
    t.extend(seq.to_be_bytes());
    t.extend(ack.to_be_bytes());
    t.extend([((hlen / 4) << 4) as u8, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend(std::iter::repeat_n(1u8, pad));
    t.extend_from_slice(options);
    t.extend_from_slice(payload);
    t
}

/// A kind-30 option around `body` (which starts with the subtype byte).
pub fn mptcp(body: &[u8]) -> Vec<u8> {
    let mut o = vec![30, (body.len() + 2) as u8];
    o.extend_from_slice(body);
    o
}

/// RFC 6824 §3.1: token = most significant 32 bits of SHA-1(key), IDSN = least significant 64.
pub fn v0_token_idsn(key: u64) -> (u32, u64) {
    let d = Sha1::digest(key.to_be_bytes());
    let token = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let mut low = [0u8; 8];
    low.copy_from_slice(&d[12..20]);
    (token, u64::from_be_bytes(low))
}

/// HMAC-SHA1(key_first ‖ key_second, msg_first ‖ msg_second) (RFC 6824 §3.2).
pub fn v0_hmac(key_first: u64, key_second: u64, r_first: u32, r_second: u32) -> [u8; 20] {
    let mut key = key_first.to_be_bytes().to_vec();
    key.extend(key_second.to_be_bytes());
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("any key length");
    mac.update(&r_first.to_be_bytes());
    mac.update(&r_second.to_be_bytes());
    mac.finalize().into_bytes().into()
}

pub const KEY_A: u64 = 0x0123_4567_89ab_cdef;
pub const KEY_B: u64 = 0xfedc_ba98_7654_3210;
pub const NONCE_A: u32 = 0x1111_2222;
pub const NONCE_B: u32 = 0x3333_4444;
pub const CLIENT: [u8; 4] = [192, 0, 2, 1];
pub const CLIENT2: [u8; 4] = [198, 51, 100, 1];
pub const SERVER: [u8; 4] = [192, 0, 2, 2];
pub const DATA: &[u8] = b"hello over MPTCP v0 with a 4-byte DSN";

/// A complete v0 connection: handshake with keys in SYN/SYN-ACK/ACK (HMAC-SHA1 flag), data with
/// 4-byte DSN and data ACK, v0 ADD_ADDRs with ports (IPv4, IPv6), a join with HMAC-SHA1, MP_PRIO,
/// DATA_FIN with 8-byte DSN/ACK, and MP_FASTCLOSE / MP_TCPRST at the end.
pub fn v0_connection() -> Vec<u8> {
    let mut p = Pcap::new();
    let (_, idsn_a) = v0_token_idsn(KEY_A);
    let (token_b, idsn_b) = v0_token_idsn(KEY_B);
    let (isn_c, isn_s) = (1000u32, 5000u32);
    let cap = |key: &[u8]| {
        let mut b = vec![0x00, 0x01]; // subtype 0, version 0; flags: H (HMAC-SHA1)
        b.extend_from_slice(key);
        mptcp(&b)
    };
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c, 0, SYN, &cap(&KEY_A.to_be_bytes()), &[]));
    p.push(&tcp4(SERVER, CLIENT, 80, 40000, isn_s, isn_c + 1, SYN | ACK, &cap(&KEY_B.to_be_bytes()), &[]));
    let mut both = KEY_A.to_be_bytes().to_vec();
    both.extend(KEY_B.to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c + 1, isn_s + 1, ACK, &cap(&both), &[]));
    // Data with a 4-byte data ACK and 4-byte DSN: flags A|M = 0x05.
    let dsn = idsn_a.wrapping_add(1);
    let mut dss = vec![0x20, 0x05];
    dss.extend((idsn_b.wrapping_add(1) as u32).to_be_bytes());
    dss.extend((dsn as u32).to_be_bytes());
    dss.extend(1u32.to_be_bytes());
    dss.extend((DATA.len() as u16).to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c + 1, isn_s + 1, ACK, &mptcp(&dss), DATA));
    // Server: data ACK (4 bytes) and two v0 ADD_ADDRs with ports.
    let mut ack = vec![0x20, 0x01];
    ack.extend((dsn.wrapping_add(DATA.len() as u64) as u32).to_be_bytes());
    let mut opts = mptcp(&ack);
    opts.extend(mptcp(&[0x34, 5, 203, 0, 113, 9, 0x1f, 0x90])); // ADD_ADDR v0 IPv4 id 5 port 8080
    p.push(&tcp4(SERVER, CLIENT, 80, 40000, isn_s + 1, isn_c + 1 + DATA.len() as u32, ACK, &opts, &[]));
    let mut a6 = vec![0x36, 6];
    a6.extend([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    a6.extend(443u16.to_be_bytes());
    p.push(&tcp4(SERVER, CLIENT, 80, 40000, isn_s + 1, isn_c + 1 + DATA.len() as u32, ACK, &mptcp(&a6), &[]));
    // Join from the client's second address (RFC 6824 §3.2).
    let (jc, js) = (7000u32, 9000u32);
    let mut syn = vec![0x10, 2];
    syn.extend(token_b.to_be_bytes());
    syn.extend(NONCE_A.to_be_bytes());
    p.push(&tcp4(CLIENT2, SERVER, 40001, 80, jc, 0, SYN, &mptcp(&syn), &[]));
    let hmac_b = v0_hmac(KEY_B, KEY_A, NONCE_B, NONCE_A);
    let mut synack = vec![0x10, 0];
    synack.extend_from_slice(&hmac_b[..8]);
    synack.extend(NONCE_B.to_be_bytes());
    p.push(&tcp4(SERVER, CLIENT2, 80, 40001, js, jc + 1, SYN | ACK, &mptcp(&synack), &[]));
    let mut jack = vec![0x10, 0x00];
    jack.extend_from_slice(&v0_hmac(KEY_A, KEY_B, NONCE_A, NONCE_B));
    p.push(&tcp4(CLIENT2, SERVER, 40001, 80, jc + 1, js + 1, ACK, &mptcp(&jack), &[]));
    // MP_PRIO: backup without an address id (length 3), then with one (length 4).
    p.push(&tcp4(CLIENT2, SERVER, 40001, 80, jc + 1, js + 1, ACK, &mptcp(&[0x51]), &[]));
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c + 1 + DATA.len() as u32, isn_s + 1, ACK, &mptcp(&[0x50, 2]), &[]));
    // DATA_FIN with 8-byte data ACK and DSN: F|m|M|a|A = 0x1f, subflow seq 0, length 1.
    let mut fin = vec![0x20, 0x1f];
    fin.extend(idsn_b.wrapping_add(1).to_be_bytes());
    fin.extend(dsn.wrapping_add(DATA.len() as u64).to_be_bytes());
    fin.extend(0u32.to_be_bytes());
    fin.extend(1u16.to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c + 1 + DATA.len() as u32, isn_s + 1, ACK, &mptcp(&fin), &[]));
    // MP_FASTCLOSE from the client carries the server's key; MP_TCPRST (transient, reason 3).
    let mut fc = vec![0x70, 0x00];
    fc.extend(KEY_B.to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 40000, 80, isn_c + 1 + DATA.len() as u32, isn_s + 1, ACK, &mptcp(&fc), &[]));
    p.push(&tcp4(CLIENT2, SERVER, 40001, 80, jc + 1, js + 1, RST | ACK, &mptcp(&[0x81, 3]), &[]));
    p.bytes
}

/// Options no connection here carries: MP_FAIL, MP_EXPERIMENTAL, an unknown subtype, a v1
/// ADD_ADDR over IPv6 with port and HMAC, a v1 echo, MP_CAPABLE v1 with data and checksum.
pub fn option_zoo() -> Vec<u8> {
    let mut p = Pcap::new();
    let c6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let s6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut fail = vec![0x60, 0x00];
    fail.extend(0x0102_0304_0506_0708u64.to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 41000, 81, 1, 1, ACK, &mptcp(&fail), &[]));
    p.push(&tcp4(CLIENT, SERVER, 41000, 81, 1, 1, ACK, &mptcp(&[0xf0, 0xaa, 0xbb, 0xcc]), &[]));
    p.push(&tcp4(CLIENT, SERVER, 41000, 81, 1, 1, ACK, &mptcp(&[0x90, 0x01]), &[]));
    let mut add = vec![0x30, 7];
    add.extend(s6);
    add.extend(8443u16.to_be_bytes());
    add.extend(0x1122_3344_5566_7788u64.to_be_bytes());
    p.push(&tcp6(s6, c6, 81, 41001, 1, 1, ACK, &mptcp(&add), &[]));
    let mut echo = vec![0x31, 7];
    echo.extend(s6);
    echo.extend(8443u16.to_be_bytes());
    p.push(&tcp6(c6, s6, 41001, 81, 1, 1, ACK, &mptcp(&echo), &[]));
    let mut cap = vec![0x01, 0x81];
    cap.extend(KEY_A.to_be_bytes());
    cap.extend(KEY_B.to_be_bytes());
    cap.extend(5u16.to_be_bytes());
    cap.extend(0xbeefu16.to_be_bytes());
    p.push(&tcp4(CLIENT, SERVER, 41002, 82, 1, 1, ACK, &mptcp(&cap), b"hello"));
    p.bytes
}
