//! `dissect`: one line per packet that carries MPTCP options (or every TCP packet), as
//! tcpdump-like text or as JSON lines (schema in docs/dissect.md).
use std::io::{self, Write};
use std::ops::ControlFlow;

use serde::Serialize;

use crate::analysis::select::Selection;
use crate::capture::{CaptureError, CaptureReader, Packet};
use crate::pipeline::{drive, Seen, Sink};
use crate::report::tcpseq::{write_numbers, RelativeSeq};
use crate::report::time::{write_epoch_json, write_time, TimeFormat, TimeRef};
use crate::track::Analyzer;
use mptcp_wire::decode::{DecodeError, Decoded, Layer, TcpFlags, TcpSegment, Tunnel};
use mptcp_wire::options::{mptcp::MptcpOption, mptcp_options, OptionIssue};

/// Output format of `dissect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Jsonl,
}

/// What to print.
#[derive(Debug, Clone, Copy)]
pub struct DissectConfig {
    pub format: Format,
    /// Every TCP packet (and every packet that failed to decode), not only those with MPTCP options.
    pub all: bool,
    /// How text lines show the packet's time (JSON always has exact epoch seconds).
    pub time: TimeFormat,
    /// Text lines show TCP sequence numbers as on the wire (tcpdump `-S`), not relative to the
    /// connection's first ones (JSON always has them as on the wire).
    pub absolute_seq: bool,
}

/// The tracker run beside `dissect` when packets are selected by connection, token or subflow:
/// it says which subflow and connection each packet belongs to, as `analyze` numbers them. It
/// keeps no finished connection: memory follows what is open.
pub struct Tracker {
    analyzer: Analyzer<'static>,
    selection: Selection,
}

impl Tracker {
    pub fn new(analyzer: Analyzer<'static>, selection: Selection) -> Self {
        Tracker { analyzer: analyzer.with_events(false).hand_over_finished(), selection }
    }
}

/// Whether `selection` keeps the packet `seen`. A segment is attributed to the connection its
/// subflow belongs to once this segment has been tracked (an MP_JOIN SYN to the connection its
/// token names); one not tracked (the open state is full) is not kept.
fn keeps(selection: &Selection, seen: &Seen<'_>) -> bool {
    let Some(r) = seen.record else { return false };
    let conn = r.connection.and_then(|c| seen.analyzer.and_then(|a| a.open_connection(c)));
    let tokens = [conn.and_then(|c| c.client_token), conn.and_then(|c| c.server_token)];
    selection.keeps_packet(r.connection, Some(r.subflow), tokens)
}

/// Counts over the whole capture.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DissectSummary {
    pub packets: u64,
    pub tcp: u64,
    pub mptcp: u64,
    pub printed: u64,
    pub fragments: u64,
    pub other: u64,
    pub decode_errors: u64,
    pub option_errors: u64,
}

/// One decode problem of a packet, with its byte offset in the captured frame.
#[derive(Debug, Clone, Serialize)]
pub struct PacketError {
    pub layer: Layer,
    pub offset: usize,
    pub error: String,
}

impl PacketError {
    fn from_decode(e: &DecodeError) -> Self {
        PacketError { layer: e.layer, offset: e.offset, error: e.what.to_string() }
    }
    fn from_option(issue: &OptionIssue, options_at: usize) -> Self {
        let layer = match issue {
            OptionIssue::Walk(_) => Layer::Tcp,
            OptionIssue::Mptcp { .. } => Layer::Mptcp,
        };
        PacketError { layer, offset: options_at + issue.offset(), error: issue.to_string() }
    }
}

/// Byte offset of `inner` within `outer` (both slices of the same packet).
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// Decodes every packet of `reader` and writes the lines to `out`. A capture cut mid-record
/// ends the loop and is returned with the summary (everything before it was printed).
///
/// Nothing is allocated per packet on the usual path: each line is composed in a reused buffer
/// (numbers, addresses and DSS options written by hand, byte for byte what serde_json wrote
/// before; other MPTCP options, rare, and decode errors still go through serde_json).
pub fn dissect<W: Write>(
    reader: &mut CaptureReader,
    config: DissectConfig,
    out: &mut W,
) -> io::Result<(DissectSummary, Option<CaptureError>)> {
    dissect_selected(reader, config, None, None, out)
}

