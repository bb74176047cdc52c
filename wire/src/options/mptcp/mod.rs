//! MPTCP option grammar: TCP option kind 30, RFC 8684 (v1) and RFC 6824 (v0).
//!
//! [`parse`] takes one whole TCP option (`[30, len, subtype|…, …]`) and returns a typed
//! [`MptcpOption`] that borrows HMACs, address-id lists and unknown bodies from the packet.
//! [`MptcpOption::emit`] writes the option back; for every option that parses, emit gives the
//! same bytes back (reserved bits are kept as data).
//!
//! What is an error and what is data (see STYLE.md):
//! - a known subtype with a length that its grammar does not allow is an [`OptionError`] carrying
//!   the byte offset within the option and what was expected;
//! - an unknown subtype (9..=14) or MP_EXPERIMENTAL (15) is kept raw, not an error;
//! - reserved bits and flag bits with no meaning are kept, not rejected.
//!
//! Each grammar is a nom parser in its own file, over `complete` input (see `grammar.rs` for
//! the error type that keeps offsets and expected lengths). Nothing here panics on input bytes:
//! the `complete` parsers fail rather than read past the end, and no input is indexed.
//!
//! ```
//! use mptcp_wire::options::mptcp::{parse, MptcpOption};
//! // MP_CAPABLE v1 as sent in a Linux SYN/ACK: flags A|H, the server's key.
//! let wire = [30, 12, 0x01, 0x81, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
//! let opt = parse(&wire).unwrap();
//! let MptcpOption::Capable(c) = &opt else { panic!() };
//! assert_eq!(c.sender_key, Some(0x1122_3344_5566_7788));
//! assert_eq!(opt.to_string(), "mptcp capable v1 flags 0x81 {0x1122334455667788}");
//! let mut buf = [0u8; 40];
//! let n = opt.emit(&mut buf).unwrap();
//! assert_eq!(&buf[..n], &wire);
//! ```

use std::fmt;

use nom::combinator::{eof, opt, peek, rest};
use nom::Parser;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use grammar::{field, GrammarError, PResult};

mod add_addr;
#[cfg(any(test, feature = "proptest"))]
pub mod arb;
mod capable;
mod dss;
mod fail;
mod fastclose;
mod grammar;
mod join;
mod prio;
mod remove_addr;
mod tcprst;

pub use add_addr::{AddAddr, AddAddrVersion};
pub use capable::MpCapable;
pub use dss::{DataAck, Dss, DssMapping, SeqLen};
pub use fail::MpFail;
pub use fastclose::MpFastClose;
pub use join::{MpJoin, MpJoinAck, MpJoinSyn, MpJoinSynAck};
pub use prio::MpPrio;
pub use remove_addr::RemoveAddr;
pub use tcprst::{reason_name as tcprst_reason_name, MpTcpRst};

/// TCP option kind of every MPTCP option (RFC 8684 §3, IANA).
pub const KIND_MPTCP: u8 = 30;

/// Subtype numbers (RFC 8684 §8, "MPTCP Option Subtypes" registry).
pub mod subtype {
    pub const MP_CAPABLE: u8 = 0x0;
    pub const MP_JOIN: u8 = 0x1;
    pub const DSS: u8 = 0x2;
    pub const ADD_ADDR: u8 = 0x3;
    pub const REMOVE_ADDR: u8 = 0x4;
    pub const MP_PRIO: u8 = 0x5;
    pub const MP_FAIL: u8 = 0x6;
    pub const MP_FASTCLOSE: u8 = 0x7;
    /// RFC 8684 only (v1).
    pub const MP_TCPRST: u8 = 0x8;
    pub const MP_EXPERIMENTAL: u8 = 0xf;
}

/// Name of a subtype number as used in JSON and errors.
pub fn subtype_name(subtype: u8) -> &'static str {
    match subtype {
        subtype::MP_CAPABLE => "MP_CAPABLE",
        subtype::MP_JOIN => "MP_JOIN",
        subtype::DSS => "DSS",
        subtype::ADD_ADDR => "ADD_ADDR",
        subtype::REMOVE_ADDR => "REMOVE_ADDR",
        subtype::MP_PRIO => "MP_PRIO",
        subtype::MP_FAIL => "MP_FAIL",
        subtype::MP_FASTCLOSE => "MP_FASTCLOSE",
        subtype::MP_TCPRST => "MP_TCPRST",
        subtype::MP_EXPERIMENTAL => "MP_EXPERIMENTAL",
        _ => "UNKNOWN",
    }
}

