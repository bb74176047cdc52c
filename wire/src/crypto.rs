//! Tokens, IDSNs, HMACs and DSS checksums (RFC 8684 §3.1–3.4, RFC 6824 §3.1–3.3).
//!
//! Everything here works on fixed-size values: no allocation, no panics, whatever the inputs.
//! Comparisons are plain `==`: this crate analyses captures, it does not defend a secret, so
//! constant-time comparison buys nothing.
//!
//! ```
//! use mptcp_wire::crypto::{key_material, Idsn, Key, Token, Version};
//! let km = key_material(Version::V1, Key(0x1fdb5df328bc3def));
//! assert_eq!(km.token, Token(0x239fbdb0));
//! assert_eq!(km.idsn, Idsn(14413541604287230029));
//! // As every report writes them: keys and tokens in lowercase hex of fixed width, IDSNs in
//! // decimal (a JSON string, see `json`).
//! assert_eq!((Key(0x1f).to_string(), km.token.to_string()), ("000000000000001f".into(), "239fbdb0".into()));
//! assert_eq!(serde_json::to_string(&km.idsn).unwrap(), "\"14413541604287230029\"");
//! ```

use std::fmt;
use std::net::IpAddr;

use hmac::digest::{Key as HmacKey, KeyInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::seq::DataSeq;

/// A 64-bit MPTCP key (RFC 8684 §3.1), as MP_CAPABLE carries it. Written (`Display`, JSON) as
/// 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub u64);

/// A connection's 32-bit token (RFC 8684 §3.2): what MP_JOIN SYNs carry to name it. Written as
/// 8 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub u32);

/// An initial data sequence number (RFC 8684 §3.1): the DSN of the SYN, one below the first data
/// byte's. Written in decimal, and in JSON as a string of its digits (see [`crate::json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Idsn(pub u64);

impl Idsn {
    /// DSN of the first data byte: the IDSN plus one (the SYN takes one).
    pub fn first_dsn(self) -> DataSeq {
        DataSeq(self.0) + 1
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Display for Idsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

// JSON strings, as `Display` writes them (no allocation: `collect_str` formats into the output).
impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl serde::Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl serde::Serialize for Idsn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// MPTCP protocol version; it selects the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Version {
    /// RFC 6824: SHA-1 and HMAC-SHA1.
    V0,
    /// RFC 8684: SHA-256 and HMAC-SHA256.
    V1,
}

/// What a 64-bit key determines (RFC 8684 §3.1, RFC 6824 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct KeyMaterial {
    /// Most significant 32 bits of the key's hash; identifies the connection in MP_JOIN.
    pub token: Token,
    /// Least significant 64 bits of the key's hash: the initial data sequence number. The first
    /// data byte has DSN `idsn + 1`.
    pub idsn: Idsn,
}

/// Token and IDSN of `key`: hash the key's 8 big-endian bytes; the token is the digest's first 4
/// bytes, the IDSN its last 8, both read big-endian. For SHA-1 (20-byte digest) the IDSN is bytes
/// 12..20 — RFC 6824 §3.1 "least significant 64 bits", and what the Linux kernels do (upstream
/// `mptcp_crypto_key_sha`, out-of-tree `mptcp_key_sha1` followed by `ntohll`).
pub fn key_material(version: Version, key: Key) -> KeyMaterial {
    let input = key.0.to_be_bytes();
    match version {
        Version::V1 => {
            let digest: [u8; 32] = Sha256::digest(input).into();
            let [t0, t1, t2, t3, ..] = digest;
            let [.., i0, i1, i2, i3, i4, i5, i6, i7] = digest;
            KeyMaterial {
                token: Token(u32::from_be_bytes([t0, t1, t2, t3])),
                idsn: Idsn(u64::from_be_bytes([i0, i1, i2, i3, i4, i5, i6, i7])),
            }
        }
        Version::V0 => {
            let digest: [u8; 20] = Sha1::digest(input).into();
            let [t0, t1, t2, t3, ..] = digest;
            let [.., i0, i1, i2, i3, i4, i5, i6, i7] = digest;
            KeyMaterial {
                token: Token(u32::from_be_bytes([t0, t1, t2, t3])),
                idsn: Idsn(u64::from_be_bytes([i0, i1, i2, i3, i4, i5, i6, i7])),
            }
        }
    }
}

/// The HMAC key `first ‖ second` (both big-endian), zero-padded to the hash's block size.
///
/// RFC 2104 §2 zero-pads short keys to the block size itself, so this is the same key the
/// kernel's `mptcp_crypto_hmac_sha` uses; building the full block avoids the fallible
/// `new_from_slice`.
fn hmac_key<M: KeyInit>(first: Key, second: Key) -> HmacKey<M> {
    let mut key = HmacKey::<M>::default();
    let bytes = first.0.to_be_bytes().into_iter().chain(second.0.to_be_bytes());
    for (dst, src) in key.iter_mut().zip(bytes) {
        *dst = src;
    }
    key
}

/// The full HMAC over `key1 ‖ key2` and the concatenation of `parts`, padded on the right with
/// zeros to 32 bytes for SHA-1 (whose output is 20 bytes).
fn hmac_full(version: Version, key1: Key, key2: Key, parts: &[&[u8]]) -> [u8; 32] {
    match version {
        Version::V1 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new(&hmac_key::<Hmac<Sha256>>(key1, key2));
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().into()
        }
        Version::V0 => {
            let mut mac = <Hmac<Sha1> as KeyInit>::new(&hmac_key::<Hmac<Sha1>>(key1, key2));
            for part in parts {
                mac.update(part);
            }
            let short: [u8; 20] = mac.finalize().into_bytes().into();
            let mut out = [0u8; 32];
            for (dst, src) in out.iter_mut().zip(short) {
                *dst = src;
            }
            out
        }
    }
}

