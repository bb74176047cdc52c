//! The sha256 of rebuilt streams, large ones on a helper thread.
//!
//! A stream is hashed on the tracker's thread until it has passed [`OFFLOAD_AFTER`] bytes; then
//! its hasher state moves to one helper thread per analysis, and the tracker only copies the
//! delivered bytes into a shared batch ([`BATCH`] bytes, a few batches in flight, recycled), so
//! hashing a large transfer runs beside decoding and reassembly instead of after them. Small
//! streams (most connections of a busy capture) never leave the tracker's thread: finishing an
//! offloaded stream waits for the helper to reach it. Memory: the batches in flight, and one
//! hasher state (~100 bytes) per open offloaded stream.
use std::collections::HashMap;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// Bytes a stream is hashed inline before its hasher moves to the helper thread.
const OFFLOAD_AFTER: u64 = 256 << 10;
/// Bytes per batch handed to the helper.
const BATCH: usize = 256 << 10;
/// Batches queued for the helper at most (the tracker waits past that).
const IN_FLIGHT: usize = 4;

/// One stream's hash.
pub(super) enum StreamHash {
    /// On the tracker's thread; bytes hashed so far.
    Inline(Box<Sha256>, u64),
    /// On the helper thread, under this id.
    Away(u64),
    /// A hole made the hash meaningless; the helper's state under the id, if any, is dropped
    /// when the stream finishes.
    Dead(Option<u64>),
}

impl StreamHash {
    pub(super) fn new() -> Self {
        StreamHash::Inline(Box::new(Sha256::new()), 0)
    }

    /// The stream has a hole: no hash.
    pub(super) fn kill(&mut self) {
        let id = match self {
            StreamHash::Away(id) => Some(*id),
            StreamHash::Dead(id) => *id,
            StreamHash::Inline(..) => None,
        };
        *self = StreamHash::Dead(id);
    }
}

enum Mark {
    Data { id: u64, len: usize },
    Adopt { id: u64, state: Box<Sha256> },
    Finish { id: u64 },
    Forget { id: u64 },
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    marks: Vec<Mark>,
}

struct Worker {
    batch: Batch,
    tx: Option<SyncSender<Batch>>,
    free: Receiver<Batch>,
    done: Receiver<[u8; 32]>,
    handle: Option<JoinHandle<()>>,
}

/// The helper thread, started when the first stream grows past [`OFFLOAD_AFTER`].
pub(super) struct Hashing {
    offload: bool,
    worker: Option<Worker>,
    next_id: u64,
}

impl Hashing {
    /// `offload`: move large streams to a helper thread (worth it with more than one core).
    pub(super) fn new(offload: bool) -> Self {
        Hashing { offload, worker: None, next_id: 0 }
    }

    pub(super) fn set_offload(&mut self, on: bool) {
        self.offload = on;
    }

    pub(super) fn update(&mut self, s: &mut StreamHash, bytes: &[u8]) {
        match s {
            StreamHash::Inline(h, n) => {
                h.update(bytes);
                *n += bytes.len() as u64;
                if self.offload && *n >= OFFLOAD_AFTER {
                    let id = self.next_id;
                    self.next_id += 1;
                    let state = std::mem::replace(h, Box::new(Sha256::new()));
                    self.push(Mark::Adopt { id, state }, &[]);
                    *s = StreamHash::Away(id);
                }
            }
            StreamHash::Away(id) => {
                let id = *id;
                self.push(Mark::Data { id, len: bytes.len() }, bytes);
            }
            StreamHash::Dead(_) => {}
        }
    }