/// A decoded MPTCP option, borrowing from the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MptcpOption<'a> {
    /// MP_CAPABLE, subtype 0 (RFC 8684 §3.1, RFC 6824 §3.1).
    Capable(MpCapable),
    /// MP_JOIN, subtype 1 (RFC 8684 §3.2).
    Join(MpJoin<'a>),
    /// Data Sequence Signal, subtype 2 (RFC 8684 §3.3).
    Dss(Dss),
    /// ADD_ADDR, subtype 3 (RFC 8684 §3.4.1, RFC 6824 §3.4.1).
    AddAddr(AddAddr),
    /// REMOVE_ADDR, subtype 4 (RFC 8684 §3.4.2).
    RemoveAddr(RemoveAddr<'a>),
    /// MP_PRIO, subtype 5 (RFC 8684 §3.3.8, RFC 6824 §3.3.8).
    Prio(MpPrio),
    /// MP_FAIL, subtype 6 (RFC 8684 §3.7).
    Fail(MpFail),
    /// MP_FASTCLOSE, subtype 7 (RFC 8684 §3.5).
    FastClose(MpFastClose),
    /// MP_TCPRST, subtype 8, v1 only (RFC 8684 §3.6).
    TcpRst(MpTcpRst),
    /// MP_EXPERIMENTAL, subtype 0xf (RFC 8684 §8): kept raw.
    ///
    /// `body` is everything after the length byte, starting with the subtype byte (whose low
    /// nibble belongs to the experiment).
    Experimental { body: &'a [u8] },
    /// A subtype this grammar does not know (9..=14): kept raw.
    ///
    /// `body` is everything after the length byte, starting with the subtype byte; `subtype`
    /// is `body[0] >> 4` and emit writes `body` as it is.
    Unknown { subtype: u8, body: &'a [u8] },
}

/// Lengths a grammar would have accepted, for [`OptionErrorKind::BadLength`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedLen {
    /// Exactly this length.
    Exactly(u8),
    /// One of these two (DSS: without or with the checksum).
    Either(u8, u8),
    /// One of these.
    OneOf(&'static [u8]),
    /// This length or more.
    AtLeast(u8),
}

impl fmt::Display for ExpectedLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedLen::Exactly(n) => write!(f, "{n}"),
            ExpectedLen::Either(a, b) => write!(f, "{a} or {b}"),
            ExpectedLen::OneOf(list) => {
                for (i, n) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                Ok(())
            }
            ExpectedLen::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// What is wrong with a malformed MPTCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OptionErrorKind {
    /// The option's kind byte is not 30.
    #[error("TCP option kind {0} is not MPTCP (30)")]
    NotMptcp(u8),
    /// The length byte disagrees with the number of bytes handed in.
    #[error("length byte says {declared} but the option has {actual} bytes")]
    LengthMismatch { declared: u8, actual: usize },
    /// Fewer than 3 bytes: no subtype byte.
    #[error("option of {len} bytes has no subtype byte (need at least 3)")]
    NoSubtype { len: usize },
    /// The option length is not one the subtype's grammar allows.
    #[error("length {len} is not valid, expected {expected}")]
    BadLength { len: usize, expected: ExpectedLen },
    /// A field runs past the end of the option.
    #[error("{needed} byte field runs past the end of the option")]
    Truncated { needed: usize },
}

/// A malformed MPTCP option: which subtype, which byte offset within the option (0 = kind
/// byte), what was expected. Outer layers rebase `offset` to the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    /// Byte offset within the option where the problem is.
    pub offset: usize,
    /// Subtype number, when the option was long enough to have one.
    pub subtype: Option<u8>,
    /// What was wrong.
    pub kind: OptionErrorKind,
}

impl OptionError {
    pub(crate) fn new(offset: usize, subtype: Option<u8>, kind: OptionErrorKind) -> Self {
        OptionError { offset, subtype, kind }
    }

    /// The same error with `offset` moved by `base`, for a caller that knows where the option
    /// starts (in the TCP header, the segment, the frame).
    pub fn rebased(self, base: usize) -> Self {
        OptionError { offset: self.offset.saturating_add(base), ..self }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.subtype {
            Some(s) => write!(f, "MPTCP {} option", subtype_name(s))?,
            None => f.write_str("MPTCP option")?,
        }
        write!(f, ", byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for OptionError {}

/// Why [`MptcpOption::emit`] could not write an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The output buffer is shorter than [`MptcpOption::buffer_len`].
    #[error("buffer of {available} bytes is too small, the option needs {needed}")]
    BufferTooSmall { needed: usize, available: usize },
    /// The value has no wire form (e.g. a receiver key without a sender key, or more than 255
    /// bytes).
    #[error("{subtype} option cannot be encoded: {reason}")]
    Unencodable { subtype: &'static str, reason: &'static str },
}

impl EmitError {
    pub(crate) fn unencodable(subtype: u8, reason: &'static str) -> Self {
        EmitError::Unencodable { subtype: subtype_name(subtype), reason }
    }
}

/// Bounds-checked big-endian writer; `emit` sizes the buffer first, so overflow here would be
/// a bug in a grammar's `wire_len`, reported as [`EmitError::BufferTooSmall`] rather than a
/// panic.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Writer<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), EmitError> {
        let available = self.buf.len();
        let end = self.pos + b.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.pos = end;
                Ok(())
            }
            None => Err(EmitError::BufferTooSmall { needed: end, available }),
        }
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EmitError> {
        self.bytes(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), EmitError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EmitError> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Result<(), EmitError> {
        self.bytes(&v.to_be_bytes())
    }

    /// A 4- or 8-byte sequence number; a 4-byte one must fit in 32 bits.
    pub(crate) fn seq(&mut self, v: u64, len: SeqLen, subtype: u8) -> Result<(), EmitError> {
        match len {
            SeqLen::Four => match u32::try_from(v) {
                Ok(v) => self.u32(v),
                Err(_) => Err(EmitError::unencodable(subtype, "a 4-byte sequence number does not fit in 32 bits")),
            },
            SeqLen::Eight => self.u64(v),
        }
    }
}

/// Parse one whole TCP option (kind 30, length byte, body); `option.len()` equals the length
/// byte (the caller's TCP option walker guarantees this; it is checked again here).
pub fn parse(option: &[u8]) -> Result<MptcpOption<'_>, OptionError> {
    let len = option.len();
    let (body, st) = frame(option).map_err(|e| nom_error(e, len, None))?;
    dispatch(st, body).map(|(_, opt)| opt).map_err(|e| nom_error(e, len, Some(st)))
}

