//! PKCS#11 security tokens (USB eTokens, HSMs, SoftHSM2) named by RFC 7512 URIs.
use std::fmt;
use std::path::PathBuf;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rsa::{BoxedUint, PublicKey};

use crate::hash::HashAlgorithm;
use crate::secret::SecretSource;
use crate::token::{SecurityToken, SignError};

/// The parts of an RFC 7512 `pkcs11:` URI this tool uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token=`: token label.
    pub token: Option<String>,
    /// `serial=`: token serial number.
    pub serial: Option<String>,
    /// `slot-id=`: numeric slot id.
    pub slot_id: Option<u64>,
    /// `object=`: key label (CKA_LABEL).
    pub object: Option<String>,
    /// `id=`: key id (CKA_ID), raw bytes after percent-decoding.
    pub id: Option<Vec<u8>>,
    /// `module-path=` (query): the PKCS#11 library to load.
    pub module_path: Option<PathBuf>,
    /// `pin-source=` (query): a file holding the PIN (`file:` prefix optional).
    pub pin_source: Option<PathBuf>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI. `pin-value` is refused: a PIN never goes on a command line.
    pub fn parse(uri: &str) -> Result<Self, SignError> {
        let bad = |msg: String| SignError::Pkcs11Uri(msg);
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad(format!("{uri:?} does not start with \"pkcs11:\"")))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut parsed = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, raw) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("path attribute {attr:?} has no '='")))?;
            let value = percent_decode(raw).map_err(bad)?;
            let text = || {
                String::from_utf8(value.clone()).map_err(|_| bad(format!("attribute {name} is not UTF-8")))
            };
            match name {
                "token" => parsed.token = Some(text()?),
                "serial" => parsed.serial = Some(text()?),
                "slot-id" => {
                    parsed.slot_id = Some(
                        text()?
                            .parse()
                            .map_err(|_| bad(format!("slot-id {raw:?} is not a number")))?,
                    )
                }
                "object" => parsed.object = Some(text()?),
                "id" => parsed.id = Some(value),
                "type" => {
                    let t = text()?;
                    if t != "private" {
                        return Err(bad(format!("type={t} given; the signing key is type=private")));
                    }
                }
                // Other standard attributes narrow the token choice; we accept and ignore them.
                "manufacturer"
                | "model"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => return Err(bad(format!("unknown path attribute {other:?}"))),
            }
        }
        for attr in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            let (name, raw) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("query attribute {attr:?} has no '='")))?;
            let value = String::from_utf8(percent_decode(raw).map_err(bad)?)
                .map_err(|_| bad(format!("attribute {name} is not UTF-8")))?;
            match name {
                "module-path" => parsed.module_path = Some(PathBuf::from(value)),
                "pin-source" => {
                    let file = value.strip_prefix("file:").unwrap_or(&value);
                    parsed.pin_source = Some(PathBuf::from(file));
                }
                "pin-value" => {
                    return Err(bad(
                        "pin-value is refused: a PIN on the command line leaks into shell \
                         history and `ps`; use pin-source=FILE, --pin-env or the prompt"
                            .into(),
                    ))
                }
                "module-name" => {
                    return Err(bad(
                        "module-name is not supported; give module-path=/path/to/module.so".into(),
                    ))
                }
                other => return Err(bad(format!("unknown query attribute {other:?}"))),
            }
        }
        if parsed.object.is_none() && parsed.id.is_none() {
            return Err(bad("name the key with object=LABEL or id=%XX...".into()));
        }
        Ok(parsed)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token {t:?}"));
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot {s}"));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object {o:?}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id {}", ctl_format::dump::hex(id)));
        }
        format!("PKCS#11 {}", parts.join(", "))
    }
}

fn percent_decode(raw: &str) -> Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in {raw:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// A logged-in session on a PKCS#11 token with the signing key found.
pub struct Pkcs11Signer {
    description: String,
    // Field order matters: the session must close before the context finalizes.
    session: Session,
    key: ObjectHandle,
    public: PublicKey,
    combined_mechanisms: Vec<MechanismType>,
    _context: Pkcs11,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.description)
            .finish_non_exhaustive()
    }
}

fn ck(context: &str) -> impl Fn(CkError) -> SignError + '_ {
    move |e| SignError::Pkcs11(format!("{context}: {e}"))
}

impl Pkcs11Signer {
    /// Loads the module, finds the token and key, logs in with the PIN from `pin`
    /// (a `pin-source` in the URI takes precedence), and reads the public key.
    pub fn open(uri: &Pkcs11Uri, pin: &SecretSource) -> Result<Self, SignError> {
        let description = uri.describe();
        let module = uri.module_path.as_ref().ok_or_else(|| {
            SignError::Pkcs11Uri(
                "no module-path: add ?module-path=/usr/lib/softhsm/libsofthsm2.so (or your \
                 token's PKCS#11 library)"
                    .into(),
            )
        })?;
        if !module.exists() {
            return Err(SignError::Pkcs11(format!(
                "module {} does not exist",
                module.display()
            )));
        }
        let context = Pkcs11::new(module)
            .map_err(|e| SignError::Pkcs11(format!("cannot load module {}: {e}", module.display())))?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(ck("C_Initialize")(e)),
        }
        let slot = find_slot(&context, uri)?;
        let session = context.open_ro_session(slot).map_err(ck("C_OpenSession"))?;
        let pin_source = match &uri.pin_source {
            Some(file) => SecretSource::File(file.clone()),
            None => pin.clone(),
        };
        let secret = pin_source.resolve(&format!("PIN for {description}"))?;
        let auth = AuthPin::from(secret.expose().to_owned());
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                return Err(SignError::Pkcs11(format!("wrong PIN for {description}")))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                return Err(SignError::Pkcs11(format!("PIN of {description} is locked")))
            }
            Err(e) => return Err(ck("C_Login")(e)),
        }
        let key = find_key(&session, uri, ObjectClass::PRIVATE_KEY)?
            .ok_or_else(|| SignError::Pkcs11(format!("no RSA private key matches {description}")))?;
        let public = read_public_key(&session, uri, key)?;
        let combined_mechanisms = context.get_mechanism_list(slot).unwrap_or_default();
        Ok(Pkcs11Signer {
            description,
            session,
            key,
            public,
            combined_mechanisms,
            _context: context,
        })
    }
}