/// MP_JOIN SYN/ACK truncated HMAC (RFC 8684 §3.2): the leftmost 64 bits of
/// HMAC(Key=KeyB‖KeyA, Msg=NonceB‖NonceA). B is the SYN/ACK's sender, i.e. the host that
/// received the join SYN; A is the host that sent it.
pub fn join_synack_hmac(version: Version, key_b: Key, key_a: Key, nonce_b: u32, nonce_a: u32) -> u64 {
    let full = hmac_full(version, key_b, key_a, &[&nonce_b.to_be_bytes(), &nonce_a.to_be_bytes()]);
    let [h0, h1, h2, h3, h4, h5, h6, h7, ..] = full;
    u64::from_be_bytes([h0, h1, h2, h3, h4, h5, h6, h7])
}

/// MP_JOIN third-ACK HMAC (RFC 8684 §3.2): the leftmost 160 bits of
/// HMAC(Key=KeyA‖KeyB, Msg=NonceA‖NonceB), A being the host that sent the join SYN. With v0
/// (HMAC-SHA1) that is the whole HMAC.
pub fn join_ack_hmac(version: Version, key_a: Key, key_b: Key, nonce_a: u32, nonce_b: u32) -> [u8; 20] {
    let full = hmac_full(version, key_a, key_b, &[&nonce_a.to_be_bytes(), &nonce_b.to_be_bytes()]);
    let mut out = [0u8; 20];
    for (dst, src) in out.iter_mut().zip(full) {
        *dst = src;
    }
    out
}

/// ADD_ADDR HMAC (RFC 8684 §3.4.1, v1 only — v0 ADD_ADDR carries none): the full HMAC-SHA256
/// with Key = sender's key ‖ receiver's key and Msg = address id ‖ address ‖ port, the port two
/// big-endian bytes and 0 when the option has none (as the kernel's `add_addr_generate_hmac`).
///
/// `addr` is hashed in the family it was sent in: an IPv4 address carried in an IPv6 ADD_ADDR
/// (`::ffff:a.b.c.d`) must be passed as `IpAddr::V6`, not canonicalised.
pub fn add_addr_hmac(sender_key: Key, receiver_key: Key, address_id: u8, addr: IpAddr, port: Option<u16>) -> [u8; 32] {
    let port = port.unwrap_or(0).to_be_bytes();
    let id = [address_id];
    match addr {
        IpAddr::V4(a) => hmac_full(Version::V1, sender_key, receiver_key, &[&id, &a.octets(), &port]),
        IpAddr::V6(a) => hmac_full(Version::V1, sender_key, receiver_key, &[&id, &a.octets(), &port]),
    }
}

