//! `ctl build`: certificates + security token -> signed CTLFile.tlv / ITLFile.tlv.
use std::io::IsTerminal;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use ctl_format::{Role, TrustList};
use ctl_sign::build::{prepare_for_certificate, prepare_for_key, sign_prepared};
use ctl_sign::lint::{has_errors, lint, LintOptions};
use ctl_sign::output::write_atomic;
use ctl_sign::{BuildInput, CertificateRecord, HashAlgorithm, SecretSource};

/// Arguments of `ctl build`.
///
/// Each certificate is given as PATH[,dns=NAME][,ip=A.B.C.D]. Records are written in role
/// order: SAST, CCM, CCM+TFTP, TFTP, CAPF, APP-SERVER, TVS, each in command-line order.
#[derive(clap::Args)]
pub struct Args {
    /// Output file (written atomically; see --force).
    #[arg(
        short = 'o',
        long = "output",
        required_unless_present = "emit_unsigned",
        conflicts_with = "emit_unsigned"
    )]
    pub output: Option<PathBuf>,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// SAST certificate (may sign the file). Repeatable; keep two.
    #[arg(long = "sast", value_name = "CERT")]
    pub sast: Vec<String>,
    /// CallManager certificate (role CCM).
    #[arg(long = "ccm", value_name = "CERT")]
    pub ccm: Vec<String>,
    /// CallManager + TFTP certificate (role CCM+TFTP), e.g. CallManager.pem.
    #[arg(long = "ccm-tftp", value_name = "CERT")]
    pub ccm_tftp: Vec<String>,
    /// TFTP-only server certificate (role TFTP).
    #[arg(long = "tftp", value_name = "CERT")]
    pub tftp: Vec<String>,
    /// CAPF certificate (role CAPF), e.g. CAPF.0.
    #[arg(long = "capf", value_name = "CERT")]
    pub capf: Vec<String>,
    /// HTTPS application server certificate (role APP-SERVER).
    #[arg(long = "app-server", value_name = "CERT")]
    pub app_server: Vec<String>,
    /// TVS certificate (role TVS, ITL).
    #[arg(long = "tvs", value_name = "CERT")]
    pub tvs: Vec<String>,
    /// FILENAME inside the file (default CTLFile.tlv, or ITLFile.tlv with --itl).
    #[arg(long)]
    pub filename: Option<String>,
    /// Build an ITL (FILENAME ITLFile.tlv).
    #[arg(long)]
    pub itl: bool,
    /// Signature digest: sha1 (default, as CUCM 10.x) or sha512.
    #[arg(long, default_value = "sha1")]
    pub digest: HashAlgorithm,
    /// Allow --digest sha256, whose header code (2) is a guess.
    #[arg(long)]
    pub allow_sha256: bool,
    /// Write header tag 28 (signer version): 1.0 or 1.1.
    #[arg(long, value_name = "VERSION")]
    pub signer_version: Option<String>,
    /// TIMESTAMP (Unix seconds); default SOURCE_DATE_EPOCH, else now.
    #[arg(long)]
    pub timestamp: Option<u32>,
    /// Security token: key file (PEM/DER PKCS#1/#8, encrypted PKCS#8, .p12) or pkcs11: URI.
    #[arg(long, value_name = "TOKEN", conflicts_with = "emit_unsigned")]
    pub signer: Option<String>,
    /// Offline signing: write the unsigned file to OUT and the bytes to sign to OUT.tbs.
    #[arg(long, value_name = "OUT", requires = "signing_cert")]
    pub emit_unsigned: Option<PathBuf>,
    /// With --emit-unsigned: the SAST certificate whose key will sign.
    #[arg(long, value_name = "CERT")]
    pub signing_cert: Option<PathBuf>,
    /// Read the key passphrase from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Read the key passphrase from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the PKCS#11 PIN from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub pin_env: Option<String>,
    /// Read the PKCS#11 PIN from the first line of this file.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// Write the file even when lint reports errors.
    #[arg(long)]
    pub allow_lint_errors: bool,
    /// "Now" for the lint expiry checks (Unix seconds; default: the real clock, never
    /// --timestamp or SOURCE_DATE_EPOCH, so a reproducible build still sees expired
    /// certificates).
    #[arg(long, value_name = "UNIX")]
    pub lint_now: Option<i64>,
    /// Lint warns about certificates expiring within this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_days: u32,
}

/// Secret source from the -env/-file flags, else a prompt on a terminal.
pub fn secret_source(env: &[Option<String>], file: &[Option<PathBuf>], prompt: &str) -> SecretSource {
    if let Some(var) = env.iter().flatten().next() {
        return SecretSource::Env(var.clone());
    }
    if let Some(path) = file.iter().flatten().next() {
        return SecretSource::File(path.clone());
    }
    if std::io::stdin().is_terminal() {
        SecretSource::Prompt(prompt.to_owned())
    } else {
        SecretSource::None
    }
}

