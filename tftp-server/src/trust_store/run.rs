//! The fetch loop: servers in order, each with the retry policy, every download offered to
//! the store. Generic over how files are fetched and how time passes, so tests drive it
//! with scripted servers and a virtual clock.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{fetch, ClientOptions};

use super::decide::{sha256_hex, Pin, Verdict};
use super::policy::{RetryPolicy, ServerSpec};
use super::store::{Store, StoreError};

/// A download that produced no file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchFailure(pub String);

/// Gets one file from one server.
pub trait Fetcher {
    /// Downloads `filename` from `server`.
    fn fetch(&mut self, server: &ServerSpec, filename: &str) -> Result<Vec<u8>, FetchFailure>;
}

/// Time as the fetch loop sees it.
pub trait Clock {
    /// Now, in Unix seconds (for the state file).
    fn now_unix(&self) -> u64;
    /// Waits `duration` (the pause between retries).
    fn sleep(&mut self, duration: Duration);
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Fetches over TFTP with [`crate::client::fetch`], trying every address a host name
/// resolves to.
#[derive(Debug)]
pub struct TftpFetcher {
    runtime: tokio::runtime::Runtime,
    options: ClientOptions,
}

impl TftpFetcher {
    /// A fetcher with its own single-threaded runtime.
    pub fn new(options: ClientOptions) -> std::io::Result<TftpFetcher> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(TftpFetcher { runtime, options })
    }
}

impl Fetcher for TftpFetcher {
    fn fetch(&mut self, server: &ServerSpec, filename: &str) -> Result<Vec<u8>, FetchFailure> {
        let addresses = server
            .resolve()
            .map_err(|e| FetchFailure(format!("cannot resolve {}: {e}", server.host)))?;
        if addresses.is_empty() {
            return Err(FetchFailure(format!("{} resolves to no address", server.host)));
        }
        let mut errors = Vec::new();
        for address in addresses {
            match self
                .runtime
                .block_on(fetch(address, filename, self.options.clone()))
            {
                Ok(bytes) => return Ok(bytes),
                Err(e) => errors.push(format!("{address}: {e}")),
            }
        }
        Err(FetchFailure(errors.join("; ")))
    }
}

/// What one attempt led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// No file (timeout, TFTP error, resolver failure).
    TransferFailed(String),
    /// A file arrived and the store decided this.
    Downloaded {
        /// SHA-256 of the download.
        sha256: String,
        /// The store's decision.
        verdict: Verdict,
    },
}

/// One attempt, for logs and reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The server, as `HOST:PORT`.
    pub server: String,
    /// 1 for the first attempt on this server.
    pub attempt: u32,
    /// When it started (the clock's Unix seconds).
    pub started_at: u64,
    /// What happened.
    pub outcome: AttemptOutcome,
}

/// How a fetch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new file is trusted now (first use or signed update).
    Accepted {
        /// Where it came from.
        server: String,
        /// SHA-256 of the new trusted file.
        sha256: String,
        /// [`Verdict::FirstUse`] or [`Verdict::Update`].
        verdict: Verdict,
    },
    /// A server delivered the file already trusted.
    Unchanged {
        /// The server.
        server: String,
        /// SHA-256 of the trusted file.
        sha256: String,
    },
    /// No acceptable new file; the stored trust list stays in force.
    KeptOld {
        /// SHA-256 of the trusted file.
        sha256: String,
    },
    /// No acceptable file and nothing stored: no secure connection is possible.
    NoTrustList,
}

/// The outcome and every attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchReport {
    /// How it ended.
    pub outcome: Outcome,
    /// All attempts, in order.
    pub attempts: Vec<AttemptRecord>,
}

/// What to fetch from where, and how patiently.
#[derive(Clone, Debug)]
pub struct FetchPlan<'a> {
    /// Servers in the order to try them.
    pub servers: &'a [ServerSpec],
    /// Name to request (e.g. `CTLFile.tlv`).
    pub filename: &'a str,
    /// Retries per server.
    pub policy: RetryPolicy,
    /// Pin for the first download.
    pub pin: &'a Pin,
}

