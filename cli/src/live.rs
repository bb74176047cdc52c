//! Live capture (`-i IFACE`, issue 26): packets from one or more interfaces through libpcap
//! (loaded at run time, [`crate::libpcap::Handle`]), handed to the same pipeline as a capture file.
//!
//! Each interface is read on a thread of its own; the threads write classic pcap records (in the
//! order they get them) into one pipe, whose other end the command reads as it reads a piped
//! capture (`tcpdump -w - | mptcp-trace analyze -`): every streaming output works live, and memory
//! follows the open connections. The capture ends — the pipe closes, the analysis finishes what
//! is open and reports it, exit 0 — at Ctrl-C (a second one ends the process at once), after
//! `-a duration:N`, or after `-c N` packets (the reader stops; the threads end at their next
//! write).
use std::io::{PipeReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::CliError;
use crate::libpcap::{Handle, Next};

/// Bytes captured of each packet (as tcpdump's default).
const SNAPLEN: i32 = 262_144;
/// libpcap's read timeout: packets reach the analysis at most this late.
const TIMEOUT_MS: i32 = 100;
/// How long a thread without packets waits before it looks again (and at the stop conditions).
const IDLE: Duration = Duration::from_millis(20);

/// Set by Ctrl-C.
static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<()> = OnceLock::new();

/// `-i` and `-a`.
#[derive(Debug, Clone)]
pub struct Live {
    pub interfaces: Vec<String>,
    pub duration: Option<Duration>,
}

/// `-a duration:N` (seconds, as tshark and dumpcap take it).
pub fn parse_autostop(s: &str) -> Result<Duration, String> {
    match s.split_once(':') {
        Some(("duration", n)) => n
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("-a duration:{n}: a number of seconds above 0")),
        _ => Err(format!("-a {s}: only duration:SECONDS is supported (packet counts: -c N)")),
    }
}

impl Live {
    /// The name the reports give the capture (as a file's name): `live:eth0,eth1`.
    pub fn name(&self) -> String {
        format!("live:{}", self.interfaces.join(","))
    }

    /// Opens every interface (errors before anything is read: no such device, no permission),
    /// starts the threads, and returns the pipe the pcap stream comes out of.
    pub fn open(&self) -> Result<PipeReader, CliError> {
        let mut handles = Vec::new();
        for i in &self.interfaces {
            let h = Handle::open(i, SNAPLEN, TIMEOUT_MS).map_err(|e| CliError::Usage(format!("-i {i}: {e}")))?;
            handles.push(h);
        }
        let linktype = handles.first().map_or(1, |h| h.linktype);
        if let Some(h) = handles.iter().position(|h| h.linktype != linktype) {
            return Err(CliError::Usage(format!(
                "-i {} has link type {} and -i {} {linktype}: one capture holds one link type (use -i any)",
                self.interfaces[h], handles[h].linktype, self.interfaces[0]
            )));
        }
        HANDLER.get_or_init(|| {
            let _ = ctrlc::set_handler(|| {
                if STOP.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
            });
        });
        let (reader, mut writer) = std::io::pipe().map_err(|e| CliError::Usage(format!("live capture: cannot make a pipe: {e}")))?;
        let mut head = Vec::with_capacity(24);
        head.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes()); // nanosecond timestamps
        head.extend_from_slice(&2u16.to_le_bytes());
        head.extend_from_slice(&4u16.to_le_bytes());
        head.extend_from_slice(&[0; 8]);
        head.extend_from_slice(&(SNAPLEN as u32).to_le_bytes());
        head.extend_from_slice(&linktype.to_le_bytes());
        writer.write_all(&head).map_err(|e| CliError::Usage(format!("live capture: {e}")))?;
        let deadline = self.duration.map(|d| Instant::now() + d);
        // One interface: its thread writes into the pipe. Several: each thread's packets go to
        // a merging thread that writes them in time order (libpcap hands packets over in
        // batches per interface, up to its read timeout late: written as they come, a join's
        // SYN on one interface could precede the handshake on another).
        let out = if handles.len() == 1 {
            Out::Pipe(Arc::new(Mutex::new(writer)))
        } else {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(4096);
            std::thread::Builder::new()
                .name("capture-merge".into())
                .spawn(move || merge(rx, writer))
                .map_err(|e| CliError::Usage(format!("live capture: cannot start a thread: {e}")))?;
            Out::Merge(tx)
        };
        // The pipe closes (the reader sees the end) when the last thread drops its writer.
        for (h, name) in handles.into_iter().zip(self.interfaces.clone()) {
            let out = out.clone();
            std::thread::Builder::new()
                .name(format!("capture-{name}"))
                .spawn(move || capture(h, &name, out, deadline))
                .map_err(|e| CliError::Usage(format!("live capture: cannot start a thread: {e}")))?;
        }
        Ok(reader)
    }
}

