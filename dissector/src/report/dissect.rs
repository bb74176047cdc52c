//! `dissect`: one line per packet that carries MPTCP options (or every TCP packet), as
//! tcpdump-like text or as JSON lines (schema in docs/dissect.md).
use std::io::{self, Write};

use serde::Serialize;

use crate::capture::{CaptureError, CaptureReader, Packet};
use crate::decode::{decode, DecodeError, Decoded, Layer, TcpSegment};
use crate::options::{mptcp::MptcpOption, mptcp_options, OptionIssue};

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

/// The JSON line of one packet (docs/dissect.md).
#[derive(Serialize)]
struct JsonPacket<'a, 'o> {
    frame: u64,
    ts: f64,
    src: Option<String>,
    dst: Option<String>,
    sport: Option<u16>,
    dport: Option<u16>,
    flags: Option<String>,
    seq: Option<u32>,
    ack: Option<u32>,
    len: Option<u32>,
    mptcp: &'a [MptcpOption<'o>],
    errors: &'a [PacketError],
}

/// Byte offset of `inner` within `outer` (both slices of the same packet).
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// Decodes every packet of `reader` and writes the lines to `out`. A capture cut mid-record
/// ends the loop and is returned with the summary (everything before it was printed).
pub fn dissect<W: Write>(
    reader: &mut CaptureReader,
    config: DissectConfig,
    out: &mut W,
) -> io::Result<(DissectSummary, Option<CaptureError>)> {
    let mut summary = DissectSummary::default();
    let mut errors: Vec<PacketError> = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => return Ok((summary, None)),
            Err(e) => return Ok((summary, Some(e))),
        };
        summary.packets += 1;
        errors.clear();
        match decode(packet.linktype, packet.data) {
            Decoded::Tcp(seg) => {
                summary.tcp += 1;
                let options_at = offset_in(packet.data, seg.options);
                if seg.options_truncated {
                    errors.push(PacketError {
                        layer: Layer::Tcp,
                        offset: options_at + seg.options.len(),
                        error: "TCP options cut short by the capture's snaplen".into(),
                    });
                }
                // Allocates per printed packet: dissect's cost is its output, not this.
                let mut opts_local: Vec<MptcpOption<'_>> = Vec::new();
                for item in mptcp_options(seg.options) {
                    match item {
                        Ok((_, o)) => opts_local.push(o),
                        Err(issue) => {
                            summary.option_errors += 1;
                            errors.push(PacketError::from_option(&issue, options_at));
                        }
                    }
                }
                let has_mptcp = !opts_local.is_empty() || errors.iter().any(|e| e.layer == Layer::Mptcp);
                if has_mptcp {
                    summary.mptcp += 1;
                }
                if has_mptcp || config.all {
                    summary.printed += 1;
                    write_segment(out, config.format, &packet, &seg, &opts_local, &errors)?;
                }
            }
            Decoded::Fragment => summary.fragments += 1,
            Decoded::Other => summary.other += 1,
            Decoded::Error(e) => {
                summary.decode_errors += 1;
                if config.all {
                    summary.printed += 1;
                    errors.push(PacketError::from_decode(&e));
                    write_undecoded(out, config.format, &packet, &errors)?;
                }
            }
        }
    }
}

fn write_segment<W: Write>(
    out: &mut W,
    format: Format,
    packet: &Packet<'_>,
    seg: &TcpSegment<'_>,
    opts: &[MptcpOption<'_>],
    errors: &[PacketError],
) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            let line = JsonPacket {
                frame: packet.frame,
                ts: packet.ts_secs(),
                src: Some(seg.src.to_string()),
                dst: Some(seg.dst.to_string()),
                sport: Some(seg.sport),
                dport: Some(seg.dport),
                flags: Some(seg.flags.to_string()),
                seq: Some(seg.seq),
                ack: Some(seg.ack),
                len: Some(seg.payload_len),
                mptcp: opts,
                errors,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")
        }
        Format::Text => {
            write!(
                out,
                "{:>6} {:.6} {}.{} > {}.{}: Flags [{}], seq {}, ack {}, win {}, length {}",
                packet.frame,
                packet.ts_secs(),
                seg.src,
                seg.sport,
                seg.dst,
                seg.dport,
                seg.flags,
                seg.seq,
                seg.ack,
                seg.window,
                seg.payload_len
            )?;
            for o in opts {
                write!(out, ", {o}")?;
            }
            for e in errors {
                write!(out, " [error: {:?} at byte {}: {}]", e.layer, e.offset, e.error)?;
            }
            out.write_all(b"\n")
        }
    }
}

fn write_undecoded<W: Write>(out: &mut W, format: Format, packet: &Packet<'_>, errors: &[PacketError]) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            let line = JsonPacket {
                frame: packet.frame,
                ts: packet.ts_secs(),
                src: None,
                dst: None,
                sport: None,
                dport: None,
                flags: None,
                seq: None,
                ack: None,
                len: None,
                mptcp: &[],
                errors,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")
        }
        Format::Text => {
            write!(out, "{:>6} {:.6} undecodable", packet.frame, packet.ts_secs())?;
            for e in errors {
                write!(out, " [error: {:?} at byte {}: {}]", e.layer, e.offset, e.error)?;
            }
            out.write_all(b"\n")
        }
    }
}