/// [`dissect`], printing only the packets `tracker`'s selection keeps (all without one).
pub fn dissect_selected<'w, W: Write>(
    reader: &mut CaptureReader,
    config: DissectConfig,
    tracker: Option<Tracker>,
    also: Option<&'w mut dyn Sink>,
    out: &'w mut W,
) -> io::Result<(DissectSummary, Option<CaptureError>)> {
    let (mut analyzer, selection) = match tracker {
        // A tracker without a selection (for `also`, e.g. `-w`) shows every packet.
        Some(t) => (Some(t.analyzer), Some(t.selection).filter(|s| !s.is_empty())),
        None => (None, None),
    };
    let mut printer = Printer {
        also,
        config,
        out,
        selection,
        prev_shown: None,
        summary: DissectSummary::default(),
        errors: Vec::new(),
        opts: Vec::with_capacity(512),
        line: Vec::with_capacity(1024),
        numbers: RelativeSeq::new(config.absolute_seq),
        error: None,
    };
    let (_, end) = drive(reader, analyzer.as_mut(), &mut printer);
    match printer.error {
        Some(e) => Err(e),
        None => Ok((printer.summary, end)),
    }
}

/// `dissect`'s sink: a line per packet shown (and every packet to `also`).
struct Printer<'w, W> {
    also: Option<&'w mut dyn Sink>,
    config: DissectConfig,
    out: &'w mut W,
    /// Which packets are shown; all without one.
    selection: Option<Selection>,
    prev_shown: Option<u64>,
    summary: DissectSummary,
    errors: Vec<PacketError>,
    /// The packet's MPTCP options as they are printed (JSON array items or ", text" pieces).
    opts: Vec<u8>,
    line: Vec<u8>,
    numbers: RelativeSeq,
    /// The output failed: the reading ends.
    error: Option<io::Error>,
}

impl<W: Write> Sink for Printer<'_, W> {
    fn packet(&mut self, seen: &Seen<'_>) -> ControlFlow<()> {
        if let Some(also) = self.also.as_deref_mut() {
            if also.packet(seen).is_break() {
                return ControlFlow::Break(());
            }
        }
        match self.print(seen) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl<W: Write> Printer<'_, W> {
    fn print(&mut self, seen: &Seen<'_>) -> io::Result<()> {
        let (config, packet) = (self.config, seen.packet);
        let Printer { summary, errors, opts, line, .. } = self;
        summary.packets += 1;
        errors.clear();
        let times =
            TimeRef { first_ns: packet.first_ts_ns, prev_ns: packet.prev_ts_ns, prev_shown_ns: self.prev_shown, digits: packet.ts_digits };
        match seen.decoded {
            Decoded::Tcp(seg) => {
                summary.tcp += 1;
                if self.selection.as_ref().is_some_and(|s| !keeps(s, seen)) {
                    return Ok(());
                }
                // Text only: JSON has the numbers as on the wire.
                let seq_ack = if config.format == Format::Text { self.numbers.numbers(seg) } else { (seg.seq, seg.ack) };
                let options_at = offset_in(packet.data, seg.options);
                if seg.options_truncated {
                    errors.push(PacketError {
                        layer: Layer::Tcp,
                        offset: options_at + seg.options.len(),
                        error: "TCP options cut short by the capture's snaplen".into(),
                    });
                }
                opts.clear();
                let mut n_opts = 0usize;
                for item in mptcp_options(seg.options) {
                    match item {
                        Ok((_, o)) => {
                            match config.format {
                                Format::Jsonl => {
                                    if n_opts > 0 {
                                        opts.push(b',');
                                    }
                                    write_option_json(opts, &o)?;
                                }
                                Format::Text => write!(opts, ", {o}")?,
                            }
                            n_opts += 1;
                        }
                        Err(issue) => {
                            summary.option_errors += 1;
                            // A malformed MPTCP option stays in the JSON list (as tshark shows it
                            // "malformed"): its subtype, its bytes and the error.
                            if let (Format::Jsonl, OptionIssue::Mptcp { offset, .. }) = (config.format, &issue) {
                                if n_opts > 0 {
                                    opts.push(b',');
                                }
                                write_malformed_json(opts, seg.options, *offset, &issue)?;
                                n_opts += 1;
                            }
                            errors.push(PacketError::from_option(&issue, options_at));
                        }
                    }
                }
                let has_mptcp = n_opts > 0 || errors.iter().any(|e| e.layer == Layer::Mptcp);
                if has_mptcp {
                    summary.mptcp += 1;
                }
                if has_mptcp || config.all {
                    summary.printed += 1;
                    line.clear();
                    write_segment(line, config, packet, &times, seg, (opts, errors), seq_ack)?;
                    self.out.write_all(line)?;
                    self.prev_shown = Some(packet.ts_ns);
                }
            }
            Decoded::Fragment => summary.fragments += 1,
            Decoded::Other => summary.other += 1,
            Decoded::Error(e) => {
                summary.decode_errors += 1;
                // A packet that is not TCP belongs to no connection: a selection drops it.
                if config.all && self.selection.is_none() {
                    summary.printed += 1;
                    errors.push(PacketError::from_decode(e));
                    line.clear();
                    write_undecoded(line, config, packet, &times, errors)?;
                    self.out.write_all(line)?;
                    self.prev_shown = Some(packet.ts_ns);
                }
            }
        }
        Ok(())
    }
}

