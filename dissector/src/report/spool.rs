//! Parts of a report written as connections finish and put in place at the end, when what
//! comes before them in the document (counts, capture statistics) is known. Parts are numbered
//! (connection ids) and come out in that order whatever order they finished in: a part that
//! finished before a lower-numbered one waits, written aside, with only its place in an index
//! kept. Bytes are kept in memory up to [`Spool::IN_MEMORY`], then in an unnamed temporary file
//! (removed by the OS even if the process dies), so that memory does not follow the capture.
//!
//! ```
//! use mptcp_dissector::report::spool::Spool;
//! let mut s = Spool::new(b",\n");
//! s.part(1, Spool::json(&serde_json::json!({"a": 2}), 4).unwrap().as_bytes()).unwrap();
//! s.part(0, Spool::json(&serde_json::json!({"a": 1}), 4).unwrap().as_bytes()).unwrap();
//! let doc = serde_json::to_string_pretty(&serde_json::json!({"x": [], "y": 0})).unwrap();
//! let mut out = Vec::new();
//! s.splice_json_array(&doc, "x", &mut out).unwrap();
//! let whole = serde_json::json!({"x": [{"a": 1}, {"a": 2}], "y": 0});
//! assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string_pretty(&whole).unwrap());
//! ```
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};

/// Bytes in memory, then in a temporary file.
#[derive(Default)]
struct Store {
    mem: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
}

impl Store {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.len += buf.len() as u64;
        if let Some(f) = &mut self.file {
            return f.write_all(buf);
        }
        if self.mem.len() + buf.len() <= Spool::IN_MEMORY {
            self.mem.extend_from_slice(buf);
            return Ok(());
        }
        let mut f = BufWriter::with_capacity(64 << 10, tempfile::tempfile()?);
        f.write_all(&self.mem)?;
        f.write_all(buf)?;
        self.mem = Vec::new();
        self.file = Some(f);
        Ok(())
    }

    /// `len` bytes from `offset`.
    fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        match &mut self.file {
            None => {
                let at = usize::try_from(offset).map_err(io::Error::other)?;
                self.mem.get(at..at + len).map(<[u8]>::to_vec).ok_or_else(|| io::Error::other("spool: part out of range"))
            }
            Some(w) => {
                use std::os::unix::fs::FileExt;
                w.flush()?;
                let mut buf = vec![0; len];
                w.get_ref().read_exact_at(&mut buf, offset)?;
                Ok(buf)
            }
        }
    }

    fn copy_to(self, out: &mut dyn Write) -> io::Result<()> {
        match self.file {
            None => out.write_all(&self.mem),
            Some(w) => {
                let mut f = w.into_inner().map_err(|e| e.into_error())?;
                f.rewind()?;
                io::copy(&mut f, out).map(|_| ())
            }
        }
    }
}

/// Numbered parts, given in any order, written in number order.
pub struct Spool {
    /// The parts in order so far, separated by `sep`.
    done: Store,
    /// Parts that came before a lower-numbered one, and where each is in `aside` (`None`: a
    /// number that has no part).
    aside: Store,
    waiting: BTreeMap<usize, Option<(u64, usize)>>,
    next: usize,
    parts: u64,
    sep: &'static [u8],
}

impl Spool {
    /// Bytes kept in memory (each of the in-order and the waiting parts) before they go to a
    /// temporary file.
    pub const IN_MEMORY: usize = 1 << 20;

    /// A spool whose parts are separated by `sep` (`b",\n"` for a JSON array's elements).
    pub fn new(sep: &'static [u8]) -> Spool {
        Spool { done: Store::default(), aside: Store::default(), waiting: BTreeMap::new(), next: 0, parts: 0, sep }
    }

