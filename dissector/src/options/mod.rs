//! TCP options: the raw option walker ([`tcp`]) and the MPTCP option grammar ([`mptcp`]).
pub mod mptcp;
pub mod tcp;
