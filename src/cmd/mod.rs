//! One module per subcommand.

pub mod dump;

/// Exit status for a failure that is not more specific (bad input, I/O error).
pub const EXIT_FAILURE: u8 = 1;
