//! netascii (RFC 764 "NVT ASCII" as used by RFC 1350) conversion.
//!
//! The server **converts** netascii read requests rather than refusing them: on the wire
//! every LF becomes CR LF and every CR becomes CR NUL, so any byte string survives
//! [`encode`] then [`decode`] unchanged (a file's own CR LF is sent as CR NUL CR LF, as
//! tftp-hpa does). The converted size is what `tsize` announces.

/// Length of `data` after [`encode`].
pub fn encoded_len(data: &[u8]) -> u64 {
    data.len() as u64 + data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64
}

/// Converts local bytes to netascii: LF -> CR LF, CR -> CR NUL.
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(data).try_into().unwrap_or(data.len()));
    for &byte in data {
        match byte {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            other => out.push(other),
        }
    }
    out
}

/// Converts netascii back to local bytes: CR LF -> LF, CR NUL -> CR. A CR followed by
/// anything else (not valid netascii) is kept as is, as is a CR at the very end.
pub fn decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut index = 0;
    while index < data.len() {
        let byte = data[index];
        if byte == b'\r' {
            match data.get(index + 1) {
                Some(b'\n') => {
                    out.push(b'\n');
                    index += 2;
                    continue;
                }
                Some(0) => {
                    out.push(b'\r');
                    index += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(byte);
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_and_cr_are_converted() {
        assert_eq!(encode(b"a\nb\rc\r\n"), b"a\r\nb\r\0c\r\0\r\n");
        assert_eq!(encoded_len(b"a\nb\rc\r\n"), 11);
    }

    #[test]
    fn decode_inverts_encode() {
        let samples: [&[u8]; 5] = [b"", b"\r", b"\n\n\r\r", b"x\r\ny\0\r", b"\r\0\r\n"];
        for sample in samples {
            assert_eq!(decode(&encode(sample)), sample);
        }
    }

    #[test]
    fn invalid_cr_sequences_are_kept() {
        assert_eq!(decode(b"a\rb\r"), b"a\rb\r");
    }
}
