//! The capture applications' payload (testdata/mptcp_app.py): SHA-256 in counter mode over the
//! seed, `sha256(seed || be64(i))` for i = 0, 1, …, the first `n` bytes. Shared by the dissector's
//! and the cli's tests (`#[path]`), so both place rebuilt streams against the same truth.
use sha2::{Digest, Sha256};

pub fn gen_stream(seed: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut ctr = 0u64;
    while out.len() < n {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update(ctr.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        ctr += 1;
    }
    out.truncate(n);
    out
}
