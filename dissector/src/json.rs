//! Helpers for the JSON reports' `skip_serializing_if`. How 64-bit sequence-space values are
//! written is [`mptcp_wire::json`]'s, where the option grammar's serialisers need it too.

/// For `skip_serializing_if`: a count that is zero is left out.
pub(crate) fn is_zero(v: &u64) -> bool {
    *v == 0
}