/// `kind=30 | length | subtype (4 bits) …`: the subtype number, and the option from its subtype
/// byte on (what the grammars parse). The kind and length are checked before the subtype byte
/// is looked for, so a 2-byte option with a wrong kind says so rather than "no subtype".
#[inline]
fn frame(option: &[u8]) -> PResult<'_, u8> {
    let len = option.len();
    let (i, kind) = opt(field::U8).parse_complete(option)?;
    if let Some(kind) = kind.filter(|&k| k != KIND_MPTCP) {
        return Err(GrammarError::at(option, OptionErrorKind::NotMptcp(kind)));
    }
    let (rest, declared) = opt(field::U8).parse_complete(i)?;
    if let Some(declared) = declared.filter(|&d| usize::from(d) != len) {
        return Err(GrammarError::at(i, OptionErrorKind::LengthMismatch { declared, actual: len }));
    }
    match peek(field::U8).parse_complete(rest) {
        Ok((body, sub)) => Ok((body, sub >> 4)),
        Err(_) => Err(GrammarError::at(rest, OptionErrorKind::NoSubtype { len })),
    }
}

/// The grammar of subtype `st`; unknown subtypes and MP_EXPERIMENTAL keep the body raw (from the
/// subtype byte on). Every grammar must consume the whole option (`eof`).
///
/// The grammars are called as functions rather than passed to `all_consuming` as parsers: nom 8
/// runs a plain `fn` through a `process` that is not marked inline, and that call, once per
/// option, cost more than the rest of the parse (benches/options.rs).
#[inline]
fn dispatch(st: u8, i: &[u8]) -> PResult<'_, MptcpOption<'_>> {
    let (i, opt) = match st {
        subtype::MP_CAPABLE => capable::parse_mp_capable(i).map(|(i, o)| (i, MptcpOption::Capable(o)))?,
        subtype::MP_JOIN => join::parse_mp_join(i).map(|(i, o)| (i, MptcpOption::Join(o)))?,
        subtype::DSS => dss::parse_dss(i).map(|(i, o)| (i, MptcpOption::Dss(o)))?,
        subtype::ADD_ADDR => add_addr::parse_add_addr(i).map(|(i, o)| (i, MptcpOption::AddAddr(o)))?,
        subtype::REMOVE_ADDR => remove_addr::parse_remove_addr(i).map(|(i, o)| (i, MptcpOption::RemoveAddr(o)))?,
        subtype::MP_PRIO => prio::parse_mp_prio(i).map(|(i, o)| (i, MptcpOption::Prio(o)))?,
        subtype::MP_FAIL => fail::parse_mp_fail(i).map(|(i, o)| (i, MptcpOption::Fail(o)))?,
        subtype::MP_FASTCLOSE => fastclose::parse_mp_fastclose(i).map(|(i, o)| (i, MptcpOption::FastClose(o)))?,
        subtype::MP_TCPRST => tcprst::parse_mp_tcprst(i).map(|(i, o)| (i, MptcpOption::TcpRst(o)))?,
        subtype::MP_EXPERIMENTAL => rest(i).map(|(i, body)| (i, MptcpOption::Experimental { body }))?,
        _ => rest(i).map(|(i, body)| (i, MptcpOption::Unknown { subtype: st, body }))?,
    };
    let (i, _) = eof(i)?;
    Ok((i, opt))
}

