//! `ctl serve`: the TFTP distribution server.
//!
//! Two stages, as in ripgrep: clap flags (+ an optional TOML file) are merged into plain
//! [`Settings`]; only then are the catalog, the guard and the sockets built.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use tftp_server::catalog::{Catalog, CatalogOptions, CtlSignGuard};
use tftp_server::proto::{NegotiationLimits, RetransmitPolicy, ServerConfig};
use tftp_server::server::{Server, ServerOptions};

/// The signed samples of `fixtures/tftproot`, served when no root is given.
const EMBEDDED: [(&str, &[u8]); 3] = [
    (
        "CTLFile.tlv",
        include_bytes!("../../fixtures/tftproot/CTLFile.tlv"),
    ),
    (
        "ITLFile.tlv",
        include_bytes!("../../fixtures/tftproot/ITLFile.tlv"),
    ),
    (
        "SEP001E4A93748B.cnf.xml",
        include_bytes!("../../fixtures/tftproot/SEP001E4A93748B.cnf.xml"),
    ),
];

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (`key=value` fields).
    Text,
    /// One JSON object per line.
    Json,
}

/// Arguments of `ctl serve`.
#[derive(clap::Args, Debug)]
#[command(after_help = "With no arguments, serves the signed samples built into ctl \
    (CTLFile.tlv, ITLFile.tlv, SEP001E4A93748B.cnf.xml) on 127.0.0.1:6969.\n\
    Command-line flags override the --config file. RUST_LOG overrides -v.")]
pub struct Args {
    /// Directory to serve (default: the signed samples built into ctl).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:69 or [::]:69; repeat for several
    /// (default 127.0.0.1:6969; port 0 picks a free port, printed at startup).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// TOML file with any of the settings below (flags win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Maximum transfers at once [default: 4096].
    #[arg(long, value_name = "N")]
    pub max_transfers: Option<usize>,
    /// Maximum transfers at once from one client IP [default: 64].
    #[arg(long, value_name = "N")]
    pub max_transfers_per_client: Option<usize>,
    /// Largest blksize granted (8-65464) [default: 1468].
    #[arg(long, value_name = "BYTES")]
    pub max_blksize: Option<u16>,
    /// Largest windowsize granted [default: 64].
    #[arg(long, value_name = "BLOCKS")]
    pub max_windowsize: Option<u16>,
    /// Longest RFC 2349 `timeout` a client may ask for, in seconds; longer ones are
    /// declined (1-255) [default: 30].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u8).range(1..))]
    pub max_timeout: Option<u8>,
    /// First retransmission wait in milliseconds, doubled each time [default: 1000].
    #[arg(long, value_name = "MS")]
    pub retransmit_ms: Option<u64>,
    /// Retransmissions before a transfer is given up [default: 5].
    #[arg(long, value_name = "N")]
    pub max_retransmissions: Option<u32>,
    /// Send each window of DATA blocks with one system call (Linux UDP segmentation
    /// offload): less CPU under many concurrent large transfers, slower for one.
    #[arg(long)]
    pub gso: bool,
    /// How often the root is rescanned for changed files, in milliseconds [default: 2000].
    #[arg(long, value_name = "MS")]
    pub rescan_ms: Option<u64>,
    /// Publish changed trust lists even when devices holding the served version would
    /// reject them (first deployment or deliberate reset).
    #[arg(long)]
    pub allow_untrusted_update: bool,
    /// Remember each published trust list here (created if missing), so that after a
    /// restart the publish guard checks the files found against what devices hold.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The `--config` file. Every key is optional; unknown keys are an error.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    root: Option<PathBuf>,
    listen: Option<Vec<SocketAddr>>,
    max_transfers: Option<usize>,
    max_transfers_per_client: Option<usize>,
    max_blksize: Option<u16>,
    max_windowsize: Option<u16>,
    max_timeout: Option<u8>,
    retransmit_ms: Option<u64>,
    max_retransmissions: Option<u32>,
    rescan_ms: Option<u64>,
    gso: Option<bool>,
    shutdown_grace_ms: Option<u64>,
    allow_untrusted_update: Option<bool>,
    state_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
}

