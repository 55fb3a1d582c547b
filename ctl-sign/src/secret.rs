//! Passphrases and PINs: where they come from and how they are kept out of logs.
//!
//! A secret is never taken from the command line (it would show in `ps` and shell
//! history): it comes from an interactive prompt, an environment variable or a file.
use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// A passphrase or PIN. Its `Debug` output never shows the value; memory is wiped on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value (for library callers and tests; the CLI never builds one from argv).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The secret value; keep the borrow short and never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a passphrase or PIN comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// Ask on the terminal with this prompt (fails when there is no terminal).
    Prompt(String),
    /// Read the named environment variable.
    Env(String),
    /// Read the first line of this file (the trailing newline is dropped).
    File(PathBuf),
    /// A value already in hand (library use and tests).
    Value(Secret),
    /// No source configured: asking for a secret is an error that says how to give one.
    None,
}

/// Why a secret could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set or not UTF-8.
    #[error("environment variable {0} is not set (or is not valid UTF-8)")]
    MissingEnv(String),
    /// The secret file could not be read.
    #[error("cannot read secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The terminal prompt failed (no terminal, or reading failed).
    #[error("cannot prompt for {what} (no terminal?): {source}; give it with an environment variable or a file instead")]
    Prompt {
        /// What was asked for.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No source was configured for a secret that is needed.
    #[error("{0} is needed but no source was given (use the -env or -file option)")]
    NotConfigured(String),
}

impl SecretSource {
    /// Obtains the secret. `what` names it in prompts and errors ("passphrase for sast1.key").
    pub fn resolve(&self, what: &str) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Prompt(prompt) => {
                rpassword::prompt_password(prompt)
                    .map(Secret::new)
                    .map_err(|source| SecretError::Prompt {
                        what: what.to_owned(),
                        source,
                    })
            }
            SecretSource::Env(name) => std::env::var(name)
                .map(Secret::new)
                .map_err(|_| SecretError::MissingEnv(name.clone())),
            SecretSource::File(path) => {
                let text =
                    Zeroizing::new(std::fs::read_to_string(path).map_err(|source| SecretError::File {
                        path: path.clone(),
                        source,
                    })?);
                let first_line = text.lines().next().unwrap_or("");
                Ok(Secret::new(first_line))
            }
            SecretSource::Value(secret) => Ok(secret.clone()),
            SecretSource::None => Err(SecretError::NotConfigured(what.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        let source = SecretSource::Value(secret);
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn file_source_takes_first_line_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "1234\nignored\n").unwrap();
        let secret = SecretSource::File(path).resolve("PIN").unwrap();
        assert_eq!(secret.expose(), "1234");
    }

    #[test]
    fn missing_env_and_unconfigured_sources_say_what_is_missing() {
        let err = SecretSource::Env("CTL_SIGN_TEST_SURELY_UNSET".into())
            .resolve("PIN")
            .unwrap_err();
        assert!(err.to_string().contains("CTL_SIGN_TEST_SURELY_UNSET"));
        let err = SecretSource::None.resolve("passphrase for k.pem").unwrap_err();
        assert!(err.to_string().contains("passphrase for k.pem"));
    }
}
