//! `--connection`, `--token`, `--subflow`: the MPTCP-level selection flags and how each kind of
//! report applies them (the rules are in `mptcp_dissector::analysis::select`).
use mptcp_dissector::analysis::select::Selection;
use mptcp_dissector::pipeline::Sink;
use mptcp_dissector::track::{Analysis, Connection, Subflow};
use mptcp_wire::crypto::Token;

/// The selection flags, shared by every command that reports connections, packets or events.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Only this MPTCP connection (ids as `analyze` numbers them, 0-based).
    #[arg(long, value_name = "ID")]
    pub connection: Option<usize>,
    /// Only the connection with this token (either side's; hex, as `analyze` prints it).
    #[arg(long, value_name = "HEX", value_parser = Selection::parse_token)]
    pub token: Option<Token>,
    /// Only this subflow (ids as `analyze` numbers them); `analyze` and `verify` keep the
    /// connection it belongs to.
    #[arg(long, value_name = "ID")]
    pub subflow: Option<usize>,
}

impl SelectArgs {
    pub fn selection(&self) -> Selection {
        Selection { connection: self.connection, token: self.token, subflow: self.subflow }
    }
}

/// Keeps the selected connections of a whole-capture analysis (subflows stay, indexed by id;
/// the capture-wide counters are the capture's).
pub fn restrict(analysis: &mut Analysis, sel: &Selection) {
    if sel.is_empty() {
        return;
    }
    analysis.connections.retain(|c| sel.keeps_connection(c));
}

/// A pipeline [`Sink`] that passes on only the selected connections (and, with a selection, no
/// flow outside a connection).
pub struct SelectedRetire<R> {
    pub inner: R,
    pub selection: Selection,
    /// Connections retired, selected or not (ids count from 0): whether `--connection ID`
    /// names one.
    pub seen: usize,
}

impl<R: Sink> Sink for SelectedRetire<R> {
    fn connection(&mut self, conn: Connection, subflows: Vec<Subflow>) {
        self.seen = self.seen.max(conn.id + 1);
        if self.selection.keeps_connection(&conn) {
            self.inner.connection(conn, subflows);
        }
    }
    fn flow(&mut self, flow: Subflow) {
        if self.selection.is_empty() {
            self.inner.flow(flow);
        }
    }
}

/// `--token` on a streamed report (`dissect`, `events`): the token is known only from the
/// MP_CAPABLE SYN/ACK or third ACK on, so the packets before it would be missed. A first pass
/// over the capture, with this sink, finds the connection the token names (the lowest id; it
/// keeps nothing else), and [`FindToken::selection`] makes the selection that connection's id.
pub struct FindToken {
    only: Selection,
    found: Option<usize>,
}

impl FindToken {
    pub fn new(token: Token) -> Self {
        FindToken { only: Selection { token: Some(token), ..Selection::default() }, found: None }
    }

    /// `sel` with its token replaced by the connection found; `None`: no connection has the
    /// token (or not the one `--connection` names).
    pub fn selection(&self, sel: Selection) -> Option<Selection> {
        let id = self.found?;
        if sel.connection.is_some_and(|c| c != id) {
            return None;
        }
        Some(Selection { connection: Some(id), token: None, subflow: sel.subflow })
    }
}

impl Sink for FindToken {
    fn connection(&mut self, conn: Connection, _subflows: Vec<Subflow>) {
        if self.only.keeps_connection(&conn) && self.found.is_none_or(|f| conn.id < f) {
            self.found = Some(conn.id);
        }
    }
}
