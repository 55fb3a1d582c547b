//! One module per subcommand.

pub mod attach_signature;
pub mod build;
pub mod diff;
pub mod dump;
pub mod fetch;
pub mod lint;
pub mod serve;
pub mod verify;

/// Exit status for a failure that is not more specific (bad input, I/O error).
pub const EXIT_FAILURE: u8 = 1;
