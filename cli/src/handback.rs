//! [`HandBack`]: how a value owned by a sink boxed into the analyzer comes back to the caller.
//! The analyzer (`mptcp_dissector::track::Analyzer`) takes its sinks as `Box<dyn …>` and drops
//! them at the end of the run without handing them back; a sink that holds a `HandBack` sends
//! its value to the caller then, so the caller owns it again (no shared `Rc<RefCell>`).
use std::io::{self, Write};
use std::sync::mpsc;

use mptcp_dissector::track::{Connection, Observer, Retire, SegmentRecord, Subflow};

/// A value sent back to the caller's [`mpsc::Receiver`] when dropped.
pub struct HandBack<T> {
    value: Option<T>,
    tx: mpsc::Sender<T>,
}

impl<T> HandBack<T> {
    /// `value`, and where it comes back.
    pub fn new(value: T) -> (HandBack<T>, mpsc::Receiver<T>) {
        let (tx, rx) = mpsc::channel();
        (HandBack { value: Some(value), tx }, rx)
    }

    /// The value, while the holder owns it.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.as_mut()
    }
}

impl<T> Drop for HandBack<T> {
    fn drop(&mut self) {
        if let Some(v) = self.value.take() {
            let _ = self.tx.send(v);
        }
    }
}

/// A writer handed back: writes go to the value.
impl<W: Write> Write for HandBack<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.value.as_mut() {
            Some(w) => w.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.value.as_mut().map_or(Ok(()), |w| w.flush())
    }
}

/// A sink lent to the analyzer (`with_retire`, `with_observer`): it gets what the analyzer
/// gives, and comes back to the caller's receiver when the analyzer is done with it.
pub struct Lent<T>(HandBack<T>);

impl<T> Lent<T> {
    /// `sink`, and where it comes back.
    pub fn new(sink: T) -> (Lent<T>, mpsc::Receiver<T>) {
        let (h, rx) = HandBack::new(sink);
        (Lent(h), rx)
    }
}

impl<T: Retire> Retire for Lent<T> {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        if let Some(s) = self.0.get_mut() {
            s.connection(conn, subflows);
        }
    }
    fn flow(&mut self, flow: Subflow) {
        if let Some(s) = self.0.get_mut() {
            s.flow(flow);
        }
    }
}

impl<T: Observer> Observer for Lent<T> {
    fn segment(&mut self, record: &SegmentRecord) {
        if let Some(s) = self.0.get_mut() {
            s.segment(record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_comes_back_when_the_holder_is_dropped() {
        let (mut w, rx) = HandBack::new(Vec::new());
        let holder: Box<dyn Write> = {
            w.write_all(b"a").unwrap();
            Box::new(w)
        };
        assert!(rx.try_recv().is_err(), "not before the holder is dropped");
        drop(holder);
        assert_eq!(rx.try_recv().unwrap(), b"a");
    }
}