    /// A JSON array element as `serde_json` pretty-prints it inside a document: every line
    /// indented by `indent` spaces.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T, indent: usize) -> io::Result<String> {
        let text = serde_json::to_string_pretty(value)?;
        let pad = " ".repeat(indent);
        let mut part = String::with_capacity(text.len() + text.len() / 8 + indent);
        // A JSON string holds no raw newline: every line break is the printer's.
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                part.push('\n');
            }
            part.push_str(&pad);
            part.push_str(line);
        }
        Ok(part)
    }

    /// Part number `n`.
    pub fn part(&mut self, n: usize, bytes: &[u8]) -> io::Result<()> {
        if n > self.next {
            let offset = self.aside.len;
            self.aside.write_all(bytes)?;
            self.waiting.insert(n, Some((offset, bytes.len())));
            return Ok(());
        }
        self.put(bytes)?;
        self.next = self.next.max(n + 1);
        self.catch_up()
    }

    /// Number `n` has no part (a connection the report leaves out).
    pub fn skip(&mut self, n: usize) -> io::Result<()> {
        if n > self.next {
            self.waiting.insert(n, None);
            return Ok(());
        }
        self.next = self.next.max(n + 1);
        self.catch_up()
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.parts > 0 {
            self.done.write_all(self.sep)?;
        }
        self.parts += 1;
        self.done.write_all(bytes)
    }

    /// Moves the waiting parts that are next in order (all of them with `all`: the end).
    fn drain(&mut self, all: bool) -> io::Result<()> {
        while let Some(entry) = self.waiting.first_entry() {
            let n = *entry.key();
            if n != self.next && !all {
                break;
            }
            if let Some((offset, len)) = entry.remove() {
                let bytes = self.aside.read_at(offset, len)?;
                self.put(&bytes)?;
            }
            self.next = n + 1;
        }
        Ok(())
    }

    fn catch_up(&mut self) -> io::Result<()> {
        self.drain(false)
    }

    /// Whether no part was given.
    pub fn is_empty(&self) -> bool {
        self.parts == 0 && self.waiting.values().all(Option::is_none)
    }

    /// Writes `doc` (a pretty-printed JSON document whose array `key` is empty, `"key": []`, at
    /// its first occurrence) to `out` with the parts as that array's elements.
    pub fn splice_json_array(self, doc: &str, key: &str, out: &mut dyn Write) -> io::Result<()> {
        Spool::splice_json_arrays(doc, vec![(key, self)], out)
    }

    /// [`Spool::splice_json_array`] for several arrays, in the order they come in `doc`.
    pub fn splice_json_arrays(doc: &str, arrays: Vec<(&str, Spool)>, out: &mut dyn Write) -> io::Result<()> {
        let mut rest = doc;
        for (key, spool) in arrays {
            let marker = format!("\"{key}\": []");
            let Some(at) = rest.find(&marker) else {
                return Err(io::Error::other(format!("report: no empty \"{key}\" array to fill")));
            };
            let (head, tail) = rest.split_at(at + marker.len() - 1);
            rest = tail;
            if spool.is_empty() {
                out.write_all(head.as_bytes())?;
                continue;
            }
            // The closing bracket goes on its own line, indented as the key's line.
            let line_start = head.rfind('\n').map_or(0, |i| i + 1);
            let indent = head.len() - line_start - head[line_start..].trim_start().len();
            out.write_all(&head.as_bytes()[..head.len() - 1])?;
            out.write_all(b"[\n")?;
            spool.copy_to(out)?;
            out.write_all(b"\n")?;
            out.write_all(" ".repeat(indent).as_bytes())?;
        }
        out.write_all(rest.as_bytes())
    }

    /// Writes every part, in number order, to `out`.
    pub fn copy_to(mut self, out: &mut dyn Write) -> io::Result<()> {
        self.drain(true)?;
        self.done.copy_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: Spool) -> Vec<u8> {
        let mut out = Vec::new();
        s.copy_to(&mut out).unwrap();
        out
    }

    #[test]
    fn parts_come_out_in_number_order() {
        let mut s = Spool::new(b",");
        for (n, p) in [(2, "c"), (0, "a"), (4, "e"), (1, "b")] {
            s.part(n, p.as_bytes()).unwrap();
        }
        s.skip(3).unwrap();
        s.part(6, b"g").unwrap();
        assert_eq!(bytes(s), b"a,b,c,e,g", "5 never came: 6 follows at the end");
    }

    #[test]
    fn a_spool_past_memory_reads_back_whole() {
        let mut s = Spool::new(b"");
        let part = [b'x'; 1000];
        // Part 0 last: 2,999 parts wait aside (3 MB, in a file), then come out in order.
        for n in (1..3000).chain([0]) {
            let mut p = part;
            p[..8].copy_from_slice(&(n as u64).to_be_bytes());
            s.part(n, &p).unwrap();
        }
        assert!(s.aside.file.is_some() && s.done.file.is_some(), "3 MB went to files");
        let out = bytes(s);
        assert_eq!(out.len(), 3_000_000);
        for (n, chunk) in out.chunks(1000).enumerate() {
            assert_eq!(chunk[..8], (n as u64).to_be_bytes());
        }
    }

    #[test]
    fn an_empty_array_stays_empty() {
        let s = Spool::new(b",\n");
        let doc = "{\n  \"x\": [],\n  \"y\": 1\n}";
        let mut out = Vec::new();
        s.splice_json_array(doc, "x", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), doc);
    }
}
