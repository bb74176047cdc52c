//! pcapng blocks: interfaces with their own link types and timestamp resolutions, and the
//! packets of the enhanced and simple packet blocks.
use std::io;

use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::PcapError;

use super::blockscan::BlockScan;
use super::error::CaptureError;
use super::input::Head;

/// Per-interface facts of a pcapng section.
#[derive(Debug, Clone, Copy)]
pub(super) struct Interface {
    pub(super) linktype: u32,
    /// Timestamp units per second (if_tsresol; default 10^6).
    pub(super) units_per_sec: u64,
    /// if_tsoffset in seconds.
    pub(super) offset_secs: u64,
}

/// Most interfaces a pcapng file may declare before we stop tracking them (bounded state).
const MAX_INTERFACES: usize = 4096;

/// Reads pcapng blocks up to the next packet, copying its bytes into `buf`; returns its
/// timestamp (ns), interface and original length.
pub(super) fn next_pcapng(
    reader: &mut PcapNgReader<BlockScan<Head>>,
    interfaces: &mut Vec<Interface>,
    buf: &mut Vec<u8>,
    after_frame: u64,
) -> Result<Option<(u64, Interface, u32)>, CaptureError> {
    loop {
        match reader.next_block() {
            None => return Ok(None),
            Some(Err(e)) => return Err(map_err(e, after_frame)),
            Some(Ok(Block::SectionHeader(_))) => interfaces.clear(),
            Some(Ok(Block::InterfaceDescription(idb))) => {
                if interfaces.len() < MAX_INTERFACES {
                    interfaces.push(interface_of(&idb));
                }
            }
            Some(Ok(Block::EnhancedPacket(epb))) => {
                let Some(iface) = interfaces.get(epb.interface_id as usize).copied() else {
                    let message = if epb.interface_id as usize >= MAX_INTERFACES && interfaces.len() >= MAX_INTERFACES {
                        format!(
                            "packet block names interface {}: the section describes more than {MAX_INTERFACES} interfaces, the most kept; the rest of the file is not read",
                            epb.interface_id
                        )
                    } else {
                        format!("packet block names interface {} which was not described", epb.interface_id)
                    };
                    return Err(CaptureError::Format { after_frame, message });
                };
                // pcap-file hands the raw 64-bit timestamp over as nanoseconds; rescale by the
                // interface's if_tsresol.
                let raw = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let ts_ns = scale_ts(raw, iface.units_per_sec).saturating_add(iface.offset_secs.saturating_mul(1_000_000_000));
                buf.clear();
                buf.extend_from_slice(&epb.data);
                return Ok(Some((ts_ns, iface, epb.original_len)));
            }
            Some(Ok(Block::SimplePacket(spb))) => {
                let iface = interfaces.first().copied().unwrap_or(Interface {
                    linktype: LINKTYPE_ETHERNET,
                    units_per_sec: 1_000_000,
                    offset_secs: 0,
                });
                buf.clear();
                buf.extend_from_slice(&spb.data);
                return Ok(Some((0, iface, spb.original_len)));
            }
            Some(Ok(_)) => {} // statistics, name resolution, custom blocks: not packets
        }
    }
}

const LINKTYPE_ETHERNET: u32 = 1;

fn interface_of(idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>) -> Interface {
    let mut iface = Interface { linktype: u32::from(idb.linktype), units_per_sec: 1_000_000, offset_secs: 0 };
    for opt in &idb.options {
        match opt {
            InterfaceDescriptionOption::IfTsResol(r) => {
                // High bit set: negative power of two; otherwise negative power of ten.
                let exp = u32::from(r & 0x7f);
                iface.units_per_sec =
                    if r & 0x80 != 0 { 1u64.checked_shl(exp).unwrap_or(u64::MAX) } else { 10u64.checked_pow(exp).unwrap_or(u64::MAX) };
            }
            InterfaceDescriptionOption::IfTsOffset(o) => iface.offset_secs = *o,
            _ => {}
        }
    }
    iface
}

pub(super) fn scale_ts(raw: u64, units_per_sec: u64) -> u64 {
    if units_per_sec == 1_000_000_000 {
        return raw;
    }
    let units = units_per_sec.max(1) as u128;
    ((raw as u128 * 1_000_000_000) / units).min(u64::MAX as u128) as u64
}

pub(super) fn map_err(e: PcapError, after_frame: u64) -> CaptureError {
    match e {
        PcapError::IncompleteBuffer => CaptureError::Truncated { after_frame },
        PcapError::IoError(source) if source.kind() == io::ErrorKind::UnexpectedEof => CaptureError::Truncated { after_frame },
        PcapError::IoError(source) => CaptureError::Io { after_frame, source },
        other => CaptureError::Format { after_frame, message: other.to_string() },
    }
}