/// Resolved settings: flags over the config file over defaults.
#[derive(Debug)]
struct Settings {
    root: Option<PathBuf>,
    server: ServerOptions,
    allow_untrusted_update: bool,
    state_dir: Option<PathBuf>,
    log_format: LogFormat,
}

fn load_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

fn resolve(args: &Args) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => load_config(path)?,
        None => ConfigFile::default(),
    };
    let defaults = ServerOptions::default();
    let default_limits = NegotiationLimits::default();
    let default_retransmit = RetransmitPolicy::default();
    let listen = if !args.listen.is_empty() {
        args.listen.clone()
    } else {
        file.listen.clone().unwrap_or(defaults.listen.clone())
    };
    if listen.is_empty() {
        bail!("no address to listen on (--listen)");
    }
    let max_blksize = args
        .max_blksize
        .or(file.max_blksize)
        .unwrap_or(default_limits.max_blksize);
    if !(8..=65464).contains(&max_blksize) {
        bail!("max blksize {max_blksize} is outside 8-65464");
    }
    let max_windowsize = args
        .max_windowsize
        .or(file.max_windowsize)
        .unwrap_or(default_limits.max_windowsize);
    if max_windowsize == 0 {
        bail!("max windowsize must be at least 1");
    }
    let max_timeout_secs = args
        .max_timeout
        .or(file.max_timeout)
        .unwrap_or(default_limits.max_timeout_secs);
    if max_timeout_secs == 0 {
        bail!("max timeout must be at least 1 s");
    }
    let mut retransmit = default_retransmit;
    if let Some(ms) = args.retransmit_ms.or(file.retransmit_ms) {
        if ms == 0 {
            bail!("retransmission wait must be at least 1 ms");
        }
        retransmit.initial = Duration::from_millis(ms);
        retransmit.max_interval = retransmit.max_interval.max(retransmit.initial);
    }
    if let Some(count) = args.max_retransmissions.or(file.max_retransmissions) {
        retransmit.max_retransmissions = count;
    }
    let rescan_ms = args.rescan_ms.or(file.rescan_ms).unwrap_or(2000);
    let root = args.root.clone().or(file.root);
    let state_dir = args.state_dir.clone().or(file.state_dir);
    if state_dir.is_some() && root.is_none() {
        bail!("--state-dir needs --root: the built-in samples never change");
    }
    Ok(Settings {
        root,
        server: ServerOptions {
            listen,
            max_transfers: args
                .max_transfers
                .or(file.max_transfers)
                .unwrap_or(defaults.max_transfers),
            max_transfers_per_client: args
                .max_transfers_per_client
                .or(file.max_transfers_per_client)
                .unwrap_or(defaults.max_transfers_per_client),
            session: ServerConfig {
                limits: NegotiationLimits {
                    max_blksize,
                    max_windowsize,
                    max_timeout_secs,
                },
                retransmit,
            },
            rescan_interval: (rescan_ms > 0).then(|| Duration::from_millis(rescan_ms)),
            shutdown_grace: file
                .shutdown_grace_ms
                .map_or(defaults.shutdown_grace, Duration::from_millis),
            receive_buffer_bytes: defaults.receive_buffer_bytes,
            segmentation_offload: args.gso || file.gso.unwrap_or(false),
        },
        allow_untrusted_update: args.allow_untrusted_update || file.allow_untrusted_update.unwrap_or(false),
        state_dir,
        log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
    })
}

