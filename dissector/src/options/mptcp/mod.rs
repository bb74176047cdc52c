//! MPTCP option grammar (TCP option kind 30). STUB: replaced by the real parser.
use std::fmt;

/// A decoded MPTCP option, borrowing from the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MptcpOption<'a> {
    Unknown { subtype: u8, body: &'a [u8] },
}

/// A malformed MPTCP option: where (byte offset within the option) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub offset: usize,
    pub message: String,
}

/// Parse one whole TCP option (kind 30, length byte, body); `option.len()` equals the length byte.
pub fn parse(option: &[u8]) -> Result<MptcpOption<'_>, OptionError> {
    let b = option.get(2).copied().unwrap_or(0);
    Ok(MptcpOption::Unknown { subtype: b >> 4, body: option.get(2..).unwrap_or(&[]) })
}

impl fmt::Display for MptcpOption<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MptcpOption::Unknown { subtype, .. } => write!(f, "mptcp unknown-{subtype}"),
        }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for OptionError {}

impl serde::Serialize for MptcpOption<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            MptcpOption::Unknown { subtype, .. } => {
                m.serialize_entry("subtype", "UNKNOWN")?;
                m.serialize_entry("subtype_number", subtype)?;
            }
        }
        m.end()
    }
}