/// One line for a TCP segment; `opts` is the options as printed (see [`dissect`]), then the
/// errors found in the packet; `numbers` the sequence and acknowledgement numbers to print.
fn write_segment(
    out: &mut Vec<u8>,
    config: DissectConfig,
    packet: &Packet<'_>,
    times: &TimeRef,
    seg: &TcpSegment<'_>,
    (opts, errors): (&[u8], &[PacketError]),
    numbers: (u32, u32),
) -> io::Result<()> {
    match config.format {
        Format::Jsonl => {
            // The fields of docs/dissect.md, in order.
            out.extend_from_slice(b"{\"frame\":");
            push_u64(out, packet.frame);
            out.extend_from_slice(b",\"ts\":");
            write_epoch_json(out, packet.ts_ns)?;
            out.extend_from_slice(b",\"src\":\"");
            push_ip(out, seg.src);
            out.extend_from_slice(b"\",\"dst\":\"");
            push_ip(out, seg.dst);
            out.extend_from_slice(b"\",\"sport\":");
            push_u64(out, u64::from(seg.sport));
            out.extend_from_slice(b",\"dport\":");
            push_u64(out, u64::from(seg.dport));
            out.extend_from_slice(b",\"flags\":\"");
            push_flags(out, seg.flags);
            out.extend_from_slice(b"\",\"seq\":");
            push_u64(out, u64::from(seg.seq));
            out.extend_from_slice(b",\"ack\":");
            push_u64(out, u64::from(seg.ack));
            out.extend_from_slice(b",\"len\":");
            push_u64(out, u64::from(seg.payload_len));
            out.extend_from_slice(b",\"mptcp\":[");
            out.extend_from_slice(opts);
            out.extend_from_slice(b"],\"errors\":");
            push_errors(out, errors)?;
            // Only on tunnelled packets: the lines of other captures are as they were.
            if let Some(t) = &seg.tunnel {
                push_tunnel(out, t);
            }
            out.extend_from_slice(b"}\n");
            Ok(())
        }
        Format::Text => {
            write!(out, "{:>6} ", packet.frame)?;
            write_time(out, config.time, packet.ts_ns, times)?;
            write!(out, " {}.{} > {}.{}: Flags [{}]", seg.src, seg.sport, seg.dst, seg.dport, TcpdumpFlags(seg.flags))?;
            write_numbers(out, seg, numbers)?;
            write!(out, ", win {}, length {}", seg.window, seg.payload_len)?;
            if let Some(t) = &seg.tunnel {
                write!(out, ", tunnel {t}")?;
            }
            out.extend_from_slice(opts);
            for e in errors {
                write!(out, " [error: {} at byte {}: {}]", e.layer, e.offset, e.error)?;
            }
            out.push(b'\n');
            Ok(())
        }
    }
}

fn write_undecoded(
    out: &mut Vec<u8>,
    config: DissectConfig,
    packet: &Packet<'_>,
    times: &TimeRef,
    errors: &[PacketError],
) -> io::Result<()> {
    match config.format {
        Format::Jsonl => {
            out.extend_from_slice(b"{\"frame\":");
            push_u64(out, packet.frame);
            out.extend_from_slice(b",\"ts\":");
            write_epoch_json(out, packet.ts_ns)?;
            out.extend_from_slice(
                b",\"src\":null,\"dst\":null,\"sport\":null,\"dport\":null,\"flags\":null,\"seq\":null,\"ack\":null,\"len\":null,\"mptcp\":[],\"errors\":",
            );
            push_errors(out, errors)?;
            out.extend_from_slice(b"}\n");
            Ok(())
        }
        Format::Text => {
            write!(out, "{:>6} ", packet.frame)?;
            write_time(out, config.time, packet.ts_ns, times)?;
            out.extend_from_slice(b" undecodable");
            for e in errors {
                write!(out, " [error: {} at byte {}: {}]", e.layer, e.offset, e.error)?;
            }
            out.push(b'\n');
            Ok(())
        }
    }
}

