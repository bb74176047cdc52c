//! How 64-bit sequence-space values are written in every JSON report: see [`mptcp_wire::json`],
//! where the option grammar's serialisers need them too.
pub use mptcp_wire::json::{dec, dec_ranges, opt_dec, Dec64};

/// For `skip_serializing_if`: a count that is zero is left out.
pub(crate) fn is_zero(v: &u64) -> bool {
    *v == 0
}
