# Sourced by the bench scripts: finds the peer servers (each empty when not installed).
# TFTPD_HPA (in.tftpd of tftp-hpa), ATFTPD (atftpd), TFTPD_CRATE (tftpd from
# `cargo install tftpd`) may be set by the caller; nogroup is the group peers drop to.

find_binary() { # name-on-PATH fallback...
    local found
    for candidate in "$@"; do
        found=$(command -v "$candidate" 2>/dev/null) && { echo "$found"; return; }
    done
}
find_tftpd_hpa() { # atftpd also installs an in.tftpd: take the one that says tftp-hpa
    for candidate in $(type -P -a in.tftpd) /opt/tftpd-hpa/usr/sbin/in.tftpd; do
        if [[ -x $candidate ]] && "$candidate" -V 2>&1 | grep -q tftp-hpa; then
            echo "$candidate"
            return
        fi
    done
}
TFTPD_HPA=${TFTPD_HPA:-$(find_tftpd_hpa)}
ATFTPD=${ATFTPD:-$(find_binary atftpd)}
TFTPD_CRATE=${TFTPD_CRATE:-$(find_binary tftpd "$HOME/.cargo/bin/tftpd")}
# The `tftpd` crate is the Rust baseline: install it from crates.io when it is missing
# (NO_INSTALL=1 skips this and leaves the peer out).
if [[ -z $TFTPD_CRATE && -z ${NO_INSTALL:-} ]] && command -v cargo >/dev/null; then
    echo "==> installing the tftpd crate (cargo install tftpd)" >&2
    if cargo install --quiet --locked tftpd >&2; then
        TFTPD_CRATE=$(find_binary tftpd "${CARGO_HOME:-$HOME/.cargo}/bin/tftpd")
    else
        echo "==> cargo install tftpd failed: the tftpd crate is left out" >&2
    fi
fi
nogroup=nogroup
getent group nogroup >/dev/null || nogroup=nobody