/// How a captured ADD_ADDR truncated HMAC relates to the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AddAddrHmacVerdict {
    /// The rightmost 64 bits, as RFC 8684 §3.4.1 asks.
    Pass,
    /// The leftmost 64 bits: what Linux 5.7 sent before commit "mptcp: use rightmost 64 bits in
    /// ADD_ADDR HMAC" (5.8). Correct key material, non-conforming sender.
    LegacyLeftmost,
    /// Neither: wrong keys, a middlebox rewrote the address/port, or a forged option.
    Fail,
}

/// Check the 64-bit HMAC of a (non-echo) ADD_ADDR; see [`add_addr_hmac`] for the arguments.
pub fn check_add_addr_hmac(
    sender_key: Key,
    receiver_key: Key,
    address_id: u8,
    addr: IpAddr,
    port: Option<u16>,
    wire_hmac: u64,
) -> AddAddrHmacVerdict {
    let full = add_addr_hmac(sender_key, receiver_key, address_id, addr, port);
    let [l0, l1, l2, l3, l4, l5, l6, l7, ..] = full;
    let [.., r0, r1, r2, r3, r4, r5, r6, r7] = full;
    if wire_hmac == u64::from_be_bytes([r0, r1, r2, r3, r4, r5, r6, r7]) {
        AddAddrHmacVerdict::Pass
    } else if wire_hmac == u64::from_be_bytes([l0, l1, l2, l3, l4, l5, l6, l7]) {
        AddAddrHmacVerdict::LegacyLeftmost
    } else {
        AddAddrHmacVerdict::Fail
    }
}

/// Incremental DSS checksum of one mapping (RFC 8684 §3.3.1).
///
/// The sum covers a pseudo-header — the 64-bit DSN (even when the option carried 4 bytes), the
/// 32-bit relative subflow sequence number, the 16-bit data-level length and 16 zero bits where
/// the checksum goes — followed by the mapping's payload, which may arrive in several segments.
/// Feed the segments' mapped bytes in subflow order with [`update`](Self::update); an odd-length
/// piece leaves a byte pending that pairs with the next piece's first byte.
///
/// `data_level_length` is the value from the option, which counts the DATA_FIN's sequence byte
/// when the F flag is set; the payload fed in is only the real data bytes (one fewer than the
/// length in that case). The kernel does the same: `validate_data_csum` sums `map_data_len`
/// bytes of data but puts `map_data_len + map_data_fin` in the pseudo-header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DssChecksum {
    /// Ones' complement sum of whole 16-bit words so far, folded after every call to stay small.
    sum: u64,
    /// Payload bytes fed so far.
    len: u64,
}

impl DssChecksum {
    /// Start a mapping's checksum with its pseudo-header.
    pub fn new(dsn: u64, subflow_seq: u32, data_level_length: u16) -> Self {
        let words = [
            dsn >> 48,
            (dsn >> 32) & 0xffff,
            (dsn >> 16) & 0xffff,
            dsn & 0xffff,
            u64::from(subflow_seq >> 16),
            u64::from(subflow_seq & 0xffff),
            u64::from(data_level_length),
            // The checksum field itself counts as zero.
        ];
        DssChecksum { sum: words.iter().sum(), len: 0 }
    }

    /// Add the next piece of the mapping's payload.
    pub fn update(&mut self, payload: &[u8]) {
        let mut rest = payload;
        // The previous piece ended on an odd byte: ours is the low half of that word.
        if self.len % 2 == 1 {
            if let Some((&first, tail)) = rest.split_first() {
                self.sum += u64::from(first);
                rest = tail;
            }
        }
        let mut words = rest.chunks_exact(2);
        for word in &mut words {
            if let [hi, lo] = word {
                self.sum += u64::from(u16::from_be_bytes([*hi, *lo]));
            }
        }
        if let [last] = words.remainder() {
            self.sum += u64::from(*last) << 8;
        }
        self.len = self.len.wrapping_add(payload.len() as u64);
        // 2^32 ≡ 1 (mod 2^16 - 1): folding keeps the ones' complement value and bounds the sum.
        self.sum = (self.sum & 0xffff_ffff) + (self.sum >> 32);
    }

