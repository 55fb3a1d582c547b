//! The fixture PKI generator, shared by `examples/make-test-pki.rs` (which writes
//! fixtures/pki) and `tests/fixture_pki.rs` (which checks that regenerating gives the
//! committed bytes). Keys are committed; everything else is derived deterministically:
//! fixed serials, fixed validity, PKCS#1 v1.5 (deterministic) certificate signatures.
#![allow(dead_code)]

use std::path::Path;
use std::str::FromStr;

use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::PrivateKey;
use sha2::Sha256;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::der::asn1::UtcTime;
use x509_cert::der::{DateTime, Decode, Encode, EncodePem};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

/// One certificate of the fixture PKI.
pub struct Entity {
    /// Output file name in fixtures/pki.
    pub file: &'static str,
    /// Key file stem in fixtures/pki/keys (`<key>.key`, PKCS#8 PEM); `ec-sast` is special.
    pub key: &'static str,
    /// RSA key size used when the key file has to be created.
    pub bits: usize,
    /// Subject, RFC 4514 (most specific first).
    pub subject: &'static str,
    /// Issuer entity's file name, or None for self-signed.
    pub issuer: Option<&'static str>,
    /// Serial bytes (big-endian, positive).
    pub serial: &'static [u8],
    /// Validity as (year, month, day) pairs.
    pub not_before: (u16, u8, u8),
    /// End of validity.
    pub not_after: (u16, u8, u8),
    /// CA certificate (basicConstraints cA=true).
    pub is_ca: bool,
}

const FROM: (u16, u8, u8) = (2024, 1, 1);
const UNTIL: (u16, u8, u8) = (2049, 12, 31);

