//! Tokens, IDSNs, HMACs and DSS checksums (RFC 8684 §3.1-3.4, RFC 6824). STUB.
