//! TCP options: the raw option walker ([`tcp`]) and the MPTCP option grammar ([`mptcp`]).
pub mod mptcp;
pub mod tcp;

use tcp::{TcpOption, TcpOptionIter, WalkError, KIND_MPTCP};

/// Why an option of a segment could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionIssue {
    #[error(transparent)]
    Walk(WalkError),
    #[error("MPTCP option at option byte {offset}: {error}")]
    Mptcp { offset: usize, error: mptcp::OptionError },
}

impl OptionIssue {
    /// Byte offset within the TCP option space.
    pub fn offset(&self) -> usize {
        match self {
            OptionIssue::Walk(w) => w.offset,
            OptionIssue::Mptcp { offset, error } => offset + error.offset,
        }
    }
}

/// The MPTCP options of a segment's raw option bytes, in wire order, with their offsets in the
/// option space; malformed ones as errors (the walk goes on past a bad MPTCP option, and stops
/// only where the option lengths themselves are broken).
#[inline]
pub fn mptcp_options(options: &[u8]) -> MptcpOptions<'_> {
    MptcpOptions { walk: TcpOptionIter::new(options) }
}

/// The iterator of [`mptcp_options`]. A named type with an `#[inline]` `next` rather than a
/// `filter_map` closure: across the crate boundary LLVM kept the closure out of line, one call
/// per TCP option of every segment.
#[derive(Debug, Clone)]
pub struct MptcpOptions<'a> {
    walk: TcpOptionIter<'a>,
}

impl<'a> Iterator for MptcpOptions<'a> {
    type Item = Result<(usize, mptcp::MptcpOption<'a>), OptionIssue>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.walk.next()? {
                Ok(TcpOption::Other { kind: KIND_MPTCP, offset, bytes }) => {
                    return Some(mptcp::parse(bytes).map(|opt| (offset, opt)).map_err(|error| OptionIssue::Mptcp { offset, error }));
                }
                Ok(_) => {}
                Err(w) => return Some(Err(OptionIssue::Walk(w))),
            }
        }
    }
}

/// Whether the raw options contain a kind-30 option (cheap pre-check, no MPTCP parsing).
pub fn has_mptcp(options: &[u8]) -> bool {
    TcpOptionIter::new(options).any(|o| matches!(o, Ok(TcpOption::Other { kind: KIND_MPTCP, .. })) || o.is_err())
}