    /// The hash of a complete stream.
    pub(super) fn finish(&mut self, s: StreamHash) -> Option<String> {
        let digest: [u8; 32] = match s {
            StreamHash::Inline(h, _) => h.finalize().into(),
            StreamHash::Away(id) => {
                self.push(Mark::Finish { id }, &[]);
                self.send();
                self.worker.as_ref()?.done.recv().ok()?
            }
            StreamHash::Dead(id) => {
                self.forget_id(id);
                return None;
            }
        };
        Some(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stream that ends without a hash (incomplete).
    pub(super) fn forget(&mut self, s: StreamHash) {
        match s {
            StreamHash::Away(id) => self.forget_id(Some(id)),
            StreamHash::Dead(id) => self.forget_id(id),
            StreamHash::Inline(..) => {}
        }
    }

    fn forget_id(&mut self, id: Option<u64>) {
        if let Some(id) = id {
            self.push(Mark::Forget { id }, &[]);
        }
    }

    fn push(&mut self, mark: Mark, bytes: &[u8]) {
        let w = self.worker.get_or_insert_with(Worker::start);
        w.batch.bytes.extend_from_slice(bytes);
        match (w.batch.marks.last_mut(), &mark) {
            // consecutive pieces of one stream: one mark
            (Some(Mark::Data { id: a, len }), Mark::Data { id: b, len: n }) if a == b => *len += n,
            _ => w.batch.marks.push(mark),
        }
        if w.batch.bytes.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        let Some(w) = self.worker.as_mut() else { return };
        if w.batch.marks.is_empty() {
            return;
        }
        let next = w.free.try_recv().unwrap_or_else(|_| Batch { bytes: Vec::with_capacity(BATCH + (64 << 10)), marks: Vec::new() });
        let full = std::mem::replace(&mut w.batch, next);
        if let Some(tx) = &w.tx {
            let _ = tx.send(full);
        }
    }
}

impl Worker {
    fn start() -> Worker {
        let (tx, rx) = sync_channel::<Batch>(IN_FLIGHT);
        let (free_tx, free) = channel::<Batch>();
        let (done_tx, done) = channel::<[u8; 32]>();
        let handle = std::thread::Builder::new().name("sha256".into()).spawn(move || work(rx, free_tx, done_tx)).ok();
        Worker { batch: Batch { bytes: Vec::with_capacity(BATCH + (64 << 10)), marks: Vec::new() }, tx: Some(tx), free, done, handle }
    }
}

fn work(rx: Receiver<Batch>, free: Sender<Batch>, done: Sender<[u8; 32]>) {
    let mut states: HashMap<u64, Box<Sha256>> = HashMap::new();
    while let Ok(mut b) = rx.recv() {
        let mut off = 0;
        for m in b.marks.drain(..) {
            match m {
                Mark::Data { id, len } => {
                    if let (Some(h), Some(bytes)) = (states.get_mut(&id), b.bytes.get(off..off + len)) {
                        h.update(bytes);
                    }
                    off += len;
                }
                Mark::Adopt { id, state } => {
                    states.insert(id, state);
                }
                Mark::Finish { id } => {
                    let d = states.remove(&id).map(|h| h.finalize().into()).unwrap_or([0; 32]);
                    let _ = done.send(d);
                }
                Mark::Forget { id } => {
                    states.remove(&id);
                }
            }
        }
        b.bytes.clear();
        let _ = free.send(b);
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.tx = None;
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: impl AsRef<[u8]>) -> String {
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn offloaded_and_inline_hashes_are_sha256() {
        // several interleaved streams, large and small, some with holes
        let data: Vec<Vec<u8>> =
            (0..5u8).map(|i| (0..(3_000_000 / (u32::from(i) + 1))).map(|x| (x * 7 + u32::from(i)) as u8).collect()).collect();
        for offload in [false, true] {
            let mut hs = Hashing::new(offload);
            let mut st: Vec<StreamHash> = (0..5).map(|_| StreamHash::new()).collect();
            let mut pos = [0usize; 5];
            let mut step = 0;
            while pos.iter().zip(&data).any(|(p, d)| *p < d.len()) {
                for i in 0..5 {
                    let n = (1000 + step * 37 % 9000).min(data[i].len() - pos[i]);
                    hs.update(&mut st[i], &data[i][pos[i]..pos[i] + n]);
                    pos[i] += n;
                    step += 1;
                }
            }
            st[3].kill();
            let got: Vec<Option<String>> = st.into_iter().map(|s| hs.finish(s)).collect();
            for (i, g) in got.iter().enumerate() {
                let want = (i != 3).then(|| hex(Sha256::digest(&data[i])));
                assert_eq!(*g, want, "stream {i}, offload {offload}");
            }
            assert_eq!(hs.worker.is_some(), offload);
        }
    }
}
