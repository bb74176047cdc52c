//! What every command that reads captures applies to them before analysis: the capture filter
//! (`-f`, BPF as tcpdump takes it, compiled by libpcap, loaded at run time, for each link type
//! the capture holds)
//! and the packet count (`-c`, as tcpdump's and tshark's).
//!
//! The options are checked once, before any capture is opened ([`InputOptions::check`]), are
//! part of the run's [`crate::config::RunConfig`], and every place that opens a capture applies
//! them with [`InputOptions::prepare`].
use mptcp_dissector::capture::{merge::MergedReader, CaptureReader, PacketFilter};

use crate::libpcap::Program;

/// The capture-level options of a run.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// BPF expression (`-f`).
    pub filter: Option<String>,
    /// Packets to read at most, after the filter (`-c`).
    pub count: Option<u64>,
    /// `-i`: a live capture instead of files.
    pub live: Option<crate::live::Live>,
    /// `--stats-interval`, in nanoseconds.
    pub stats_ns: Option<u64>,
}

impl InputOptions {
    /// Checks the filter's syntax: an expression libpcap compiles neither for Ethernet nor for
    /// raw IP is an error (exit 2) before any file is read, and so is a filter when libpcap
    /// cannot be loaded (the message names the package).
    pub fn check(&self) -> Result<(), String> {
        if let Some(expr) = &self.filter {
            let on_ethernet = compile(expr, LINKTYPE_ETHERNET);
            if let Err(e) = on_ethernet {
                crate::libpcap::available()?;
                compile(expr, LINKTYPE_RAW).map_err(|_| format!("-f: bad capture filter {expr:?}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Applies the filter and count to a capture just opened.
    pub fn prepare(&self, reader: &mut CaptureReader) {
        if let Some(expr) = &self.filter {
            reader.set_filter(Box::new(Bpf::new(expr)));
        }
        if let Some(n) = self.count {
            reader.set_limit(n);
        }
    }

    /// Applies the options to captures merged into one (`--merge`): the filter to each input,
    /// the count to the merged stream.
    pub fn prepare_merged(&self, mut readers: Vec<CaptureReader>) -> MergedReader {
        if let Some(expr) = &self.filter {
            for r in readers.iter_mut() {
                r.set_filter(Box::new(Bpf::new(expr)));
            }
        }
        let mut reader = MergedReader::new(readers);
        if let Some(n) = self.count {
            reader.set_limit(n);
        }
        reader
    }
}

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;

fn compile(expr: &str, linktype: u32) -> Result<Program, String> {
    Program::compile(expr, linktype)
}

/// A BPF program per link type met in the capture (pcapng interfaces may differ), compiled
/// when the first packet of that link type comes.
struct Bpf {
    expr: String,
    programs: Vec<(u32, Program)>,
}

impl Bpf {
    fn new(expr: &str) -> Self {
        Bpf { expr: expr.to_string(), programs: Vec::new() }
    }
}

impl PacketFilter for Bpf {
    fn matches(&mut self, linktype: u32, data: &[u8], _orig_len: u32) -> Result<bool, String> {
        if let Some((_, p)) = self.programs.iter().find(|(lt, _)| *lt == linktype) {
            return Ok(p.matches(data));
        }
        let program =
            compile(&self.expr, linktype).map_err(|e| format!("{:?} cannot be applied to link type {linktype}: {e}", self.expr))?;
        let pass = program.matches(data);
        self.programs.push((linktype, program));
        Ok(pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_caught_before_reading() {
        assert!(compile("host 192.0.2.1 and port 7000", LINKTYPE_ETHERNET).is_ok());
        assert!(compile("host and and", LINKTYPE_ETHERNET).is_err());
        // Link-layer primitives compile for Ethernet, not for raw IP.
        assert!(compile("ether host 02:00:00:00:00:01", LINKTYPE_ETHERNET).is_ok());
        assert!(compile("ether host 02:00:00:00:00:01", LINKTYPE_RAW).is_err());
    }
}
