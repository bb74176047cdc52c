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
use nom::number::complete::be_u8;
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
    /// to [`OptionErrorKind::Truncated`], so in practice this is `eof` finding bytes after the
    /// last field.
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
    #[cold]
    pub(crate) fn at(left: &[u8], kind: OptionErrorKind) -> nom::Err<Self> {
        nom::Err::Error(GrammarError { at: At::Left(left.len()), what: What::Option(kind) })
    }

    /// The option length is not one the grammar allows (reported at the length byte).
    #[cold]
    pub(crate) fn bad_length(len: usize, expected: ExpectedLen) -> nom::Err<Self> {
        nom::Err::Error(GrammarError { at: At::LengthByte, what: What::Option(OptionErrorKind::BadLength { len, expected }) })
    }

    /// The public error, for an option of `len` bytes (kind byte included).
    #[cold]
    pub(crate) fn into_option_error(self, len: usize, subtype: Option<u8>) -> OptionError {
        let offset = match self.at {
            At::LengthByte => 1,
            At::Left(left) => len.saturating_sub(left),
        };
        let kind = match self.what {
            What::Option(kind) => kind,
            // eof: the grammar ended `left` bytes before the option did, so the only
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

/// Big-endian fields: nom's `complete` number parsers and `take`, with a failure reported as a
/// `needed`-byte field that runs past the end of the option.
///
/// They are types implementing [`Parser`] with an `#[inline(always)]` `process`, not plain
/// functions: nom 8 runs a plain `fn` through its blanket `impl Parser for F: FnMut`, whose
/// `process` is not marked inline, and LLVM left those calls (and the `Result` copies around
/// them) out of line in every grammar, which made the parsers 2–3 times slower than the
/// hand-rolled reader they replaced (see benches/options.rs).
pub(crate) mod field {
    use nom::{Mode, OutputMode, PResult as NomResult, Parser};

    use super::*;

    #[cold]
    fn truncated(e: nom::Err<GrammarError>, needed: usize) -> nom::Err<GrammarError> {
        e.map(|g| GrammarError { what: What::Option(OptionErrorKind::Truncated { needed }), ..g })
    }

    /// `IResult` → the output mode nom asks for.
    #[inline(always)]
    fn mode<'a, OM: OutputMode, O>(r: PResult<'a, O>) -> NomResult<OM, &'a [u8], O, GrammarError> {
        match r {
            Ok((rest, v)) => Ok((rest, OM::Output::bind(|| v))),
            Err(nom::Err::Error(e)) => Err(nom::Err::Error(OM::Error::bind(|| e))),
            Err(nom::Err::Failure(e)) => Err(nom::Err::Failure(e)),
            Err(nom::Err::Incomplete(n)) => Err(nom::Err::Incomplete(n)),
        }
    }

    /// `N` bytes as a big-endian number: `take(N)` and `from_be_bytes`, which compiles to one
    /// load (and a byte swap). nom's `be_u16/32/64` build the value a byte at a time
    /// (`(acc << 8) + byte` over `iter_elements().take(n)`), which LLVM does not merge into a
    /// single load; on the option corpus that cost a third more time per option.
    #[inline(always)]
    fn be<const N: usize>(i: &[u8]) -> PResult<'_, [u8; N]> {
        let (rest, bytes) = take(N)(i).map_err(|e| truncated(e, N))?;
        match <[u8; N]>::try_from(bytes) {
            Ok(a) => Ok((rest, a)),
            Err(_) => Err(GrammarError::at(i, OptionErrorKind::Truncated { needed: N })),
        }
    }

    macro_rules! be_field {
        ($(#[$doc:meta])* $name:ident, $t:ty, $parse:expr) => {
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub(crate) struct $name;

            impl<'a> Parser<&'a [u8]> for $name {
                type Output = $t;
                type Error = GrammarError;

                #[inline(always)]
                fn process<OM: OutputMode>(&mut self, i: &'a [u8]) -> NomResult<OM, &'a [u8], $t, GrammarError> {
                    mode::<OM, $t>($parse(i))
                }
            }
        };
    }

    be_field!(
        /// One byte (nom's `be_u8`).
        U8,
        u8,
        |i| be_u8(i).map_err(|e| truncated(e, 1))
    );
    be_field!(
        /// A big-endian 16-bit field.
        U16,
        u16,
        |i| be::<2>(i).map(|(i, b)| (i, u16::from_be_bytes(b)))
    );
    be_field!(
        /// A big-endian 32-bit field.
        U32,
        u32,
        |i| be::<4>(i).map(|(i, b)| (i, u32::from_be_bytes(b)))
    );
    be_field!(
        /// A big-endian 64-bit field.
        U64,
        u64,
        |i| be::<8>(i).map(|(i, b)| (i, u64::from_be_bytes(b)))
    );

    /// nom's `cond` (`p` when `b`, else `None` without reading), with an `#[inline(always)]`
    /// `process`: nom's `Cond` is not marked inline, and once the grammar moved to its own crate
    /// LLVM left it out of line in MP_CAPABLE and DSS (a call and `Result` copies per field).
    #[inline(always)]
    pub(crate) fn cond<P>(b: bool, p: P) -> Cond<P> {
        Cond(if b { Some(p) } else { None })
    }

    /// See [`cond`].
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Cond<P>(Option<P>);

    impl<'a, P: Parser<&'a [u8], Error = GrammarError>> Parser<&'a [u8]> for Cond<P> {
        type Output = Option<P::Output>;
        type Error = GrammarError;

        #[inline(always)]
        fn process<OM: OutputMode>(&mut self, i: &'a [u8]) -> NomResult<OM, &'a [u8], Option<P::Output>, GrammarError> {
            match &mut self.0 {
                None => Ok((i, OM::Output::bind(|| None))),
                Some(p) => p.process::<OM>(i).map(|(i, o)| (i, OM::Output::map(o, Some))),
            }
        }
    }

    /// A data sequence number or data ACK of 4 or 8 bytes (DSS flags `a`/`m`), widened.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Seq(pub(crate) SeqLen);

    impl<'a> Parser<&'a [u8]> for Seq {
        type Output = u64;
        type Error = GrammarError;

        #[inline(always)]
        fn process<OM: OutputMode>(&mut self, i: &'a [u8]) -> NomResult<OM, &'a [u8], u64, GrammarError> {
            match self.0 {
                SeqLen::Four => U32.map(u64::from).process::<OM>(i),
                SeqLen::Eight => U64.process::<OM>(i),
            }
        }
    }

    /// `N` bytes, borrowed from the packet (HMACs, addresses).
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Array<const N: usize>;

    impl<'a, const N: usize> Parser<&'a [u8]> for Array<N> {
        type Output = &'a [u8; N];
        type Error = GrammarError;

        #[inline(always)]
        fn process<OM: OutputMode>(&mut self, i: &'a [u8]) -> NomResult<OM, &'a [u8], &'a [u8; N], GrammarError> {
            let r = take(N)(i).map_err(|e| truncated(e, N)).and_then(|(rest, bytes)| match <&[u8; N]>::try_from(bytes) {
                Ok(a) => Ok((rest, a)),
                Err(_) => Err(GrammarError::at(i, OptionErrorKind::Truncated { needed: N })),
            });
            mode::<OM, &'a [u8; N]>(r)
        }
    }
}
