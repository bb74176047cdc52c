//! MPTCP-level selection (`--connection`, `--token`, `--subflow`): which connections, subflows,
//! events and packets a report keeps. Every criterion given must hold.
//!
//! Ids are those `analyze` prints (0-based, in order of appearance); a token is either side's
//! (RFC 8684 §3.2: the 32 most significant bits of the SHA-256 of the key; what MP_JOIN SYNs
//! carry and `ip mptcp monitor` prints). A connection-level report (`analyze`, `verify`) keeps
//! the connection a selected subflow belongs to.
use crate::track::{Connection, Event};
use mptcp_wire::crypto::Token;

/// The criteria; an empty selection keeps everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    pub connection: Option<usize>,
    pub token: Option<Token>,
    pub subflow: Option<usize>,
}

impl Selection {
    /// Parses a token as `analyze` prints it: 8 hex digits (a `0x` prefix is allowed).
    pub fn parse_token(s: &str) -> Result<Token, String> {
        let hex = s.trim().trim_start_matches("0x").trim_start_matches("0X");
        if hex.is_empty() || hex.len() > 8 {
            return Err(format!("--token: {s:?} is not a token: expected up to 8 hex digits, as analyze prints them"));
        }
        u32::from_str_radix(hex, 16)
            .map(Token)
            .map_err(|_| format!("--token: {s:?} is not a token: expected up to 8 hex digits, as analyze prints them"))
    }

    pub fn is_empty(&self) -> bool {
        *self == Selection::default()
    }

    /// Whether `token` is the selected one.
    fn token_is(&self, token: Option<Token>) -> bool {
        self.token.is_some() && self.token == token
    }

    /// A connection a connection-level report keeps.
    pub fn keeps_connection(&self, c: &Connection) -> bool {
        self.connection.is_none_or(|id| id == c.id)
            && (self.token.is_none() || self.token_is(c.client_token) || self.token_is(c.server_token))
            && self.subflow.is_none_or(|s| c.subflow_ids.contains(&s))
    }

    /// A packet (or time-series row) of `subflow` in `connection`, whose connection has the
    /// tokens `tokens` (client's, server's) when known.
    pub fn keeps_packet(&self, connection: Option<usize>, subflow: Option<usize>, tokens: [Option<Token>; 2]) -> bool {
        self.connection.is_none_or(|id| connection == Some(id))
            && (self.token.is_none() || tokens.iter().any(|t| self.token_is(*t)))
            && self.subflow.is_none_or(|id| subflow == Some(id))
    }

    /// An event of the timeline; `conn` is its connection.
    pub fn keeps_event(&self, e: &Event, conn: Option<&Connection>) -> bool {
        let tokens = [conn.and_then(|c| c.client_token), conn.and_then(|c| c.server_token).or(e.token)];
        self.keeps_packet(e.connection, e.subflow, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_as_analyze_prints_them() {
        assert_eq!(Selection::parse_token("0a1b2c3d"), Ok(Token(0x0a1b2c3d)));
        assert_eq!(Selection::parse_token("0xA1B2"), Ok(Token(0xa1b2)));
        assert!(Selection::parse_token("").is_err());
        assert!(Selection::parse_token("123456789").is_err());
        assert!(Selection::parse_token("xyz").is_err());
    }

    #[test]
    fn every_criterion_must_hold() {
        let s = Selection { connection: Some(1), token: Some(Token(0xab)), subflow: None };
        assert!(s.keeps_packet(Some(1), Some(4), [None, Some(Token(0xab))]));
        assert!(!s.keeps_packet(Some(2), Some(4), [None, Some(Token(0xab))]));
        assert!(!s.keeps_packet(Some(1), Some(4), [Some(Token(0xac)), None]));
        assert!(!s.keeps_packet(None, Some(4), [None, None]));
        assert!(Selection::default().keeps_packet(None, None, [None, None]));
    }
}