/// Tries the servers in order until one delivers a file the store accepts or already
/// holds. Each server gets the policy's attempts, `interval` apart, while downloads fail;
/// a downloaded file that is rejected moves on to the next server at once (retrying would
/// get the same file). `observe` sees each attempt as it ends.
pub fn fetch_into_store<F: Fetcher, C: Clock>(
    store: &Store,
    plan: &FetchPlan<'_>,
    fetcher: &mut F,
    clock: &mut C,
    observe: &mut dyn FnMut(&AttemptRecord),
) -> Result<FetchReport, StoreError> {
    let mut attempts = Vec::new();
    let mut rejected_server: Option<usize> = None;
    for planned in plan.policy.schedule(plan.servers.len()) {
        if rejected_server == Some(planned.server_index) {
            continue;
        }
        let server = &plan.servers[planned.server_index];
        if !planned.wait_before.is_zero() {
            clock.sleep(planned.wait_before);
        }
        let started_at = clock.now_unix();
        let outcome = match fetcher.fetch(server, plan.filename) {
            Err(failure) => AttemptOutcome::TransferFailed(failure.0),
            Ok(bytes) => {
                let verdict = store.offer(&bytes, &server.to_string(), plan.pin, clock.now_unix())?;
                AttemptOutcome::Downloaded {
                    sha256: sha256_hex(&bytes),
                    verdict,
                }
            }
        };
        let record = AttemptRecord {
            server: server.to_string(),
            attempt: planned.attempt,
            started_at,
            outcome,
        };
        observe(&record);
        let finished = match &record.outcome {
            AttemptOutcome::Downloaded { sha256, verdict } => match verdict {
                Verdict::FirstUse { .. } | Verdict::Update { .. } => Some(Outcome::Accepted {
                    server: record.server.clone(),
                    sha256: sha256.clone(),
                    verdict: verdict.clone(),
                }),
                Verdict::Unchanged => Some(Outcome::Unchanged {
                    server: record.server.clone(),
                    sha256: sha256.clone(),
                }),
                Verdict::Rejected(_) => {
                    rejected_server = Some(planned.server_index);
                    None
                }
            },
            AttemptOutcome::TransferFailed(_) => None,
        };
        attempts.push(record);
        if let Some(outcome) = finished {
            return Ok(FetchReport { outcome, attempts });
        }
    }
    let outcome = match store.lock()?.trusted_bytes()? {
        Some(bytes) => Outcome::KeptOld {
            sha256: sha256_hex(&bytes),
        },
        None => Outcome::NoTrustList,
    };
    Ok(FetchReport { outcome, attempts })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::trust_store::test_support::{signed, Key};
    use crate::trust_store::RejectReason;

    /// Scripted servers: each answers from its queue (the last answer repeats). Every
    /// download "takes" `transfer_secs` of virtual time, like a timeout would.
    struct Script {
        answers: HashMap<String, Vec<Result<Vec<u8>, FetchFailure>>>,
        calls: Vec<(String, u64)>,
        clock_now: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl Fetcher for Script {
        fn fetch(&mut self, server: &ServerSpec, _: &str) -> Result<Vec<u8>, FetchFailure> {
            let key = server.to_string();
            self.calls.push((key.clone(), self.clock_now.get()));
            let queue = self.answers.get_mut(&key).expect("scripted server");
            if queue.len() > 1 {
                queue.remove(0)
            } else {
                queue[0].clone()
            }
        }
    }

    fn servers(names: &[&str]) -> Vec<ServerSpec> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn timeout() -> Result<Vec<u8>, FetchFailure> {
        Err(FetchFailure("timed out".into()))
    }

    /// What one scripted server answers, attempt by attempt.
    type ScriptedAnswers<'a> = Vec<(&'a str, Vec<Result<Vec<u8>, FetchFailure>>)>;

    /// Runs the loop with a clock shared with the script (so calls see virtual time).
    fn run(
        store: &Store,
        names: &[&str],
        policy: RetryPolicy,
        answers: ScriptedAnswers<'_>,
    ) -> (FetchReport, Vec<(String, u64)>, Vec<Duration>) {
        let shared = std::rc::Rc::new(std::cell::Cell::new(1000));
        // A virtual clock: sleeping only moves time forward.
        struct SharedClock(std::rc::Rc<std::cell::Cell<u64>>, Vec<Duration>);
        impl Clock for SharedClock {
            fn now_unix(&self) -> u64 {
                self.0.get()
            }
            fn sleep(&mut self, d: Duration) {
                self.1.push(d);
                self.0.set(self.0.get() + d.as_secs());
            }
        }
        let mut clock = SharedClock(shared.clone(), Vec::new());
        let mut script = Script {
            answers: answers
                .into_iter()
                .map(|(k, v)| (k.parse::<ServerSpec>().unwrap().to_string(), v))
                .collect(),
            calls: Vec::new(),
            clock_now: shared,
        };
        let list = servers(names);
        let plan = FetchPlan {
            servers: &list,
            filename: "CTLFile.tlv",
            policy,
            pin: &Pin::None,
        };
        let mut seen = 0;
        let report = fetch_into_store(store, &plan, &mut script, &mut clock, &mut |_| seen += 1).unwrap();
        assert_eq!(seen, report.attempts.len());
        (report, script.calls, clock.1)
    }

    #[test]
    fn jtapi_policy_retries_three_times_thirty_seconds_apart_then_fails_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let (report, calls, sleeps) = run(
            &store,
            &["10.0.0.1", "10.0.0.2"],
            RetryPolicy::JTAPI,
            vec![
                ("10.0.0.1", vec![timeout()]),
                ("10.0.0.2", vec![timeout(), Ok(v1.clone())]),
            ],
        );
        let expected: Vec<(String, u64)> = [
            ("10.0.0.1:69", 1000),
            ("10.0.0.1:69", 1030),
            ("10.0.0.1:69", 1060),
            ("10.0.0.1:69", 1090),
            ("10.0.0.2:69", 1090),
            ("10.0.0.2:69", 1120),
        ]
        .iter()
        .map(|(s, t)| (s.to_string(), *t))
        .collect();
        assert_eq!(calls, expected);
        assert_eq!(sleeps, vec![Duration::from_secs(30); 4]);
        match report.outcome {
            Outcome::Accepted { server, verdict, .. } => {
                assert_eq!(server, "10.0.0.2:69");
                assert!(matches!(verdict, Verdict::FirstUse { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.show().unwrap().unwrap().state.accepted_at, Some(1120));
    }

    #[test]
    fn tsp_policy_uses_its_count_and_interval_and_nothing_stored_means_no_trust_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let policy = RetryPolicy::new(1, Duration::from_secs(5)).unwrap();
        let (report, calls, sleeps) = run(
            &store,
            &["a", "[::1]:1069"],
            policy,
            vec![("a", vec![timeout()]), ("[::1]:1069", vec![timeout()])],
        );
        let times: Vec<u64> = calls.iter().map(|c| c.1).collect();
        assert_eq!(times, vec![1000, 1005, 1005, 1010]);
        assert_eq!(sleeps, vec![Duration::from_secs(5); 2]);
        assert_eq!(report.outcome, Outcome::NoTrustList);
        assert_eq!(report.attempts.len(), 4);
        assert!(store.show().unwrap().is_none());
    }

    #[test]
    fn a_rejected_file_moves_on_to_the_next_server_without_retrying() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        let v2 = signed(&[Key::Sast1, Key::Sast2], Key::Sast2, 2);
        let evil = signed(&[Key::Sast3], Key::Sast3, 9);
        store.offer(&v1, "seed", &Pin::None, 1).unwrap();
        let (report, calls, sleeps) = run(
            &store,
            &["bad", "good"],
            RetryPolicy::JTAPI,
            vec![("bad", vec![Ok(evil)]), ("good", vec![Ok(v2.clone())])],
        );
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(sleeps.is_empty());
        assert!(matches!(
            &report.attempts[0].outcome,
            AttemptOutcome::Downloaded {
                verdict: Verdict::Rejected(RejectReason::NotTrusted(_)),
                ..
            }
        ));
        assert!(matches!(report.outcome, Outcome::Accepted { .. }));
        assert_eq!(fs_read(&store), v2);
    }

    #[test]
    fn only_rejections_keep_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        store.offer(&v1, "seed", &Pin::None, 1).unwrap();
        let (report, _, _) = run(
            &store,
            &["a", "b"],
            RetryPolicy::new(0, Duration::ZERO).unwrap(),
            vec![("a", vec![Ok(b"garbage".to_vec())]), ("b", vec![timeout()])],
        );
        assert_eq!(
            report.outcome,
            Outcome::KeptOld {
                sha256: sha256_hex(&v1)
            }
        );
        assert_eq!(fs_read(&store), v1);
    }

    #[test]
    fn the_same_file_again_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path(), "CTLFile.tlv").unwrap();
        let v1 = signed(&[Key::Sast1, Key::Sast2], Key::Sast1, 1);
        store.offer(&v1, "seed", &Pin::None, 1).unwrap();
        let (report, _, _) = run(
            &store,
            &["a"],
            RetryPolicy::JTAPI,
            vec![("a", vec![Ok(v1.clone())])],
        );
        assert!(matches!(report.outcome, Outcome::Unchanged { .. }));
        assert_eq!(store.show().unwrap().unwrap().state.accepted_at, Some(1));
    }

    fn fs_read(store: &Store) -> Vec<u8> {
        std::fs::read(store.trusted_path()).unwrap()
    }
}
