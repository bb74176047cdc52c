//! The kinds the tracker names (how a subflow ended, what decided the roles, how a connection was
//! found, which side announced, what an anomaly is) as enums: compared as values, never as text,
//! and written (text, JSON, Parquet) as the same snake_case words as before.

/// An enum of named kinds: `name()` is its word, which Display (honouring width and alignment)
/// and Serialize write.
macro_rules! kinds {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every kind, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The kind's word, as written in every output.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}
pub(crate) use kinds;

kinds! {
    /// How a subflow ended.
    EndHow {
        /// Its FIN (either side's).
        Fin = "fin",
        /// A TCP reset.
        Rst = "rst",
        /// A reset carrying MP_TCPRST (its reason in `SubflowEnd::reason`).
        MpTcprst = "mp_tcprst",
        /// The connection's MP_FASTCLOSE.
        MpFastclose = "mp_fastclose",
        /// A SYN that no SYN/ACK answered in the capture.
        NoAnswer = "no_answer",
        /// No packet for the idle timeout.
        TimedOut = "timed_out",
    }
}

kinds! {
    /// What decided which end of a flow is the client.
    RoleRule {
        /// The SYN's sender.
        Syn = "syn",
        /// The SYN/ACK's receiver.
        SynAck = "syn_ack",
        /// No handshake in the capture: the end with the higher port (an ephemeral one).
        Ports = "ports",
        /// Equal ports: the first packet's sender.
        FirstPacket = "first_packet",
        /// The MP_CAPABLE keys of a third ACK or first data: the key order tells the client.
        MpCapableAck = "mp_capable_ack",
        /// The data level: the end whose DSNs the other end's data ACKs acknowledge.
        DataLevel = "data_level",
    }
}

kinds! {
    /// How a connection was found.
    FoundBy {
        /// Its MP_CAPABLE SYN.
        MpCapable = "mp_capable",
        /// The keys of a third ACK or first data (SYN not in the capture).
        MpCapableAck = "mp_capable_ack",
        /// No handshake in the capture: subflows whose DSNs and data ACKs share one 64-bit data
        /// sequence space.
        DataLevel = "data_level",
    }
}

kinds! {
    /// One end of a connection.
    Side {
        Client = "client",
        Server = "server",
    }
}

kinds! {
    /// An oddity seen on a connection or in the capture (not a verification verdict), and the
    /// reasons a connection fell back to TCP.
    AnomalyKind {
        MalformedOption = "malformed_option",
        UnmappedData = "unmapped_data",
        UndecodablePacket = "undecodable_packet",
        StateCap = "state_cap",
        RstIgnoredInSynSent = "rst_ignored_in_syn_sent",
        ResumedAfterIdle = "resumed_after_idle",
        OrphanSubflow = "orphan_subflow",
        KeyEchoMismatch = "key_echo_mismatch",
        JoinUnknownToken = "join_unknown_token",
        FastOpen = "fast_open",
        DsnUnexpandable = "dsn_unexpandable",
        DataFinWithoutMapping = "data_fin_without_mapping",
        /// Fallback: the handshake did not complete as MPTCP.
        Handshake = "handshake",
        /// Fallback: an infinite mapping.
        InfiniteMapping = "infinite_mapping",
    }
}

kinds! {
    /// What became of a reinjection (MPTCP data sent again on another subflow), as `pair` sees
    /// it at the receiver's capture.
    ReinjectionVerdict {
        /// The original was lost, or the reinjection arrived first.
        Useful = "useful",
        /// The original arrived first.
        Redundant = "redundant",
        /// Neither copy arrived.
        Lost = "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are the ones every output wrote before the kinds were enums (docs/analyze.md).
    #[test]
    fn words_are_unchanged_and_distinct() {
        let words: Vec<&str> = EndHow::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(words, ["fin", "rst", "mp_tcprst", "mp_fastclose", "no_answer", "timed_out"]);
        assert_eq!(serde_json::to_string(&RoleRule::SynAck).unwrap(), "\"syn_ack\"");
        assert_eq!(format!("[{:<8}]", Side::Client), "[client  ]");
        let mut all: Vec<&str> = AnomalyKind::ALL.iter().map(|k| k.name()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), AnomalyKind::ALL.len());
    }
}

kinds! {
    /// Where a capture was taken on a connection's path (`CapturePoint::near`).
    #[derive(Default)]
    Near {
        #[default]
        Unknown = "unknown",
        /// Next to the client.
        Client = "client",
        /// Next to the server.
        Server = "server",
        /// Somewhere between the ends (a router).
        Between = "between",
    }
}

kinds! {
    /// What told where a capture was taken (`CapturePoint::rule`).
    #[derive(Default)]
    NearRule {
        /// Nothing did.
        #[default]
        None = "none",
        /// One end's packets still carry an initial TTL, the other's do not.
        Ttl = "ttl",
        /// The handshake's gaps (one at least 4 times the other).
        Handshake = "handshake",
        /// Segments captured on their way into and out of a router.
        ForwardedCopies = "forwarded_copies",
    }
}