/// A grammar's nom error as the public [`OptionError`] for an option of `len` bytes.
#[cold]
fn nom_error(e: nom::Err<GrammarError>, len: usize, subtype: Option<u8>) -> OptionError {
    match e {
        nom::Err::Error(g) | nom::Err::Failure(g) => g.into_option_error(len, subtype),
        // Only `complete` parsers are used; were one streaming, running out of input is still
        // a field past the end of the option.
        nom::Err::Incomplete(needed) => {
            let needed = match needed {
                nom::Needed::Size(n) => n.get(),
                nom::Needed::Unknown => 0,
            };
            OptionError::new(len, subtype, OptionErrorKind::Truncated { needed })
        }
    }
}

impl MptcpOption<'_> {
    /// Subtype number as on the wire.
    pub fn subtype(&self) -> u8 {
        match self {
            MptcpOption::Capable(_) => subtype::MP_CAPABLE,
            MptcpOption::Join(_) => subtype::MP_JOIN,
            MptcpOption::Dss(_) => subtype::DSS,
            MptcpOption::AddAddr(_) => subtype::ADD_ADDR,
            MptcpOption::RemoveAddr(_) => subtype::REMOVE_ADDR,
            MptcpOption::Prio(_) => subtype::MP_PRIO,
            MptcpOption::Fail(_) => subtype::MP_FAIL,
            MptcpOption::FastClose(_) => subtype::MP_FASTCLOSE,
            MptcpOption::TcpRst(_) => subtype::MP_TCPRST,
            MptcpOption::Experimental { .. } => subtype::MP_EXPERIMENTAL,
            MptcpOption::Unknown { subtype, .. } => *subtype,
        }
    }

    /// "MP_CAPABLE", "MP_JOIN", "DSS", …, "MP_EXPERIMENTAL", "UNKNOWN".
    pub fn subtype_name(&self) -> &'static str {
        match self {
            MptcpOption::Unknown { .. } => "UNKNOWN",
            other => subtype_name(other.subtype()),
        }
    }

    /// Bytes [`emit`](Self::emit) writes, including the kind and length bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            MptcpOption::Capable(o) => o.wire_len(),
            MptcpOption::Join(o) => o.wire_len(),
            MptcpOption::Dss(o) => o.wire_len(),
            MptcpOption::AddAddr(o) => o.wire_len(),
            MptcpOption::RemoveAddr(o) => o.wire_len(),
            MptcpOption::Prio(o) => o.wire_len(),
            MptcpOption::Fail(_) => MpFail::LEN,
            MptcpOption::FastClose(_) => MpFastClose::LEN,
            MptcpOption::TcpRst(_) => MpTcpRst::LEN,
            MptcpOption::Experimental { body } | MptcpOption::Unknown { body, .. } => 2 + body.len(),
        }
    }

    /// Write the whole option (kind 30, length, body) to the start of `buf`; returns the
    /// number of bytes written, which is [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(EmitError::BufferTooSmall { needed: len, available: buf.len() });
        }
        let len_byte = u8::try_from(len).map_err(|_| EmitError::unencodable(self.subtype(), "longer than 255 bytes"))?;
        let mut w = Writer::new(buf);
        w.u8(KIND_MPTCP)?;
        w.u8(len_byte)?;
        match self {
            MptcpOption::Capable(o) => o.write(&mut w)?,
            MptcpOption::Join(o) => o.write(&mut w)?,
            MptcpOption::Dss(o) => o.write(&mut w)?,
            MptcpOption::AddAddr(o) => o.write(&mut w)?,
            MptcpOption::RemoveAddr(o) => o.write(&mut w)?,
            MptcpOption::Prio(o) => o.write(&mut w)?,
            MptcpOption::Fail(o) => o.write(&mut w)?,
            MptcpOption::FastClose(o) => o.write(&mut w)?,
            MptcpOption::TcpRst(o) => o.write(&mut w)?,
            MptcpOption::Experimental { body } => {
                if body.first().map(|b| b >> 4) != Some(subtype::MP_EXPERIMENTAL) {
                    return Err(EmitError::unencodable(subtype::MP_EXPERIMENTAL, "body must start with a subtype byte of 0xf_"));
                }
                w.bytes(body)?
            }
            MptcpOption::Unknown { subtype, body } => {
                if *subtype <= subtype::MP_TCPRST || *subtype >= subtype::MP_EXPERIMENTAL {
                    return Err(EmitError::unencodable(*subtype, "a known subtype cannot be emitted as Unknown"));
                }
                if body.first().map(|b| b >> 4) != Some(*subtype) {
                    return Err(EmitError::unencodable(*subtype, "body must start with the subtype byte"));
                }
                w.bytes(body)?
            }
        }
        if w.pos != len {
            // A grammar's wire_len and write disagree: a bug here, reported rather than
            // emitting a wrong length byte.
            return Err(EmitError::unencodable(self.subtype(), "internal length mismatch"));
        }
        Ok(len)
    }
}

