//! Raw TCP option walker (RFC 9293 §3.1): EOL, NOP, and kind/length for every other kind.
//!
//! etherparse's option iterator stops at kinds it does not know; this walker keeps going and
//! hands every option over as raw bytes, so kind 30 (MPTCP) can go to [`super::mptcp::parse`].
//!
//! ```
//! use mptcp_wire::options::tcp::{TcpOptionIter, TcpOption};
//! let raw = [1, 1, 30, 4, 0, 0x81, 0];
//! let kinds: Vec<u8> = TcpOptionIter::new(&raw).filter_map(|o| match o {
//!     Ok(TcpOption::Other { kind, .. }) => Some(kind),
//!     _ => None,
//! }).collect();
//! assert_eq!(kinds, vec![30]);
//! ```

/// TCP option kind of MPTCP (RFC 8684 §3).
pub const KIND_MPTCP: u8 = 30;
/// TCP timestamps (RFC 7323).
pub const KIND_TIMESTAMP: u8 = 8;

/// One TCP option, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    Nop,
    /// End of option list; the walk stops here.
    Eol,
    /// Any other option: `bytes` is the whole option including kind and length.
    Other {
        kind: u8,
        offset: usize,
        bytes: &'a [u8],
    },
}

/// An option whose length byte is missing, below 2, or runs past the option space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TCP option kind {kind} at option byte {offset}: {what}")]
pub struct WalkError {
    pub kind: u8,
    pub offset: usize,
    pub what: &'static str,
}

/// Iterator over raw option bytes. After an error it stops.
#[derive(Debug, Clone)]
pub struct TcpOptionIter<'a> {
    bytes: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> TcpOptionIter<'a> {
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        TcpOptionIter { bytes, at: 0, done: false }
    }
}

impl<'a> Iterator for TcpOptionIter<'a> {
    type Item = Result<TcpOption<'a>, WalkError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.at;
        let kind = match self.bytes.get(offset) {
            Some(k) => *k,
            None => {
                self.done = true;
                return None;
            }
        };
        match kind {
            0 => {
                self.done = true;
                Some(Ok(TcpOption::Eol))
            }
            1 => {
                self.at += 1;
                Some(Ok(TcpOption::Nop))
            }
            _ => {
                let fail = |what| WalkError { kind, offset, what };
                let len = match self.bytes.get(offset + 1) {
                    Some(l) => usize::from(*l),
                    None => {
                        self.done = true;
                        return Some(Err(fail("length byte missing")));
                    }
                };
                if len < 2 {
                    self.done = true;
                    return Some(Err(fail("length below 2")));
                }
                match self.bytes.get(offset..offset + len) {
                    Some(bytes) => {
                        self.at += len;
                        Some(Ok(TcpOption::Other { kind, offset, bytes }))
                    }
                    None => {
                        self.done = true;
                        Some(Err(fail("length runs past the end of the options")))
                    }
                }
            }
        }
    }
}

/// TCP timestamp option values (TSval, TSecr), if present and well-formed.
pub fn timestamps(options: &[u8]) -> Option<(u32, u32)> {
    TcpOptionIter::new(options).find_map(|o| match o {
        Ok(TcpOption::Other { kind: KIND_TIMESTAMP, bytes, .. }) if bytes.len() == 10 => Some((
            u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]),
            u32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]),
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_unknown_kinds_and_mptcp() {
        // MSS, SACK-permitted, unknown kind 99, timestamps, NOP, MPTCP.
        let raw = [2, 4, 5, 0xb4, 4, 2, 99, 3, 0xaa, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 30, 4, 0x00, 0x81];
        let kinds: Vec<u8> = TcpOptionIter::new(&raw)
            .map(|o| match o.expect("valid") {
                TcpOption::Other { kind, .. } => kind,
                TcpOption::Nop => 1,
                TcpOption::Eol => 0,
            })
            .collect();
        assert_eq!(kinds, vec![2, 4, 99, 8, 1, 30]);
        assert_eq!(timestamps(&raw), Some((1, 2)));
    }

    #[test]
    fn bad_lengths_are_errors() {
        for raw in [&[30u8][..], &[30, 1], &[30, 0, 0], &[30, 12, 1, 2]] {
            let last = TcpOptionIter::new(raw).last().expect("one item");
            assert!(last.is_err(), "{raw:?}");
        }
    }

    #[test]
    fn eol_stops() {
        let raw = [0, 30, 4, 0, 0];
        assert_eq!(TcpOptionIter::new(&raw).count(), 1);
    }
}
