//! Sequence number newtypes with wrapping comparison. STUB.
