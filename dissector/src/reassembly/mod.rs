//! Data-level reassembly (RFC 8684 §3.3): rebuild one direction of an MPTCP connection's byte
//! stream from the mapped payload of all its subflows.
//!
//! The tracker decodes DSS mappings, expands DSNs to 64 bits and hands each mapped piece of
//! payload to [`Reassembler::insert`]. The reassembler delivers the data-level stream to a sink in
//! DSN order, each byte once, and accounts for what it saw: distinct bytes, duplicates (with the
//! subflow that carried them first, so reinjections can be explained), overlapping mappings whose
//! bytes disagree, ranges never seen (gaps) and ranges seen on the wire whose bytes the capture
//! does not have (snaplen, header-only captures).
//!
//! ```
//! use mptcp_dissector::reassembly::{Chunk, Reassembler, ReassemblyLimits};
//! let mut r = Reassembler::new(1000, ReassemblyLimits::default());
//! let mut out = Vec::new();
//! let mut sink = |c: Chunk<'_>| if let Chunk::Data { bytes, .. } = c { out.extend_from_slice(bytes) };
//! r.insert(1003, b"lo", 2, 2, 2, 20, &mut sink); // subflow 2, out of order: buffered
//! r.insert(1000, b"hel", 3, 1, 1, 10, &mut sink); // subflow 1 fills the hole: "hello"
//! r.data_fin(1005, 3);
//! let summary = r.finish(&mut sink);
//! assert!(summary.complete);
//! assert_eq!(out, b"hello");
//! ```
//!
//! # Sequence space
//! All positions are kept relative to the start DSN (`dsn.wrapping_sub(start)`), so streams that
//! start near `u64::MAX` and wrap to 0 work. A relative offset of 2^63 or more is taken to be
//! *before* the start (an old or bogus mapping): those bytes are counted in `before_start_bytes`
//! and otherwise ignored. Reported DSNs are absolute again; a reported range `(a, b)` is the
//! half-open range `[a, b)` in wrapping DSN space, so `b` may be numerically smaller than `a`.
//!
//! # How the caller learns about holes
//! The sink receives [`Chunk`]s. With [`HolePolicy::Stop`] (the default) it only ever receives
//! [`Chunk::Data`] for the contiguous, captured prefix of the stream; the first range that is
//! missing or uncaptured stops delivery, and [`Reassembler::finish`] reports every gap and
//! uncaptured range in the [`Summary`]. With [`HolePolicy::Skip`] the reassembler gives up on a
//! hole when it must (the out-of-order window is full, too many pieces, or `finish`) and tells the
//! sink with a [`Chunk::Hole`] before delivering the data that follows, so a writer can print
//! "gap of N bytes at DSN X". Either way, no byte is ever delivered out of order, twice, or past a
//! hole without the sink being told.
//!
//! # Memory
//! Bounded by [`ReassemblyLimits`], never by stream length: bytes are kept in one ring covering
//! at most `recent_bytes` already delivered (for mismatch checks) plus `max_buffered_bytes` of DSN
//! space above the delivery point; the range list holds at most `max_segments` entries
//! between calls, the origin history `history_ranges` entries, and reported range lists
//! [`MAX_REPORTED_RANGES`] entries each (with exact totals alongside).
//!
//! # DATA_FIN
//! [`Reassembler::data_fin`] fixes the end of the stream (the first DATA_FIN wins; a different one
//! later only counts in `data_fin_conflicts`). Bytes at or past the DATA_FIN's DSN are counted in
//! `after_fin_bytes` and dropped; bytes already buffered past it when it arrives are dropped and
//! removed from the `bytes`/`captured_bytes` totals; bytes already delivered past it cannot be
//! recalled and are only counted.
//!
//! # Layout
//! `summary.rs` holds what callers see ([`Chunk`], [`Insert`], [`Dup`], [`Summary`], the
//! limits). Inside, the [`Reassembler`] (`reassembler.rs`) keeps a range set of what was seen
//! above the delivery point (`ranges.rs`), a ring of held bytes (`ring.rs`) and the first carrier
//! of each run of bytes (`history.rs`), and decides what each piece of payload does to them.

mod hist;
mod history;
mod order;
mod ranges;
mod reassembler;
mod ring;
mod summary;
#[cfg(test)]
mod tests;

pub use hist::Hist;
pub use order::{OrderSummary, SubflowWait, MAX_SUBFLOWS, MAX_WAITING};
pub use reassembler::Reassembler;
pub use summary::{Chunk, Dup, HoleKind, HolePolicy, Insert, RangeReport, ReassemblyLimits, Summary, MAX_DUP_ORIGINS, MAX_REPORTED_RANGES};