fn init_logging(format: LogFormat, verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => Some(stream),
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch SIGTERM; stop with Ctrl-C");
            None
        }
    };
    let term = async {
        match terminate.as_mut() {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = resolve(&args)?;
    init_logging(settings.log_format, args.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let guard = Arc::new(CtlSignGuard);
    let catalog = match &settings.root {
        Some(root) => {
            let options = CatalogOptions {
                allow_untrusted_update: settings.allow_untrusted_update,
                state_dir: settings.state_dir.clone(),
                ..CatalogOptions::default()
            };
            let root = root.clone();
            tokio::task::spawn_blocking(move || Catalog::open_dir(root, guard, options))
                .await
                .context("catalog loader failed")??
        }
        None => Catalog::embedded(
            EMBEDDED
                .iter()
                .map(|(name, bytes)| (*name, Bytes::from_static(bytes))),
            guard,
        ),
    };
    let catalog = Arc::new(catalog);
    let server = Server::bind(settings.server, Arc::clone(&catalog))?;
    match catalog.root() {
        Some(root) => println!("serving {}", root.display()),
        None => println!("serving the built-in samples: {}", catalog.names().join(", ")),
    }
    for address in server.local_addrs() {
        println!("listening on {address}");
    }
    // Tests and scripts read the lines above as soon as they are written.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.run(shutdown_signal()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn settings(argv: &[&str]) -> anyhow::Result<Settings> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(argv.iter().copied()))?;
        resolve(&cli.args)
    }

    #[test]
    fn defaults_serve_the_samples_on_6969() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.root, None);
        assert_eq!(s.server.listen, vec!["127.0.0.1:6969".parse().unwrap()]);
        assert_eq!(s.server.max_transfers, 4096);
        assert_eq!(s.server.session.limits.max_blksize, 1468);
        assert_eq!(s.server.session.limits.max_timeout_secs, 30);
        assert!(!s.server.segmentation_offload);
        assert!(!s.allow_untrusted_update);
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("serve.toml");
        std::fs::write(
            &config,
            "root = \"/srv/tftp\"\nlisten = [\"0.0.0.0:69\", \"[::]:69\"]\nmax_transfers = 10\n\
             max_blksize = 512\nretransmit_ms = 250\nlog_format = \"json\"\n\
             state_dir = \"/var/lib/ctl\"\ngso = true\n",
        )
        .unwrap();
        let path = config.to_str().unwrap();
        let s = settings(&["--config", path, "--max-transfers", "20", "--max-timeout", "9"]).unwrap();
        assert_eq!(s.server.session.limits.max_timeout_secs, 9);
        assert_eq!(s.root.as_deref(), Some(Path::new("/srv/tftp")));
        assert_eq!(s.server.listen.len(), 2);
        assert_eq!(s.server.max_transfers, 20);
        assert_eq!(s.server.session.limits.max_blksize, 512);
        assert_eq!(s.server.session.retransmit.initial, Duration::from_millis(250));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.state_dir.as_deref(), Some(Path::new("/var/lib/ctl")));
        assert!(s.server.segmentation_offload);
        let s = settings(&["--config", path, "--listen", "127.0.0.1:0"]).unwrap();
        assert_eq!(s.server.listen, vec!["127.0.0.1:0".parse().unwrap()]);
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("serve.toml");
        std::fs::write(&config, "max_transfer = 3\n").unwrap();
        let err = settings(&["--config", config.to_str().unwrap()]).unwrap_err();
        assert!(format!("{err:#}").contains("max_transfer"), "{err:#}");
        assert!(format!("{err:#}").contains("serve.toml"), "{err:#}");
        let err = settings(&["--max-blksize", "4"]).unwrap_err();
        assert!(err.to_string().contains("8-65464"), "{err}");
        let err = settings(&["--state-dir", "/var/lib/ctl"]).unwrap_err();
        assert!(err.to_string().contains("--root"), "{err}");
    }

    #[test]
    fn embedded_samples_are_the_fixture_files() {
        for (name, bytes) in EMBEDDED {
            let on_disk = std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures/tftproot")
                    .join(name),
            )
            .unwrap();
            assert_eq!(bytes, &on_disk[..], "{name}");
        }
    }
}