/// `,"tunnel":{"kind":"vxlan","id":100,"outer_src":"203.0.113.1","outer_dst":"203.0.113.2","layers":1}`
/// (`id`, `outer_src`, `outer_dst` null when the tunnel has none).
fn push_tunnel(out: &mut Vec<u8>, t: &Tunnel) {
    out.extend_from_slice(b",\"tunnel\":{\"kind\":\"");
    out.extend_from_slice(t.kind.name().as_bytes());
    out.extend_from_slice(b"\",\"id\":");
    match t.id {
        Some(id) => push_u64(out, u64::from(id)),
        None => out.extend_from_slice(b"null"),
    }
    match t.outer {
        Some((src, dst)) => {
            out.extend_from_slice(b",\"outer_src\":\"");
            push_ip(out, src);
            out.extend_from_slice(b"\",\"outer_dst\":\"");
            push_ip(out, dst);
            out.extend_from_slice(b"\"");
        }
        None => out.extend_from_slice(b",\"outer_src\":null,\"outer_dst\":null"),
    }
    out.extend_from_slice(b",\"layers\":");
    push_u8(out, t.layers);
    out.push(b'}');
}

/// Decimal digits of `v`, as serde_json writes an integer.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    // Two digits per division, from a table (as core's own integer formatting does).
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                2021222324252627282930313233343536373839\
                                4041424344454647484950515253545556575859\
                                6061626364656667686970717273747576777879\
                                8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while v >= 100 && i >= 2 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        if let (Some(d), Some(p)) = (digits.get_mut(i..i + 2), PAIRS.get(pair..pair + 2)) {
            d.copy_from_slice(p);
        }
    }
    if v >= 10 && i >= 2 {
        let pair = v as usize * 2;
        i -= 2;
        if let (Some(d), Some(p)) = (digits.get_mut(i..i + 2), PAIRS.get(pair..pair + 2)) {
            d.copy_from_slice(p);
        }
    } else if i >= 1 {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + v as u8;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or(&[]));
}

/// A byte's decimal digits, pushed one by one (no copy call for one to three bytes).
#[inline]
fn push_u8(out: &mut Vec<u8>, v: u8) {
    if v >= 100 {
        out.push(b'0' + v / 100);
    }
    if v >= 10 {
        out.push(b'0' + v / 10 % 10);
    }
    out.push(b'0' + v % 10);
}

/// An address as its `Display` form (digits, dots, hex and colons: nothing to escape in JSON).
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(a) => {
            out.reserve(15);
            for (k, octet) in a.octets().into_iter().enumerate() {
                if k > 0 {
                    out.push(b'.');
                }
                push_u8(out, octet);
            }
        }
        std::net::IpAddr::V6(a) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// The flags as tcpdump prints them in text (print-tcp.c `tcp_flag_values`, in its order): F S
/// R P, `.` for ACK, U E W; `none` for no flag. A SYN/ACK is `[S.]`, a data segment `[P.]` or
/// `[.]`. (JSON keeps `TcpFlags`'s letters.)
struct TcpdumpFlags(TcpFlags);

