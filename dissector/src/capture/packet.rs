//! What a [`CaptureReader`](super::CaptureReader) hands out: one [`Packet`] at a time, the
//! [`Format`] it detected, and the [`PacketFilter`] it can be given.
/// One captured packet, borrowed from the reader.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based index in the file, as tshark numbers frames.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// LINKTYPE_* value of the interface the packet was captured on.
    pub linktype: u32,
    /// The captured bytes (may be shorter than `orig_len` when snaplen cut the packet).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Capture time of the frame before this one in the file, filtered out or not (this one's
    /// own time for the first frame): what tshark's `frame.time_delta` counts from.
    pub prev_ts_ns: u64,
    /// Capture time of the file's first frame: what tshark's `frame.time_relative` counts from.
    pub first_ts_ns: u64,
    /// Digits of a second the file's timestamps hold: 6 (microseconds) or 9 (nanoseconds).
    pub ts_digits: u8,
}

/// Decides which packets a [`CaptureReader`](super::CaptureReader) hands out (a capture filter).
pub trait PacketFilter {
    /// Whether the packet passes; `Err` (with a message) when it cannot be decided at all, e.g.
    /// a filter that means nothing on this link type. The error ends the reading.
    fn matches(&mut self, linktype: u32, data: &[u8], orig_len: u32) -> Result<bool, String>;
}

impl Packet<'_> {
    /// Capture time in seconds since the epoch.
    pub fn ts_secs(&self) -> f64 {
        self.ts_ns as f64 / 1e9
    }
}

/// The capture format, detected from the magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}