fn parse_spec(spec: &str) -> anyhow::Result<CertificateRecord> {
    let mut parts = spec.split(',');
    let path = parts.next().unwrap_or_default();
    let mut record = CertificateRecord::from_file(Path::new(path))?;
    for option in parts {
        match option.split_once('=') {
            Some(("dns", name)) => record.dns_name = name.to_owned(),
            Some(("ip", ip)) => {
                record.ip_address = Some(
                    ip.parse::<Ipv4Addr>()
                        .with_context(|| format!("{spec}: ip={ip} is not an IPv4 address"))?,
                )
            }
            _ => bail!("{spec}: unknown option {option:?} (expected dns=NAME or ip=A.B.C.D)"),
        }
    }
    Ok(record)
}

fn timestamp(explicit: Option<u32>) -> anyhow::Result<u32> {
    if let Some(t) = explicit {
        return Ok(t);
    }
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        return epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?} is not a Unix time"));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("clock before 1970")?
        .as_secs();
    u32::try_from(now).context("time past 2106")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.digest == HashAlgorithm::Sha256 && !args.allow_sha256 {
        bail!(
            "--digest sha256 needs --allow-sha256: its header code (2) is a guess and phones may refuse it"
        );
    }
    let signer_version = match args.signer_version.as_deref() {
        None => None,
        Some("1.0") => Some((1, 0)),
        Some("1.1") => Some((1, 1)),
        Some(other) => bail!("--signer-version {other:?}: expected 1.0 or 1.1"),
    };
    let filename = args
        .filename
        .clone()
        .unwrap_or_else(|| if args.itl { "ITLFile.tlv" } else { "CTLFile.tlv" }.to_owned());
    let groups: [(Role, &Vec<String>); 7] = [
        (Role::Sast, &args.sast),
        (Role::Ccm, &args.ccm),
        (Role::CcmTftp, &args.ccm_tftp),
        (Role::Tftp, &args.tftp),
        (Role::Capf, &args.capf),
        (Role::AppServer, &args.app_server),
        (Role::Tvs, &args.tvs),
    ];
    let mut entries = Vec::new();
    for (role, specs) in groups {
        for spec in specs {
            entries.push((role, parse_spec(spec)?));
        }
    }
    let input = BuildInput {
        entries,
        filename,
        digest: args.digest,
        signer_version,
        timestamp: timestamp(args.timestamp)?,
    };

    let output = args
        .emit_unsigned
        .clone()
        .or(args.output.clone())
        .expect("clap requires -o or --emit-unsigned");
    let (file, tbs) = if args.emit_unsigned.is_some() {
        let cert_path = args.signing_cert.as_ref().expect("clap requires it");
        let cert = CertificateRecord::from_file(cert_path)?;
        let prepared = prepare_for_certificate(&input, &cert)?;
        (
            prepared.unsigned.bytes().to_vec(),
            Some(prepared.unsigned.signed_bytes()),
        )
    } else {
        let Some(name) = args.signer.as_deref() else {
            bail!("give --signer TOKEN (key file or pkcs11: URI), or --emit-unsigned with --signing-cert for offline signing");
        };
        let secret = secret_source(
            &[args.pin_env.clone(), args.passphrase_env.clone()],
            &[args.pin_file.clone(), args.passphrase_file.clone()],
            &format!("PIN or passphrase for {name}: "),
        );
        let token = ctl_sign::open_token(name, &secret)?;
        let prepared = prepare_for_key(&input, token.public_key(), &token.describe())?;
        (sign_prepared(&prepared, &input, token.as_ref())?, None)
    };

    let list = TrustList::parse(&file).context("internal error: built file does not parse")?;
    let now = match args.lint_now {
        Some(now) => now,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("clock before 1970")?
            .as_secs()
            .try_into()
            .context("clock out of range")?,
    };
    let options = LintOptions {
        now,
        expiry_days: args.expiry_days,
    };
    let findings = lint(&list, file.len(), options);
    for f in &findings {
        eprintln!("lint {} {} {}: {}", f.code, f.severity, f.name, f.message);
    }
    if has_errors(&findings) && !args.allow_lint_errors {
        bail!(
            "lint found errors; {} not written (use --allow-lint-errors to write it anyway)",
            output.display()
        );
    }
    if let Some(tbs) = tbs {
        let tbs_path = PathBuf::from(format!("{}.tbs", output.display()));
        // Two files: refuse before writing either, so a refusal leaves nothing behind.
        if !args.force {
            if let Some(existing) = [&output, &tbs_path].into_iter().find(|p| p.exists()) {
                bail!("{} exists; use --force to replace it", existing.display());
            }
        }
        write_atomic(&tbs_path, &tbs, args.force)?;
        if let Err(e) = write_atomic(&output, &file, args.force) {
            let _ = std::fs::remove_file(&tbs_path);
            return Err(e.into());
        }
        let cert = args.signing_cert.as_ref().expect("checked").display();
        println!(
            "wrote unsigned {} and bytes to sign {}\nsign with e.g.: openssl dgst -{} -sign KEY -out SIG {}\nthen: ctl attach-signature {} --signature SIG -o FINAL   (signing certificate: {cert})",
            output.display(),
            tbs_path.display(),
            input.digest.name(),
            tbs_path.display(),
            output.display()
        );
    } else {
        write_atomic(&output, &file, args.force)?;
        println!(
            "wrote {} ({} bytes, {} records)",
            output.display(),
            file.len(),
            list.records.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
