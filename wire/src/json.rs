//! How 64-bit sequence-space values are written in every JSON report.
//!
//! DSNs, IDSNs, data ACKs and the DSN ranges built from them span the whole 64-bit space. jq 1.6,
//! JavaScript's `JSON.parse` and pandas read JSON numbers as IEEE doubles, which hold integers
//! exactly only up to 2^53: a DSN such as 8725461058535105958 comes back with its low digits
//! changed. So these values are JSON strings of their decimal digits, as tshark's JSON writes
//! every field (`"mptcp.dss.dsn": "8725461058535105958"`). Keys, tokens, nonces and HMACs are
//! hex strings already (see `options::mptcp::hex64`). Counts, byte totals, frame numbers, ports
//! and 32-bit TCP sequence numbers stay JSON numbers: they cannot reach 2^53 in any capture.
//!
//! ```
//! use mptcp_wire::json::Dec64;
//! assert_eq!(serde_json::to_string(&Dec64(u64::MAX)).unwrap(), "\"18446744073709551615\"");
//! ```
use serde::ser::{SerializeSeq, SerializeTuple, Serializer};
use serde::Serialize;

/// A 64-bit value written as a JSON string of its decimal digits (no allocation: serde's
/// `collect_str` formats straight into the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dec64(pub u64);

impl Serialize for Dec64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// `#[serde(serialize_with = "crate::json::dec")]` for a `u64` or [`DataSeq`](crate::seq::DataSeq)
/// field.
pub fn dec<T: Copy + Into<u64>, S: Serializer>(v: &T, serializer: S) -> Result<S::Ok, S::Error> {
    Dec64((*v).into()).serialize(serializer)
}

/// `#[serde(serialize_with = "crate::json::opt_dec")]` for an `Option<u64>` or
/// `Option<DataSeq>` field (`null` when absent).
pub fn opt_dec<T: Copy + Into<u64>, S: Serializer>(v: &Option<T>, serializer: S) -> Result<S::Ok, S::Error> {
    v.map(|v| Dec64(v.into())).serialize(serializer)
}

/// `#[serde(serialize_with = "crate::json::dec_ranges")]` for DSN ranges `[start, end)`: a list
/// of two-string lists.
pub fn dec_ranges<S: Serializer>(v: &[(u64, u64)], serializer: S) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(v.len()))?;
    for &(a, b) in v {
        seq.serialize_element(&Range(a, b))?;
    }
    seq.end()
}

struct Range(u64, u64);

impl Serialize for Range {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut t = serializer.serialize_tuple(2)?;
        t.serialize_element(&Dec64(self.0))?;
        t.serialize_element(&Dec64(self.1))?;
        t.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Doc {
        #[serde(serialize_with = "dec")]
        a: u64,
        #[serde(serialize_with = "opt_dec")]
        b: Option<u64>,
        #[serde(serialize_with = "opt_dec")]
        c: Option<u64>,
        #[serde(serialize_with = "dec_ranges")]
        r: Vec<(u64, u64)>,
    }

    #[test]
    fn values_above_2_pow_53_are_decimal_strings() {
        // 2^53 + 1 is the first integer a double cannot hold.
        let d = Doc { a: (1 << 53) + 1, b: Some(u64::MAX), c: None, r: vec![(0, 9_007_199_254_740_993)] };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"a":"9007199254740993","b":"18446744073709551615","c":null,"r":[["0","9007199254740993"]]}"#
        );
    }
}