    /// Payload bytes fed so far; the mapping is complete when this reaches the data-level length
    /// (minus one with DATA_FIN).
    pub fn payload_len(&self) -> u64 {
        self.len
    }

    /// Ones' complement sum folded to 16 bits (not complemented).
    fn folded(sum: u64) -> u16 {
        let mut s = sum;
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    /// The checksum a conforming sender puts on the wire for what was fed so far (read the
    /// option's two bytes big-endian to compare).
    pub fn finish(&self) -> u16 {
        !Self::folded(self.sum)
    }

    /// Whether `wire` (the option's checksum field read big-endian) is right.
    ///
    /// Like the kernel (`__mptcp_make_csum` over the payload sum seeded with the received
    /// checksum, then `csum_fold(..) == 0`), this sums everything including the received value
    /// and checks the total is ones' complement zero, so both encodings of zero (0x0000 and
    /// 0xffff) are accepted.
    pub fn verify(&self, wire: u16) -> bool {
        Self::folded(self.sum + u64::from(wire)) == 0xffff
    }

    /// Like [`verify`](Self::verify), but also recognises the byte-swapped encoding that Linux
    /// 5.14–5.18 on little-endian hosts wrote before "mptcp: fix checksum byte order"
    /// (ba2c89e0ea74, May 2022; also in 5.15.42 and 5.17.10 stable).
    pub fn check(&self, wire: u16) -> DssChecksumVerdict {
        if self.verify(wire) {
            DssChecksumVerdict::Pass
        } else if self.verify(wire.swap_bytes()) {
            DssChecksumVerdict::LegacyByteSwapped
        } else {
            DssChecksumVerdict::Fail
        }
    }
}

/// How a captured DSS checksum relates to the payload it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DssChecksumVerdict {
    /// Correct (either encoding of ones' complement zero).
    Pass,
    /// Correct once its two bytes are swapped: a Linux 5.14–5.18 little-endian sender. Such a
    /// peer and a fixed peer see each other's checksums fail (the kernel then falls back to TCP
    /// or resets the subflow).
    LegacyByteSwapped,
    /// Wrong: payload or pseudo-header changed in transit, or the mapping was not reassembled
    /// as sent.
    Fail,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const KEY_A: Key = Key(0x1fdb5df328bc3def);
    const KEY_B: Key = Key(0x29a6c86981ad933c);
    const NONCE_A: u32 = 0x0102_0304;
    const NONCE_B: u32 = 0xa0b0_c0d0;

    #[test]
    fn key_material_v1_vectors() {
        assert_eq!(key_material(Version::V1, KEY_A), KeyMaterial { token: Token(0x239fbdb0), idsn: Idsn(14413541604287230029) });
        assert_eq!(key_material(Version::V1, KEY_B), KeyMaterial { token: Token(0xa35d6d82), idsn: Idsn(11713449205243392241) });
    }

    #[test]
    fn key_material_v0_vector() {
        assert_eq!(key_material(Version::V0, KEY_A), KeyMaterial { token: Token(0x7550f54b), idsn: Idsn(17069008146799116759) });
    }

    // Expected values computed independently with Python 3:
    //   import hmac, hashlib, struct
    //   h = hashlib.sha256  # hashlib.sha1 for v0
    //   synack = hmac.new(struct.pack(">QQ", KEY_B, KEY_A), struct.pack(">II", NONCE_B, NONCE_A), h).digest()[:8]
    //   ack    = hmac.new(struct.pack(">QQ", KEY_A, KEY_B), struct.pack(">II", NONCE_A, NONCE_B), h).digest()[:20]
    #[test]
    fn join_hmacs_match_python_v1() {
        assert_eq!(join_synack_hmac(Version::V1, KEY_B, KEY_A, NONCE_B, NONCE_A), 0xc9c3f83fe022176a);
        assert_eq!(join_ack_hmac(Version::V1, KEY_A, KEY_B, NONCE_A, NONCE_B), hex20("6aa6beeb783cc56f5a70ae17530620a54921d981"));
    }