/// Lowercase hex of `bytes`, no prefix.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// JSON value of a 64-bit key or truncated HMAC: 16 lowercase hex digits.
pub(crate) fn hex64(v: u64) -> String {
    format!("{v:016x}")
}

/// JSON value of a 32-bit token or nonce: 8 lowercase hex digits.
pub(crate) fn hex32(v: u32) -> String {
    format!("{v:08x}")
}

/// JSON value of a 16-bit checksum: 4 lowercase hex digits.
pub(crate) fn hex16(v: u16) -> String {
    format!("{v:04x}")
}

/// Stable JSON schema: `"subtype"` first, then every field of that subtype's schema (null when
/// not on the wire). See the field lists on each option type.
impl Serialize for MptcpOption<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("subtype", self.subtype_name())?;
        match self {
            MptcpOption::Capable(o) => o.json_fields(&mut map)?,
            MptcpOption::Join(o) => o.json_fields(&mut map)?,
            MptcpOption::Dss(o) => o.json_fields(&mut map)?,
            MptcpOption::AddAddr(o) => o.json_fields(&mut map)?,
            MptcpOption::RemoveAddr(o) => o.json_fields(&mut map)?,
            MptcpOption::Prio(o) => o.json_fields(&mut map)?,
            MptcpOption::Fail(o) => o.json_fields(&mut map)?,
            MptcpOption::FastClose(o) => o.json_fields(&mut map)?,
            MptcpOption::TcpRst(o) => o.json_fields(&mut map)?,
            MptcpOption::Experimental { body } => {
                map.serialize_entry("subtype_number", &subtype::MP_EXPERIMENTAL)?;
                map.serialize_entry("body", &hex(body))?;
            }
            MptcpOption::Unknown { subtype, body } => {
                map.serialize_entry("subtype_number", subtype)?;
                map.serialize_entry("body", &hex(body))?;
            }
        }
        map.end()
    }
}

/// tcpdump-like one-line text (after tcpdump's print-mptcp.c where it has a form).
impl fmt::Display for MptcpOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MptcpOption::Capable(o) => o.fmt(f),
            MptcpOption::Join(o) => o.fmt(f),
            MptcpOption::Dss(o) => o.fmt(f),
            MptcpOption::AddAddr(o) => o.fmt(f),
            MptcpOption::RemoveAddr(o) => o.fmt(f),
            MptcpOption::Prio(o) => o.fmt(f),
            MptcpOption::Fail(o) => o.fmt(f),
            MptcpOption::FastClose(o) => o.fmt(f),
            MptcpOption::TcpRst(o) => o.fmt(f),
            MptcpOption::Experimental { body } => {
                write!(f, "mptcp experimental body 0x{}", hex(body))
            }
            MptcpOption::Unknown { subtype, body } => {
                write!(f, "mptcp unknown subtype {subtype} body 0x{}", hex(body))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
