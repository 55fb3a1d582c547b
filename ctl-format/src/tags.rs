//! Tag numbers and Cisco's names for them (misspellings included, as CUCM prints them).

/// Header tag: VERSION (major, minor).
pub const H_VERSION: u8 = 1;
/// Header tag: HEADERLENGTH (u16, offset of the first record).
pub const H_HEADER_LENGTH: u8 = 2;
/// Header tag: SIGNERID container (children 4, 5, 6).
pub const H_SIGNER_ID: u8 = 3;
/// Header tag: SIGNERNAME (string).
pub const H_SIGNER_NAME: u8 = 4;
/// Header tag: SERIALNUMBER of the signer certificate (raw bytes).
pub const H_SERIAL_NUMBER: u8 = 5;
/// Header tag: CANAME, issuer of the signer certificate (string).
pub const H_CA_NAME: u8 = 6;
/// Header tag: SIGNATUREINFO container (children 8, 9).
pub const H_SIGNATURE_INFO: u8 = 7;
/// Header tag: DIGESTALGORTITHM (sic), one byte.
pub const H_DIGEST_ALGORITHM: u8 = 8;
/// Header tag: SIGNATUREALGOINFO container (children 10, 11).
pub const H_SIGNATURE_ALGO_INFO: u8 = 9;
/// Header tag: SIGNATUREALGORTITHM (sic), one byte (0 = RSA).
pub const H_SIGNATURE_ALGORITHM: u8 = 10;
/// Header tag: SIGNATUREMODULUS, key-size index.
pub const H_SIGNATURE_MODULUS: u8 = 11;
/// Header tag: SIGNATURE (RSA PKCS#1 v1.5 over the file without this item).
pub const H_SIGNATURE: u8 = 12;
/// Header tag: lone padding byte, no length, no value.
pub const H_PADDING: u8 = 13;
/// Header tag: FILENAME (string).
pub const H_FILENAME: u8 = 14;
/// Header tag: TIMESTAMP (u32 Unix seconds).
pub const H_TIMESTAMP: u8 = 15;
/// Header tag: signer version (major, minor), written by certutils.
pub const H_SIGNER_VERSION: u8 = 28;

/// Record tag: RECORDLENGTH (u16, whole record including this item).
pub const R_RECORD_LENGTH: u8 = 1;
/// Record tag: DNSNAME (string).
pub const R_DNS_NAME: u8 = 2;
/// Record tag: SUBJECTNAME (string).
pub const R_SUBJECT_NAME: u8 = 3;
/// Record tag: FUNCTION (u16 role).
pub const R_FUNCTION: u8 = 4;
/// Record tag: ISSUERNAME (string).
pub const R_ISSUER_NAME: u8 = 5;
/// Record tag: SERIALNUMBER (raw bytes).
pub const R_SERIAL_NUMBER: u8 = 6;
/// Record tag: PUBLICKEY (PKCS#1 RSAPublicKey DER, or EC point).
pub const R_PUBLIC_KEY: u8 = 7;
/// Record tag: SIGNATURE (the certificate's own signatureValue).
pub const R_SIGNATURE: u8 = 8;
/// Record tag: CERTIFICATE (DER X.509).
pub const R_CERTIFICATE: u8 = 9;
/// Record tag: IPADDRESS (IPv4, network order).
pub const R_IP_ADDRESS: u8 = 10;
/// Record tag: CERTHASH.
pub const R_CERT_HASH: u8 = 11;
/// Record tag: HASH ALGORITHM of the certificate hash.
pub const R_HASH_ALGORITHM: u8 = 12;

/// True for header tags whose length counts inline children instead of a value.
pub fn is_container(tag: u8) -> bool {
    matches!(tag, H_SIGNER_ID | H_SIGNATURE_INFO | H_SIGNATURE_ALGO_INFO)
}

/// Cisco's name for a header tag, `None` for tags Cisco does not name.
pub fn header_tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        H_VERSION => "VERSION",
        H_HEADER_LENGTH => "HEADERLENGTH",
        H_SIGNER_ID => "SIGNERID",
        H_SIGNER_NAME => "SIGNERNAME",
        H_SERIAL_NUMBER => "SERIALNUMBER",
        H_CA_NAME => "CANAME",
        H_SIGNATURE_INFO => "SIGNATUREINFO",
        H_DIGEST_ALGORITHM => "DIGESTALGORTITHM",
        H_SIGNATURE_ALGO_INFO => "SIGNATUREALGOINFO",
        H_SIGNATURE_ALGORITHM => "SIGNATUREALGORTITHM",
        H_SIGNATURE_MODULUS => "SIGNATUREMODULUS",
        H_SIGNATURE => "SIGNATURE",
        H_PADDING => "PADDING",
        H_FILENAME => "FILENAME",
        H_TIMESTAMP => "TIMESTAMP",
        H_SIGNER_VERSION => "SIGNERVERSION",
        _ => return None,
    })
}

/// Cisco's name for a record tag, `None` for tags Cisco does not name.
pub fn record_tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        R_RECORD_LENGTH => "RECORDLENGTH",
        R_DNS_NAME => "DNSNAME",
        R_SUBJECT_NAME => "SUBJECTNAME",
        R_FUNCTION => "FUNCTION",
        R_ISSUER_NAME => "ISSUERNAME",
        R_SERIAL_NUMBER => "SERIALNUMBER",
        R_PUBLIC_KEY => "PUBLICKEY",
        R_SIGNATURE => "SIGNATURE",
        R_CERTIFICATE => "CERTIFICATE",
        R_IP_ADDRESS => "IPADDRESS",
        R_CERT_HASH => "CERTHASH",
        R_HASH_ALGORITHM => "HASH ALGORITHM",
        _ => return None,
    })
}
