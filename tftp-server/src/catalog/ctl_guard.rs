//! The real publish guard: `ctl verify --trusted` semantics from `ctl-sign`.

use ctl_format::TrustList;
use ctl_sign::{verify_file, would_accept, Decision};

use super::guard::{PublishGuard, Rejection, TrustListInfo};

/// Accepts a candidate only if a device holding the served version would install it
/// ([`ctl_sign::would_accept`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CtlSignGuard;

/// "subject (serial 0a1b...)" of the signer named in the header.
fn signer_of(list: &TrustList) -> String {
    let name = list
        .header
        .signer_name()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .unwrap_or_else(|_| "unnamed signer".to_string());
    match list.header.signer_serial() {
        Ok(serial) => {
            let hex: String = serial.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("{name} (serial {hex})")
        }
        Err(_) => name,
    }
}

impl PublishGuard for CtlSignGuard {
    fn inspect(&self, candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        let list = TrustList::parse(candidate).map_err(|err| Rejection::new(err.to_string()))?;
        verify_file(candidate).map_err(|err| Rejection::new(err.to_string()))?;
        Ok(TrustListInfo::signed_by(signer_of(&list)))
    }

    fn check_update(&self, served: &[u8], candidate: &[u8]) -> Result<TrustListInfo, Rejection> {
        let Ok(installed) = TrustList::parse(served) else {
            // No device can hold an unparsable list: they are all at first use.
            return self.inspect(candidate);
        };
        match would_accept(&installed, candidate) {
            Decision::Accepted { warnings, .. } => {
                let list = TrustList::parse(candidate).map_err(|err| Rejection::new(err.to_string()))?;
                Ok(TrustListInfo {
                    signer: signer_of(&list),
                    warnings: warnings.iter().map(ToString::to_string).collect(),
                })
            }
            Decision::Rejected { reason } => Err(Rejection::new(reason.to_string())),
        }
    }
}