/// Where an interface's thread puts its records.
#[derive(Clone)]
enum Out {
    /// Straight into the pipe (one interface).
    Pipe(Arc<Mutex<std::io::PipeWriter>>),
    /// To the merging thread, with the timestamp in nanoseconds (several interfaces).
    Merge(std::sync::mpsc::SyncSender<(u64, Vec<u8>)>),
}

/// How long the merging thread holds a packet for an earlier one from another interface: above
/// libpcap's read timeout and a thread's idle wait.
const HOLD: Duration = Duration::from_millis(400);

/// Writes the packets of several interfaces in time order: each is held until [`HOLD`] after its
/// timestamp (the capture clock is the wall clock), then written; at the end, all of them.
fn merge(rx: std::sync::mpsc::Receiver<(u64, Vec<u8>)>, mut writer: std::io::PipeWriter) {
    use std::cmp::Reverse;
    use std::sync::mpsc::RecvTimeoutError;
    let mut held = std::collections::BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let ended = match rx.recv_timeout(Duration::from_millis(20)) {
            Ok((ts, rec)) => {
                seq += 1;
                held.push(Reverse((ts, seq, rec)));
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let until = now.saturating_sub(HOLD.as_nanos() as u64);
        while held.peek().is_some_and(|Reverse((ts, _, _))| ended || *ts <= until) {
            let Some(Reverse((_, _, rec))) = held.pop() else { break };
            if writer.write_all(&rec).is_err() {
                return; // the reader is done: the interfaces' threads end at their next send
            }
        }
        if ended {
            return;
        }
    }
}

/// One interface's packets out until a stop condition (or the reader is gone).
fn capture(mut h: Handle, name: &str, out: Out, deadline: Option<Instant>) {
    let mut record = Vec::with_capacity(SNAPLEN as usize + 16);
    loop {
        if STOP.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        match h.next() {
            Ok(Next::Packet(secs, nanos, len, data)) => {
                record.clear();
                record.extend_from_slice(&u32::try_from(secs).unwrap_or(u32::MAX).to_le_bytes());
                record.extend_from_slice(&nanos.to_le_bytes());
                record.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
                record.extend_from_slice(&len.to_le_bytes());
                record.extend_from_slice(data);
                let sent = match &out {
                    Out::Pipe(w) => w.lock().unwrap_or_else(|p| p.into_inner()).write_all(&record).is_ok(),
                    Out::Merge(tx) => {
                        tx.send((secs.saturating_mul(1_000_000_000).saturating_add(u64::from(nanos)), record.clone())).is_ok()
                    }
                };
                if !sent {
                    return; // the reader is done (-c, or the output failed)
                }
            }
            // Nothing waiting: look again shortly (and at the stop conditions).
            Ok(Next::Timeout) => std::thread::sleep(IDLE),
            Err(e) => {
                eprintln!("mptcp-trace: warning: -i {name}: {e}; the capture on it ends");
                return;
            }
        }
    }
}
