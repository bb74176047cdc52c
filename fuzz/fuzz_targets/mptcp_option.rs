//! options::mptcp::parse on one raw TCP option; every option that parses must emit the same
//! bytes back (the module's round-trip contract).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mptcp_wire::options::mptcp::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(opt) = parse(data) {
        let _ = opt.to_string();
        let mut buf = [0u8; 64];
        let len = opt.buffer_len();
        let n = opt.emit(&mut buf).expect("an option that parsed must emit");
        assert_eq!(n, len, "buffer_len disagrees with emit for {opt:?}");
        assert_eq!(&buf[..n], data.get(..n).expect("emit longer than input"), "round trip of {opt:?}");
    }
});