impl std::fmt::Display for TcpdumpFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const LETTERS: [(u8, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        if self.0 .0 == 0 {
            return f.write_str("none");
        }
        for (bit, c) in LETTERS {
            if self.0.has(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// The flag letters of `TcpFlags`'s `Display` (same order; "." for none).
fn push_flags(out: &mut Vec<u8>, flags: TcpFlags) {
    const LETTERS: [(u8, u8); 8] = [
        (TcpFlags::SYN, b'S'),
        (TcpFlags::FIN, b'F'),
        (TcpFlags::RST, b'R'),
        (TcpFlags::PSH, b'P'),
        (TcpFlags::ACK, b'A'),
        (TcpFlags::URG, b'U'),
        (TcpFlags::ECE, b'E'),
        (TcpFlags::CWR, b'W'),
    ];
    if flags.0 == 0 {
        out.push(b'.');
        return;
    }
    for (bit, c) in LETTERS {
        if flags.has(bit) {
            out.push(c);
        }
    }
}

fn push_errors(out: &mut Vec<u8>, errors: &[PacketError]) -> io::Result<()> {
    if errors.is_empty() {
        out.extend_from_slice(b"[]");
        Ok(())
    } else {
        Ok(serde_json::to_writer(&mut *out, errors)?)
    }
}

fn push_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => push_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// A 64-bit sequence-space value as [`mptcp_wire::json::Dec64`] writes it: a string of digits.
fn push_opt_dec(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => {
            out.push(b'"');
            push_u64(out, v);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// A kind-30 option that did not parse: `{"subtype":"DSS","malformed":true,"raw":"1e0320",
/// "error":"…"}`. `raw` is the option as its length byte gives it, cut at the end of the option
/// space; `subtype` is null when the option is too short to hold one.
fn write_malformed_json(out: &mut Vec<u8>, options: &[u8], offset: usize, issue: &OptionIssue) -> io::Result<()> {
    let len = options.get(offset + 1).map_or(1, |&l| usize::from(l).max(2));
    let raw = options.get(offset..).map_or(&[][..], |r| r.get(..len).unwrap_or(r));
    out.extend_from_slice(b"{\"subtype\":");
    match raw.get(2) {
        Some(b) => serde_json::to_writer(&mut *out, mptcp_wire::options::mptcp::subtype_name(b >> 4))?,
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"malformed\":true,\"raw\":\"");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in raw {
        out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
        out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
    }
    out.extend_from_slice(b"\",\"error\":");
    serde_json::to_writer(&mut *out, &issue.to_string())?;
    out.push(b'}');
    Ok(())
}

/// One MPTCP option as serde_json writes its `Serialize` form. DSS (nearly every packet of a
/// transfer) is written by hand; the other options go through serde_json.
fn write_option_json(out: &mut Vec<u8>, o: &MptcpOption<'_>) -> io::Result<()> {
    let MptcpOption::Dss(d) = o else {
        return Ok(serde_json::to_writer(&mut *out, o)?);
    };
    let m = d.mapping.as_ref();
    out.extend_from_slice(b"{\"subtype\":\"DSS\",\"data_fin\":");
    out.extend_from_slice(if d.data_fin { b"true" } else { b"false" });
    out.extend_from_slice(b",\"data_ack\":");
    push_opt_dec(out, d.data_ack.map(|a| a.value));
    out.extend_from_slice(b",\"data_ack_len\":");
    push_opt_u64(out, d.data_ack.map(|a| a.len.bytes() as u64));
    out.extend_from_slice(b",\"dsn\":");
    push_opt_dec(out, m.map(|m| m.dsn));
    out.extend_from_slice(b",\"dsn_len\":");
    push_opt_u64(out, m.map(|m| m.dsn_len.bytes() as u64));
    out.extend_from_slice(b",\"subflow_seq\":");
    push_opt_u64(out, m.map(|m| u64::from(m.subflow_seq)));
    out.extend_from_slice(b",\"data_level_length\":");
    push_opt_u64(out, m.map(|m| u64::from(m.data_level_length)));
    out.extend_from_slice(b",\"checksum\":");
    match m.and_then(|m| m.checksum) {
        Some(c) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(b'"');
            for shift in [12, 8, 4, 0] {
                out.push(HEX.get(usize::from((c >> shift) & 0xf)).copied().unwrap_or(b'0'));
            }
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits_are_those_of_display() {
        let mut values = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, u64::from(u32::MAX), u64::MAX, u64::MAX - 1];
        values.extend((0..64).map(|k| 1u64 << k));
        values.extend((0..20).map(|k| 10u64.pow(k)).flat_map(|p| [p - 1, p, p + 1]));
        for v in values {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes(), "{v}");
        }
        for v in 0..=u8::MAX {
            let mut out = Vec::new();
            push_u8(&mut out, v);
            assert_eq!(out, v.to_string().into_bytes(), "{v}");
        }
    }
    use mptcp_wire::options::mptcp::arb::arb_option;
    use proptest::prelude::*;

    proptest! {
        /// Every option kind: the hand-written JSON is serde_json's, byte for byte.
        #[test]
        fn option_json_is_serde_json(o in arb_option()) {
            let mut mine = Vec::new();
            write_option_json(&mut mine, &o).expect("write");
            prop_assert_eq!(String::from_utf8(mine).expect("utf8"), serde_json::to_string(&o).expect("serde"));
        }

        #[test]
        fn numbers_and_addresses_are_display(v in any::<u64>(), a in any::<[u8; 4]>(), b in any::<[u16; 8]>(), f in any::<u8>()) {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            prop_assert_eq!(String::from_utf8(out).expect("utf8"), v.to_string());
            for ip in [std::net::IpAddr::from(a), std::net::IpAddr::from(b)] {
                let mut out = Vec::new();
                push_ip(&mut out, ip);
                let json = serde_json::to_string(&ip.to_string()).expect("serde");
                prop_assert_eq!(format!("\"{}\"", String::from_utf8(out).expect("utf8")), json);
            }
            let mut out = Vec::new();
            push_flags(&mut out, TcpFlags(f));
            prop_assert_eq!(String::from_utf8(out).expect("utf8"), TcpFlags(f).to_string());
        }
    }
}
