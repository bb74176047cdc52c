//! The framing tests of the option grammar, and the helpers each grammar's tests share
//! (round trip, truncations, emit → parse).
use super::*;
use proptest::prelude::*;

use super::arb::arb_option;

/// Parse `wire`, emit it back, assert the same bytes; returns the parsed option.
pub(crate) fn roundtrip(wire: &[u8]) -> MptcpOption<'_> {
    let opt = parse(wire).unwrap_or_else(|e| panic!("{wire:02x?} does not parse: {e}"));
    assert_eq!(opt.buffer_len(), wire.len(), "buffer_len of {opt:?}");
    let mut buf = [0u8; 256];
    let n = opt.emit(&mut buf).unwrap_or_else(|e| panic!("emit {opt:?}: {e}"));
    assert_eq!(buf.get(..n), Some(wire), "emit of {opt:?}");
    assert!(matches!(opt.emit(&mut buf[..n - 1]), Err(EmitError::BufferTooSmall { .. })));
    opt
}

/// Every truncation of a valid option, with the length byte re-set to the truncated
/// length and with it left as it was: never a panic; either an error or a different
/// option that round-trips.
pub(crate) fn check_truncations(wire: &[u8]) {
    let whole = parse(wire).expect("valid vector");
    for cut in 0..wire.len() {
        let kept = &wire[..cut];
        assert!(parse(kept).is_err(), "cut {cut} with stale length byte parsed");
        let mut fixed = kept.to_vec();
        if let Some(l) = fixed.get_mut(1) {
            *l = cut as u8;
        }
        if let Ok(other) = parse(&fixed) {
            assert_ne!(other, whole);
            let mut buf = [0u8; 256];
            let n = other.emit(&mut buf).expect("emit");
            assert_eq!(&buf[..n], &fixed[..]);
        }
    }
}

/// emit → parse gives the same value back, and the bytes round-trip too.
pub(crate) fn emit_parse_eq(opt: &MptcpOption<'_>) -> Result<(), TestCaseError> {
    let mut buf = [0u8; 256];
    let n = opt.emit(&mut buf).map_err(|e| TestCaseError::fail(format!("{opt:?}: {e}")))?;
    prop_assert_eq!(n, opt.buffer_len());
    let wire = &buf[..n];
    let back = parse(wire).map_err(|e| TestCaseError::fail(format!("{opt:?}: {e}")))?;
    prop_assert_eq!(&back, opt);
    Ok(())
}

proptest! {
    #[test]
    fn any_valid_option_roundtrips(opt in arb_option()) {
        emit_parse_eq(&opt)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..40),
                                   fix in any::<bool>()) {
        // Half the time make it look like a well-formed kind-30 option so the grammars
        // themselves get exercised, not just the framing checks.
        if fix && bytes.len() >= 2 {
            bytes[0] = KIND_MPTCP;
            bytes[1] = bytes.len() as u8;
        }
        if let Ok(opt) = parse(&bytes) {
            let mut buf = [0u8; 256];
            let n = opt.emit(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buf[..n], &bytes[..]);
            let _ = opt.to_string();
            let _ = serde_json::to_string(&opt);
        }
    }

    #[test]
    fn mutated_valid_options_never_panic(opt in arb_option(),
                                         flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
                                         cut in any::<proptest::sample::Index>()) {
        // Start from a valid option and corrupt bytes after the length byte, then cut it
        // (keeping the length byte consistent) so that near-valid inputs reach every grammar.
        let mut buf = [0u8; 256];
        let n = opt.emit(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut bytes = buf[..n].to_vec();
        for (at, x) in flips {
            let i = 2 + at % (n - 2);
            bytes[i] ^= x;
        }
        bytes.truncate(3.max(cut.index(n + 1)));
        bytes[1] = bytes.len() as u8;
        if let Ok(back) = parse(&bytes) {
            let mut out = [0u8; 256];
            let m = back.emit(&mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&out[..m], &bytes[..]);
        }
    }

    #[test]
    fn valid_subtype_bytes_never_panic(st in 0u8..16, rest in proptest::collection::vec(any::<u8>(), 0..32)) {
        let mut bytes = vec![KIND_MPTCP, 0, st << 4];
        bytes.extend(rest);
        bytes[1] = bytes.len() as u8;
        if let Ok(opt) = parse(&bytes) {
            let mut buf = [0u8; 256];
            let n = opt.emit(&mut buf).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&buf[..n], &bytes[..]);
        }
    }
}

#[test]
fn framing_errors() {
    assert_eq!(parse(&[]), Err(OptionError::new(0, None, OptionErrorKind::NoSubtype { len: 0 })));
    assert_eq!(parse(&[30, 2]), Err(OptionError::new(2, None, OptionErrorKind::NoSubtype { len: 2 })));
    assert_eq!(parse(&[2, 4, 5, 0xb4]).unwrap_err().kind, OptionErrorKind::NotMptcp(2));
    let e = parse(&[30, 5, 0x01, 0x81]).unwrap_err();
    assert_eq!(e.offset, 1);
    assert_eq!(e.clone().rebased(20).offset, 21);
    assert_eq!(e.kind, OptionErrorKind::LengthMismatch { declared: 5, actual: 4 });
}

#[test]
fn error_display_names_subtype_offset_and_expectation() {
    let e = parse(&[30, 5, 0x01, 0x81, 0]).unwrap_err();
    assert_eq!(e.to_string(), "MPTCP MP_CAPABLE option, byte 1: length 5 is not valid, expected 4, 12, 20, 22, 24");
}

#[test]
fn unknown_and_experimental_are_kept_raw() {
    let opt = roundtrip(&[30, 5, 0x9a, 0xbc, 0xde]);
    assert_eq!(opt, MptcpOption::Unknown { subtype: 9, body: &[0x9a, 0xbc, 0xde] });
    assert_eq!(opt.subtype_name(), "UNKNOWN");
    assert_eq!(opt.to_string(), "mptcp unknown subtype 9 body 0x9abcde");
    assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"UNKNOWN","subtype_number":9,"body":"9abcde"}"#);
    let opt = roundtrip(&[30, 3, 0xf1]);
    assert_eq!(opt, MptcpOption::Experimental { body: &[0xf1] });
    assert_eq!(opt.subtype_name(), "MP_EXPERIMENTAL");
    assert_eq!(serde_json::to_string(&opt).unwrap(), r#"{"subtype":"MP_EXPERIMENTAL","subtype_number":15,"body":"f1"}"#);
    check_truncations(&[30, 5, 0x9a, 0xbc, 0xde]);
}

#[test]
fn emit_rejects_inconsistent_raw_bodies() {
    let opt = MptcpOption::Unknown { subtype: 9, body: &[0xa0] };
    assert!(matches!(opt.emit(&mut [0u8; 8]), Err(EmitError::Unencodable { .. })));
    let opt = MptcpOption::Unknown { subtype: 3, body: &[0x30] };
    assert!(matches!(opt.emit(&mut [0u8; 8]), Err(EmitError::Unencodable { .. })));
    let opt = MptcpOption::Experimental { body: &[] };
    assert!(matches!(opt.emit(&mut [0u8; 8]), Err(EmitError::Unencodable { .. })));
}