/// The fixture PKI, issuers before the certificates they issue.
pub const ENTITIES: &[Entity] = &[
    Entity {
        file: "ca.pem",
        key: "ca",
        bits: 2048,
        subject: "CN=CTL Test Manufacturing CA,O=ctl fixtures,C=US",
        issuer: None,
        serial: &[0x01],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: true,
    },
    Entity {
        file: "sast1.pem",
        key: "sast1",
        bits: 2048,
        subject: "CN=SAST-ctl-fixture-1,OU=IPCBU,O=ctl fixtures,C=US",
        issuer: Some("ca.pem"),
        serial: &[0x3a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0x01],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    // Top bit set: the DER INTEGER content starts with 00 (what the record keeps).
    Entity {
        file: "sast2.pem",
        key: "sast2",
        bits: 1024,
        subject: "CN=SAST-ctl-fixture-2,OU=IPCBU,O=ctl fixtures,C=US",
        issuer: Some("ca.pem"),
        serial: &[0x9a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0x02],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    Entity {
        file: "sast3.pem",
        key: "sast3",
        bits: 2048,
        subject: "CN=SAST-ctl-fixture-3,OU=IPCBU,O=ctl fixtures,C=US",
        issuer: Some("ca.pem"),
        serial: &[0x3a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0x03],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    Entity {
        file: "CallManager.pem",
        key: "callmanager",
        bits: 2048,
        subject: "CN=cucm-pub.example.com,OU=VTG,O=ctl fixtures,L=San Jose,ST=CA,C=US",
        issuer: None,
        serial: &[0x24, 0x49, 0x1f, 0x10, 0x70, 0x3f, 0xea, 0x9b],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    Entity {
        file: "CAPF.0",
        key: "capf",
        bits: 1024,
        subject: "CN=CAPF-5e1f0a27,OU=VTG,O=ctl fixtures,L=San Jose,ST=CA,C=US",
        issuer: None,
        serial: &[0x61, 0x5d, 0xd8, 0x84, 0x0a, 0x63, 0xeb, 0x41],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    // DER order CN, O, C (RFC 4514 reversed): the record must still say CN first.
    Entity {
        file: "tftp1.pem",
        key: "tftp1",
        bits: 1024,
        subject: "C=US,O=ctl fixtures,CN=tftp1.example.com",
        issuer: None,
        serial: &[0x41, 0x8c, 0x54, 0x9a, 0xbc, 0x25, 0x1e, 0x2f],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    Entity {
        file: "tvs.pem",
        key: "tvs",
        bits: 2048,
        subject: "CN=tvs-cucm-pub.example.com,OU=VTG,O=ctl fixtures,L=San Jose,ST=CA,C=US",
        issuer: None,
        serial: &[0x5b, 0x73, 0x28, 0xd0, 0xa0, 0x29, 0x32, 0xd8],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    Entity {
        file: "itlrecovery.pem",
        key: "itlrecovery",
        bits: 2048,
        subject: "CN=ITLRECOVERY_cucm-pub.example.com,OU=CTG,O=ctl fixtures,L=San Jose,ST=CA,C=US",
        issuer: None,
        serial: &[0x63, 0x30, 0x98, 0x1c, 0x01, 0x7c, 0x47, 0x43],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    // For lint: expired long ago.
    Entity {
        file: "expired.pem",
        key: "tftp1",
        bits: 1024,
        subject: "CN=old-tftp.example.com,O=ctl fixtures,C=US",
        issuer: None,
        serial: &[0x0e, 0x01],
        not_before: (2010, 1, 1),
        not_after: (2015, 1, 1),
        is_ca: false,
    },
    // For lint: RSA 4096 (over what phones are known to handle in CTLs).
    Entity {
        file: "big4096.pem",
        key: "big4096",
        bits: 4096,
        subject: "CN=big-tftp.example.com,O=ctl fixtures,C=US",
        issuer: None,
        serial: &[0x0e, 0x02],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
    // For "signing certificate must be RSA": an EC P-256 key (public key only is committed).
    Entity {
        file: "ec-sast.pem",
        key: "ec-sast",
        bits: 0,
        subject: "CN=SAST-ctl-fixture-ec,OU=IPCBU,O=ctl fixtures,C=US",
        issuer: Some("ca.pem"),
        serial: &[0x3a, 0x51, 0x7c, 0x02, 0x11, 0x00, 0x00, 0xec],
        not_before: FROM,
        not_after: UNTIL,
        is_ca: false,
    },
];

struct Profile {
    subject: Name,
    issuer: Name,
    is_ca: bool,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let bc = BasicConstraints {
            ca: self.is_ca,
            path_len_constraint: None,
        };
        Ok(vec![bc.to_extension(tbs.subject(), &[])?])
    }
}

fn utc(date: (u16, u8, u8), end_of_day: bool) -> Time {
    let (h, m, s) = if end_of_day { (23, 59, 59) } else { (0, 0, 0) };
    let dt = DateTime::new(date.0, date.1, date.2, h, m, s).expect("valid date");
    Time::UtcTime(UtcTime::from_date_time(dt).expect("UTCTime range"))
}

/// Loads the committed key `keys/<stem>.key` (PKCS#8 PEM). `fixtures/regenerate.sh`
/// creates missing keys with `openssl genpkey` before calling the generator.
pub fn load_key(keys: &Path, stem: &str) -> PrivateKey {
    let path = keys.join(format!("{stem}.key"));
    let pem = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/regenerate.sh)", path.display()));
    PrivateKey::from_pkcs8_pem(&pem).expect("committed key parses")
}

/// Generates every certificate of [`ENTITIES`] as PEM: returns (file name, PEM text).
pub fn generate(pki_dir: &Path) -> Vec<(String, String)> {
    let keys_dir = pki_dir.join("keys");
    let mut issued: Vec<(&str, Name, PrivateKey)> = Vec::new();
    let mut out = Vec::new();
    for entity in ENTITIES {
        let subject = Name::from_str(entity.subject).expect("subject parses");
        let (spki, own_key) = if entity.key == "ec-sast" {
            let pem =
                std::fs::read_to_string(keys_dir.join("ec-sast.pub.pem")).expect("committed EC public key");
            let (_, der) = x509_cert::der::pem::decode_vec(pem.as_bytes()).expect("PEM");
            (SubjectPublicKeyInfoOwned::from_der(&der).expect("SPKI"), None)
        } else {
            let key = load_key(&keys_dir, entity.key);
            let der = key.to_public_key().to_public_key_der().expect("SPKI");
            (
                SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).expect("SPKI"),
                Some(key),
            )
        };
        let (issuer_name, issuer_key) = match entity.issuer {
            None => (
                subject.clone(),
                own_key.clone().expect("self-signed needs RSA key"),
            ),
            Some(file) => {
                let (_, name, key) = issued
                    .iter()
                    .find(|(f, _, _)| *f == file)
                    .expect("issuer generated first");
                (name.clone(), key.clone())
            }
        };
        let profile = Profile {
            subject: subject.clone(),
            issuer: issuer_name,
            is_ca: entity.is_ca,
        };
        let validity = Validity::new(utc(entity.not_before, false), utc(entity.not_after, true));
        let builder = CertificateBuilder::new(
            profile,
            SerialNumber::new(entity.serial).expect("serial"),
            validity,
            spki,
        )
        .expect("builder");
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(issuer_key);
        let cert = builder
            .build::<_, rsa::pkcs1v15::Signature>(&signer)
            .expect("certificate");
        let pem = cert.to_pem(LineEnding::LF).expect("PEM");
        let _ = cert.to_der().expect("DER");
        if let Some(key) = own_key {
            issued.push((entity.file, subject, key));
        }
        out.push((entity.file.to_owned(), pem));
    }
    out
}