    #[test]
    fn join_hmacs_match_python_v0() {
        assert_eq!(join_synack_hmac(Version::V0, KEY_B, KEY_A, NONCE_B, NONCE_A), 0x453f459e64f61aa1);
        assert_eq!(join_ack_hmac(Version::V0, KEY_A, KEY_B, NONCE_A, NONCE_B), hex20("b93a869f5f5bb1edbb4b34dfd7bf413cc630bf0e"));
    }

    #[test]
    fn join_hmac_argument_order_matters() {
        // Swapping the roles must not verify: catches a tracker passing A/B the wrong way round.
        assert_ne!(
            join_synack_hmac(Version::V1, KEY_B, KEY_A, NONCE_B, NONCE_A),
            join_synack_hmac(Version::V1, KEY_A, KEY_B, NONCE_A, NONCE_B)
        );
    }

    fn hex20(s: &str) -> [u8; 20] {
        let mut out = [0u8; 20];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    const ADD_SENDER: Key = Key(0x73bb150358a0aecb);
    const ADD_RECEIVER: Key = Key(0x8f0c7c64a6a32ac1);
    const ADD_ADDR4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 136, 225));

    #[test]
    fn add_addr_hmac_vector() {
        let full = add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 1, ADD_ADDR4, None);
        assert_eq!(full[..8], 0x669928744366716cu64.to_be_bytes());
        assert_eq!(full[24..], 0xe0e054c3444e4c25u64.to_be_bytes());
        // "no port" hashes as port 0.
        assert_eq!(full, add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 1, ADD_ADDR4, Some(0)));
    }

    #[test]
    fn add_addr_hmac_verdicts() {
        let check = |wire| check_add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 1, ADD_ADDR4, None, wire);
        assert_eq!(check(0xe0e054c3444e4c25), AddAddrHmacVerdict::Pass);
        assert_eq!(check(0x669928744366716c), AddAddrHmacVerdict::LegacyLeftmost);
        for bit in 0..64 {
            assert_eq!(check(0xe0e054c3444e4c25 ^ (1 << bit)), AddAddrHmacVerdict::Fail, "bit {bit}");
            assert_eq!(check(0x669928744366716c ^ (1 << bit)), AddAddrHmacVerdict::Fail, "bit {bit}");
        }
        // Keys the wrong way round (receiver ‖ sender) fail.
        assert_eq!(check_add_addr_hmac(ADD_RECEIVER, ADD_SENDER, 1, ADD_ADDR4, None, 0xe0e054c3444e4c25), AddAddrHmacVerdict::Fail);
    }

    // Python 3: hmac.new(struct.pack(">QQ", ADD_SENDER, ADD_RECEIVER),
    //   bytes([7]) + ipaddress.ip_address("2001:db8::1").packed + struct.pack(">H", 8080),
    //   hashlib.sha256).hexdigest()
    #[test]
    fn add_addr_hmac_ipv6_with_port_matches_python() {
        let addr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        let full = add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 7, addr, Some(8080));
        let hex: String = full.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ece2ad001950aae89f7b4d816e402ca43ced03a0e88e6bac961c3970f561fc34");
        assert_eq!(check_add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 7, addr, Some(8080), 0x961c3970f561fc34), AddAddrHmacVerdict::Pass);
        // The port is part of the message.
        assert_eq!(check_add_addr_hmac(ADD_SENDER, ADD_RECEIVER, 7, addr, None, 0x961c3970f561fc34), AddAddrHmacVerdict::Fail);
    }

    const DSN: u64 = 0x0123456789abcdef;
    const PAYLOAD: &[u8] = b"ABCDEFGHIJKLM"; // 13 bytes: odd on purpose

    // Python 3 (independent ones' complement sum over the pseudo-header and payload):
    //   data = struct.pack(">QIHH", dsn, seq, length, 0) + payload + (b"\0" if odd)
    //   s = sum of big-endian 16-bit words; fold carries; checksum = ~s & 0xffff
    // gives 0x6f11 for (0x0123456789abcdef, 0x10, 13, b"ABCDEFGHIJKLM") and 0x0d54 for
    // (0xfffffffffffffff0, 1, 14, b"ABCDEFGHIJKLM") — the latter a mapping ending in DATA_FIN.
    #[test]
    fn dss_checksum_matches_python() {
        let mut c = DssChecksum::new(DSN, 0x10, 13);
        c.update(PAYLOAD);
        assert_eq!(c.finish(), 0x6f11);
        assert!(c.verify(0x6f11));
        assert_eq!(c.check(0x6f11), DssChecksumVerdict::Pass);
        assert_eq!(c.check(0x116f), DssChecksumVerdict::LegacyByteSwapped);
        assert_eq!(c.payload_len(), 13);

        // DATA_FIN: the length counts the FIN byte, the payload does not.
        let mut fin = DssChecksum::new(0xffff_ffff_ffff_fff0, 1, 14);
        fin.update(PAYLOAD);
        assert_eq!(fin.finish(), 0x0d54);
    }

    #[test]
    fn dss_checksum_same_for_every_split() {
        let whole = {
            let mut c = DssChecksum::new(DSN, 0x10, 13);
            c.update(PAYLOAD);
            c
        };
        for i in 0..=PAYLOAD.len() {
            for j in i..=PAYLOAD.len() {
                let mut c = DssChecksum::new(DSN, 0x10, 13);
                c.update(&PAYLOAD[..i]);
                c.update(&[]);
                c.update(&PAYLOAD[i..j]);
                c.update(&PAYLOAD[j..]);
                assert_eq!(c.finish(), whole.finish(), "split at {i}, {j}");
                assert_eq!(c, whole, "split at {i}, {j}");
            }
        }
        // One byte at a time.
        let mut c = DssChecksum::new(DSN, 0x10, 13);
        for b in PAYLOAD {
            c.update(std::slice::from_ref(b));
        }
        assert_eq!(c.finish(), 0x6f11);
    }

    #[test]
    fn dss_checksum_detects_every_single_bit_flip() {
        let mut payload = PAYLOAD.to_vec();
        for bit in 0..payload.len() * 8 {
            payload[bit / 8] ^= 1 << (bit % 8);
            let mut c = DssChecksum::new(DSN, 0x10, 13);
            c.update(&payload[..5]);
            c.update(&payload[5..]);
            assert!(!c.verify(0x6f11), "bit {bit}");
            payload[bit / 8] ^= 1 << (bit % 8);
        }
    }

    #[test]
    fn dss_checksum_pseudo_header_fields_count() {
        let base = {
            let mut c = DssChecksum::new(DSN, 0x10, 13);
            c.update(PAYLOAD);
            c.finish()
        };
        for (dsn, seq, len) in [(DSN ^ (1 << 40), 0x10, 13), (DSN, 0x11, 13), (DSN, 0x10, 14)] {
            let mut c = DssChecksum::new(dsn, seq, len);
            c.update(PAYLOAD);
            assert!(!c.verify(base), "{dsn:#x} {seq} {len}");
        }
    }

    #[test]
    fn dss_checksum_accepts_both_zeros() {
        // Pseudo-header and payload summing to 0xffff: the conforming checksum is 0x0000, and the
        // other ones' complement zero, 0xffff, verifies too (as in the kernel).
        let mut c = DssChecksum::new(0, 0, 0);
        c.update(&[0xff, 0xff]);
        assert_eq!(c.finish(), 0x0000);
        assert!(c.verify(0x0000));
        assert!(c.verify(0xffff));
        assert!(!c.verify(0x0001));
    }

    // Python 3, the same independent sum as above over 1024 odd-length (4095-byte) blocks of
    // i % 251, i.e. 4 MiB with every other update starting mid-word:
    //   block = bytes(i % 251 for i in range(4095)); csum(2**64-1, 2**32-1, 65535, block * 1024)
    // gives 0x9494. (The old all-0xff payload summed to 0xffff whatever the carries did.)
    #[test]
    fn dss_checksum_large_payload_does_not_overflow() {
        let block: Vec<u8> = (0..4095u32).map(|i| (i % 251) as u8).collect();
        let mut c = DssChecksum::new(u64::MAX, u32::MAX, u16::MAX);
        for _ in 0..1024 {
            c.update(&block);
        }
        assert_eq!(c.finish(), 0x9494);
        assert!(c.verify(0x9494));
    }
}
