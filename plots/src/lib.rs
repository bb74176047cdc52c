//! Plots for mptcp-trace. Not built yet (issue 5).
