//! [`HandBack`]: how a value owned by a sink boxed into the analyzer comes back to the caller.
//! The analyzer (`mptcp_dissector::track::Analyzer`) takes its sinks as `Box<dyn …>` and drops
//! them at the end of the run without handing them back; a sink that holds a `HandBack` sends
//! its value to the caller then, so the caller owns it again (no shared `Rc<RefCell>`).
use std::io::{self, Write};
use std::sync::mpsc;

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
