//! Reporters: text and JSON renderings of what the analyses found. Generic over `io::Write`.
pub mod dissect;
pub mod analyze;
pub mod verify;
pub mod events;
