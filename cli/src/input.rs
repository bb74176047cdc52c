//! What every command that reads captures applies to them before analysis: the capture filter
//! (`-f`, BPF as tcpdump takes it, compiled by libpcap, loaded at run time, for each link type
//! the capture holds)
//! and the packet count (`-c`, as tcpdump's and tshark's).
//!
//! The flags are set once, before any capture is opened ([`configure`]), and every place that
//! opens a capture goes through [`prepare`]; a process-wide setting keeps the many openers
//! (one file, several in parallel, merged, paired) from threading it through each signature.
use std::sync::OnceLock;

use mptcp_dissector::capture::{merge::MergedReader, CaptureReader, PacketFilter};

use crate::libpcap::Program;

/// The capture-level options of a run.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// BPF expression (`-f`).
    pub filter: Option<String>,
    /// Packets to read at most, after the filter (`-c`).
    pub count: Option<u64>,
}

static OPTIONS: OnceLock<InputOptions> = OnceLock::new();

/// Sets the run's options, after checking the filter's syntax: an expression libpcap compiles
/// neither for Ethernet nor for raw IP is an error (exit 2) before any file is read, and so is
/// a filter when libpcap cannot be loaded (the message names the package).
pub fn configure(options: InputOptions) -> Result<(), String> {
    if let Some(expr) = &options.filter {
        let on_ethernet = compile(expr, LINKTYPE_ETHERNET);
        if let Err(e) = on_ethernet {
            crate::libpcap::available()?;
            compile(expr, LINKTYPE_RAW).map_err(|_| format!("-f: bad capture filter {expr:?}: {e}"))?;
        }
    }
    let _ = OPTIONS.set(options);
    Ok(())
}

/// Applies the run's filter and count to a capture just opened.
pub fn prepare(reader: &mut CaptureReader) {
    let Some(options) = OPTIONS.get() else { return };
    if let Some(expr) = &options.filter {
        reader.set_filter(Box::new(Bpf::new(expr)));
    }
    if let Some(n) = options.count {
        reader.set_limit(n);
    }
}

/// Applies the run's options to captures merged into one (`--merge`): the filter to each
/// input, the count to the merged stream.
pub fn prepare_merged(readers: &mut [CaptureReader]) -> Option<u64> {
    let options = OPTIONS.get()?;
    if let Some(expr) = &options.filter {
        for r in readers.iter_mut() {
            r.set_filter(Box::new(Bpf::new(expr)));
        }
    }
    options.count
}

/// Sets the count of `-c` on a merged stream.
pub fn limit_merged(reader: &mut MergedReader, count: Option<u64>) {
    if let Some(n) = count {
        reader.set_limit(n);
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
