//! Where the bytes of a capture come from: read on the caller's thread, watching for the end of
//! the input ([`EofWatch`]), or read ahead in chunks by a helper thread ([`ReadAhead`]).
use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc;

use super::error::CaptureError;

pub(super) type Head = io::Chain<io::Cursor<Vec<u8>>, EofWatch>;

/// Remembers whether the input has reached its end. pcap-file reports both "the file ends inside
/// a record" and "a record is longer than its 8 MB read buffer" as an unexpected EOF; only the
/// first is a truncation, the second is a bad length field in a file that goes on.
pub(super) struct EofWatch {
    pub(super) inner: Box<dyn Read>,
    pub(super) eof: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Read for EofWatch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

/// Where a pcap stream's bytes come from.
pub(super) enum Source {
    /// Read on the caller's thread (standard input, any `io::Read`).
    Direct(Head),
    /// A file read ahead by a helper thread.
    Ahead(ReadAhead),
}

/// Bytes of a read-ahead chunk: about the size `READ_CHUNK` was chosen for.
pub(super) const AHEAD_CHUNK: usize = 256 << 10;
/// Room left in front of each chunk for the end of the previous one (a record cut by the chunk
/// boundary); a longer record is gathered by copying.
pub(super) const AHEAD_HEAD: usize = 64 << 10;
/// Chunks in flight: read ahead, being parsed, handed back.
const AHEAD_CHUNKS: usize = 16;
/// Chunks handed back to the thread at once: waking it costs (much more in a VM than the read
/// itself), so it is woken once per batch and then reads the batch in a row.
const AHEAD_BATCH: usize = 8;
// The parser holds at most one chunk and AHEAD_BATCH - 1 spent ones: the thread always has
// chunks to read into while the parser waits.
const _: () = assert!(AHEAD_BATCH < AHEAD_CHUNKS);

/// A file read in chunks by a helper thread, a few chunks ahead of the parser. The chunks go
/// round between the two threads (`full`, `empty`), so the reading allocates nothing after
/// the first round. The thread ends at the end of the file, at a read error, or when this side
/// is dropped (its channel ends close).
pub(super) struct ReadAhead {
    full: mpsc::Receiver<io::Result<(Vec<u8>, usize)>>,
    empty: mpsc::SyncSender<Vec<Vec<u8>>>,
    /// Chunks parsed, not yet handed back (see `AHEAD_BATCH`).
    spent: Vec<Vec<u8>>,
    /// Set at the end of the file, as [`EofWatch`] does for the direct path.
    eof: std::rc::Rc<std::cell::Cell<bool>>,
    ended: bool,
}

impl ReadAhead {
    /// Starts the thread on a clone of `file` (same open file, same offset); `None` if the
    /// clone or the thread cannot be made (the caller then reads the file itself).
    pub(super) fn spawn(file: &File, eof: std::rc::Rc<std::cell::Cell<bool>>) -> Option<ReadAhead> {
        let file = file.try_clone().ok()?;
        Self::spawn_reader(file, eof)
    }

    /// Starts the thread on `source` (a file, or a compressed file's decoder); `None` if it
    /// cannot be started.
    pub(super) fn spawn_reader<R: Read + Send + 'static>(mut source: R, eof: std::rc::Rc<std::cell::Cell<bool>>) -> Option<ReadAhead> {
        // Room for every chunk and the end: sending never blocks the thread.
        let (full_tx, full) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(AHEAD_CHUNKS + 2);
        let (empty, empty_rx) = mpsc::sync_channel::<Vec<Vec<u8>>>(AHEAD_CHUNKS + 2);
        empty.send(vec![Vec::new(); AHEAD_CHUNKS]).ok()?;
        let reader = move || {
            let mut free: Vec<Vec<u8>> = Vec::new();
            loop {
                let Some(mut buf) = free.pop() else {
                    match empty_rx.recv() {
                        Ok(batch) => {
                            free = batch;
                            continue;
                        }
                        Err(_) => return,
                    }
                };
                buf.resize(AHEAD_HEAD + AHEAD_CHUNK, 0);
                let mut n = 0;
                let end = loop {
                    let Some(dst) = buf.get_mut(AHEAD_HEAD + n..).filter(|d| !d.is_empty()) else { break None };
                    match source.read(dst) {
                        Ok(0) => break Some(Ok(())),
                        Ok(k) => n += k,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Some(Err(e)),
                    }
                };
                if n > 0 && full_tx.send(Ok((buf, n))).is_err() {
                    return;
                }
                match end {
                    None => {}
                    Some(Ok(())) => {
                        let _ = full_tx.send(Ok((Vec::new(), 0)));
                        return;
                    }
                    Some(Err(e)) => {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                }
            }
        };
        std::thread::Builder::new().name("capture-read".into()).spawn(reader).ok()?;
        Some(ReadAhead { full, empty, spent: Vec::new(), eof, ended: false })
    }

    /// The next chunk and how many bytes it holds (after `AHEAD_HEAD`); `None` at the end.
    pub(super) fn next(&mut self, after_frame: u64) -> Result<Option<(Vec<u8>, usize)>, CaptureError> {
        if self.ended {
            return Ok(None);
        }
        match self.full.recv() {
            Ok(Ok((chunk, n))) if n > 0 => Ok(Some((chunk, n))),
            Ok(Ok(_)) => {
                self.ended = true;
                self.eof.set(true);
                Ok(None)
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.ended = true;
                Ok(None)
            }
            Ok(Err(source)) => {
                self.ended = true;
                Err(CaptureError::Io { after_frame, source })
            }
            Err(_) => {
                self.ended = true;
                Err(CaptureError::Io { after_frame, source: io::Error::other("the capture's reading thread stopped") })
            }
        }
    }

    /// Hands a chunk back to the thread for reuse, in batches (dropped if the thread has ended).
    pub(super) fn give_back(&mut self, chunk: Vec<u8>) {
        self.spent.push(chunk);
        if self.spent.len() >= AHEAD_BATCH {
            let _ = self.empty.try_send(std::mem::take(&mut self.spent));
        }
    }
}