fn find_slot(context: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, SignError> {
    let slots = context
        .get_slots_with_initialized_token()
        .map_err(ck("C_GetSlotList"))?;
    let mut seen = Vec::new();
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = context.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
        seen.push(format!("{:?} (slot {})", info.label(), slot.id()));
        if uri.token.as_deref().is_some_and(|t| t != info.label()) {
            continue;
        }
        if uri.serial.as_deref().is_some_and(|s| s != info.serial_number()) {
            continue;
        }
        return Ok(slot);
    }
    Err(SignError::Pkcs11(format!(
        "no token matches {}; tokens present: {}",
        uri.describe(),
        if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join(", ")
        }
    )))
}

fn find_key(
    session: &Session,
    uri: &Pkcs11Uri,
    class: ObjectClass,
) -> Result<Option<ObjectHandle>, SignError> {
    let mut template = vec![Attribute::Class(class), Attribute::KeyType(KeyType::RSA)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    let found = session.find_objects(&template).map_err(ck("C_FindObjects"))?;
    if found.len() > 1 {
        return Err(SignError::Pkcs11(format!(
            "{} keys match {}; add id= to pick one",
            found.len(),
            uri.describe()
        )));
    }
    Ok(found.first().copied())
}

fn read_public_key(
    session: &Session,
    uri: &Pkcs11Uri,
    private: ObjectHandle,
) -> Result<PublicKey, SignError> {
    // Prefer the private key's own modulus/exponent (most tokens expose them); fall back to
    // the matching public-key object.
    let wanted = [AttributeType::Modulus, AttributeType::PublicExponent];
    let mut attrs = session.get_attributes(private, &wanted).unwrap_or_default();
    if attrs.len() < 2 {
        if let Some(public) = find_key(session, uri, ObjectClass::PUBLIC_KEY)? {
            attrs = session
                .get_attributes(public, &wanted)
                .map_err(ck("C_GetAttributeValue"))?;
        }
    }
    let mut modulus = None;
    let mut exponent = None;
    for attr in attrs {
        match attr {
            Attribute::Modulus(n) => modulus = Some(n),
            Attribute::PublicExponent(e) => exponent = Some(e),
            _ => {}
        }
    }
    let (Some(n), Some(e)) = (modulus, exponent) else {
        return Err(SignError::Pkcs11(format!(
            "cannot read the public key (modulus, exponent) of {}",
            uri.describe()
        )));
    };
    let n = BoxedUint::from_be_slice_vartime(&n);
    let e = BoxedUint::from_be_slice_vartime(&e);
    PublicKey::new(n, e).map_err(|err| SignError::Pkcs11(format!("token public key: {err}")))
}

impl SecurityToken for Pkcs11Signer {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, hash: HashAlgorithm, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let (combined, combined_type) = match hash {
            HashAlgorithm::Sha1 => (Mechanism::Sha1RsaPkcs, MechanismType::SHA1_RSA_PKCS),
            HashAlgorithm::Sha256 => (Mechanism::Sha256RsaPkcs, MechanismType::SHA256_RSA_PKCS),
            HashAlgorithm::Sha512 => (Mechanism::Sha512RsaPkcs, MechanismType::SHA512_RSA_PKCS),
        };
        let result = if self.combined_mechanisms.contains(&combined_type) {
            self.session.sign(&combined, self.key, message)
        } else {
            // Older tokens only do raw CKM_RSA_PKCS: hand them the DigestInfo.
            self.session
                .sign(&Mechanism::RsaPkcs, self.key, &hash.digest_info(message))
        };
        result.map_err(ck("C_Sign"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_uri() {
        let uri =
            Pkcs11Uri::parse("pkcs11:token=ctl;object=sast1?module-path=/usr/lib/softhsm/libsofthsm2.so")
                .unwrap();
        assert_eq!(uri.token.as_deref(), Some("ctl"));
        assert_eq!(uri.object.as_deref(), Some("sast1"));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
    }

    #[test]
    fn percent_decodes_ids_and_labels() {
        let uri = Pkcs11Uri::parse("pkcs11:token=my%20token;id=%01%a2;slot-id=3").unwrap();
        assert_eq!(uri.token.as_deref(), Some("my token"));
        assert_eq!(uri.id.as_deref(), Some(&[0x01, 0xa2][..]));
        assert_eq!(uri.slot_id, Some(3));
    }

    #[test]
    fn refuses_pin_value_and_malformed_uris() {
        let err = Pkcs11Uri::parse("pkcs11:object=k?pin-value=1234").unwrap_err();
        assert!(err.to_string().contains("pin-value is refused"), "{err}");
        assert!(!err.to_string().contains("1234"));
        assert!(Pkcs11Uri::parse("pkcs12:object=k").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:token=ctl").is_err(), "no key named");
        assert!(Pkcs11Uri::parse("pkcs11:object=%zz").is_err());
        assert!(Pkcs11Uri::parse("pkcs11:bogus=1;object=k").is_err());
    }
}
