//! nom plumbing shared by the option grammars: the error type that keeps the byte offset and
//! what was expected, and big-endian field parsers that say how many bytes they needed.
//!
//! Every grammar is a nom parser over `complete` input: `fn parse_x(i: &[u8]) -> PResult<'_, X>`
//! where `i` is the option from its subtype byte (byte 2) to its end, as the TCP option length
//! byte delimits it; so the option length is `i.len() + 2` ([`option_len`]).
//!
//! nom hands a parser only the input it has left, so a [`GrammarError`] knows how many bytes were
//! left where it failed; [`GrammarError::into_option_error`], which knows the option length,
//! turns that into the offset from the kind byte (offset = option length − bytes left) and builds
//! the public [`OptionError`]. Nothing is built on the happy path: an error value exists only
//! once a grammar has failed.

use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{be_u16, be_u32, be_u64, be_u8};
use nom::IResult;

use super::{ExpectedLen, OptionError, OptionErrorKind, SeqLen};

/// What every option grammar returns.
pub(crate) type PResult<'a, O> = IResult<&'a [u8], O, GrammarError>;

/// Where a grammar failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// The length byte (byte 1): a length the grammar does not allow is reported there.
    LengthByte,
    /// With this many bytes of the option left.
    Left(usize),
}

/// What went wrong: one of the public kinds, or a bare nom error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum What {
    Option(OptionErrorKind),
    /// A nom combinator failed on its own. The field parsers of this module map their failures
    /// to [`OptionErrorKind::Truncated`], so in practice this is `all_consuming` finding bytes
    /// after the last field.
    Nom(ErrorKind),
}

/// The error type of the option grammars (nom's [`ParseError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GrammarError {
    pub(crate) at: At,
    pub(crate) what: What,
}

impl ParseError<&[u8]> for GrammarError {
    fn from_error_kind(input: &[u8], kind: ErrorKind) -> Self {
        GrammarError { at: At::Left(input.len()), what: What::Nom(kind) }
    }

    /// Keep the innermost error: it has the precise position.
    fn append(_: &[u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

impl GrammarError {
    /// A failure with `left` bytes of the option left.
    pub(crate) fn at(left: &[u8], kind: OptionErrorKind) -> nom::Err<Self> {
        nom::Err::Error(GrammarError { at: At::Left(left.len()), what: What::Option(kind) })
    }

    /// The option length is not one the grammar allows (reported at the length byte).
    pub(crate) fn bad_length(len: usize, expected: ExpectedLen) -> nom::Err<Self> {
        nom::Err::Error(GrammarError { at: At::LengthByte, what: What::Option(OptionErrorKind::BadLength { len, expected }) })
    }

    /// The public error, for an option of `len` bytes (kind byte included).
    pub(crate) fn into_option_error(self, len: usize, subtype: Option<u8>) -> OptionError {
        let offset = match self.at {
            At::LengthByte => 1,
            At::Left(left) => len.saturating_sub(left),
        };
        let kind = match self.what {
            What::Option(kind) => kind,
            // all_consuming: the grammar ended `left` bytes before the option did, so the only
            // length it would have taken is the one it consumed. (Each grammar checks the length
            // up front, so this is a guard, not a path real options take.)
            What::Nom(_) => {
                let consumed = u8::try_from(offset).unwrap_or(u8::MAX);
                return OptionError::new(1, subtype, OptionErrorKind::BadLength { len, expected: ExpectedLen::Exactly(consumed) });
            }
        };
        OptionError::new(offset, subtype, kind)
    }
}

/// The option length of a grammar's input (which starts at the subtype byte).
pub(crate) fn option_len(i: &[u8]) -> usize {
    i.len() + 2
}

/// Fails with [`OptionErrorKind::BadLength`] unless `ok`: the length check each grammar makes
/// before it reads a field, since which fields are present is (partly) given by the length.
pub(crate) fn expect_len(ok: bool, len: usize, expected: ExpectedLen) -> Result<(), nom::Err<GrammarError>> {
    if ok {
        Ok(())
    } else {
        Err(GrammarError::bad_length(len, expected))
    }
}

/// Big-endian fields: nom's `complete` number parsers, with a failure reported as a
/// `needed`-byte field that runs past the end of the option.
pub(crate) mod field {
    use super::*;

    fn truncated(e: nom::Err<GrammarError>, needed: usize) -> nom::Err<GrammarError> {
        e.map(|g| GrammarError { what: What::Option(OptionErrorKind::Truncated { needed }), ..g })
    }

    #[inline]
    pub(crate) fn u8(i: &[u8]) -> PResult<'_, u8> {
        be_u8(i).map_err(|e| truncated(e, 1))
    }

    #[inline]
    pub(crate) fn u16(i: &[u8]) -> PResult<'_, u16> {
        be_u16(i).map_err(|e| truncated(e, 2))
    }

    #[inline]
    pub(crate) fn u32(i: &[u8]) -> PResult<'_, u32> {
        be_u32(i).map_err(|e| truncated(e, 4))
    }

    #[inline]
    pub(crate) fn u64(i: &[u8]) -> PResult<'_, u64> {
        be_u64(i).map_err(|e| truncated(e, 8))
    }

    /// A data sequence number or data ACK of 4 or 8 bytes (DSS flags `a`/`m`), widened.
    pub(crate) fn seq(len: SeqLen) -> impl Fn(&[u8]) -> PResult<'_, u64> {
        move |i| match len {
            SeqLen::Four => u32(i).map(|(i, v)| (i, u64::from(v))),
            SeqLen::Eight => u64(i),
        }
    }

    /// `N` bytes, borrowed from the packet (HMACs, addresses).
    #[inline]
    pub(crate) fn array<const N: usize>(i: &[u8]) -> PResult<'_, &[u8; N]> {
        let (rest, bytes) = take(N)(i).map_err(|e| truncated(e, N))?;
        match <&[u8; N]>::try_from(bytes) {
            Ok(a) => Ok((rest, a)),
            Err(_) => Err(GrammarError::at(i, OptionErrorKind::Truncated { needed: N })),
        }
    }
}
