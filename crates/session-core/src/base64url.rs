//! Decoding the fixed-size values that arrive in cookies on every request
//! (session ids, CSRF secrets and tokens): unpadded base64url of a known
//! length, read straight into an array.
//!
//! The base64 crate's general decoder handles any length and configuration;
//! for these short values its set-up costs more than the decoding. This one
//! accepts exactly what `URL_SAFE_NO_PAD.decode_slice` accepts for an input
//! of the encoded length of `N` bytes: the URL-safe alphabet only, and the
//! unused low bits of the last character zero (one text per value).

/// The value of each base64url character, [`INVALID`] for every other byte.
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

const INVALID: u8 = 0xff;

/// The length of the unpadded encoding of `bytes` bytes.
pub(crate) const fn encoded_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

/// `text` decoded into `N` bytes, if it is exactly the unpadded base64url
/// encoding of `N` bytes; `None` otherwise (wrong length, a character
/// outside the alphabet, unused bits set).
pub(crate) fn decode_exact<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != encoded_len(N) {
        return None;
    }
    let mut out = [0u8; N];
    let mut chunks = text.chunks_exact(4);
    let mut at = 0;
    for chunk in &mut chunks {
        let (a, b, c, d) = (
            DECODE[usize::from(chunk[0])],
            DECODE[usize::from(chunk[1])],
            DECODE[usize::from(chunk[2])],
            DECODE[usize::from(chunk[3])],
        );
        // Valid values are below 64: any INVALID sets the high bit.
        if (a | b | c | d) & 0x80 != 0 {
            return None;
        }
        let group = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        out[at] = (group >> 16) as u8;
        out[at + 1] = (group >> 8) as u8;
        out[at + 2] = group as u8;
        at += 3;
    }
    let rest = chunks.remainder();
    let mut group = 0u32;
    for &c in rest {
        let value = DECODE[usize::from(c)];
        if value & 0x80 != 0 {
            return None;
        }
        group = group << 6 | u32::from(value);
    }
    match rest.len() {
        0 => {}
        // Two characters carry one byte and four unused bits.
        2 => {
            if group & 0xf != 0 {
                return None;
            }
            out[at] = (group >> 4) as u8;
        }
        // Three characters carry two bytes and two unused bits.
        3 => {
            if group & 0x3 != 0 {
                return None;
            }
            out[at] = (group >> 10) as u8;
            out[at + 1] = (group >> 2) as u8;
        }
        // encoded_len never leaves one character over.
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    use super::*;

    /// What the base64 crate makes of `text` for an `N`-byte value.
    fn reference<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
        if text.len() != encoded_len(N) {
            return None;
        }
        let mut out = [0u8; N];
        match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
            Ok(n) if n == N => Some(out),
            _ => None,
        }
    }

    fn same_as_reference(text: &[u8]) {
        assert_eq!(decode_exact::<24>(text), reference::<24>(text));
        assert_eq!(decode_exact::<32>(text), reference::<32>(text));
        assert_eq!(decode_exact::<64>(text), reference::<64>(text));
        assert_eq!(decode_exact::<1>(text), reference::<1>(text));
        assert_eq!(decode_exact::<2>(text), reference::<2>(text));
    }

    #[test]
    fn round_trips_the_sizes_in_use() {
        let bytes: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
        let text = URL_SAFE_NO_PAD.encode(&bytes[..24]);
        assert_eq!(
            decode_exact::<24>(text.as_bytes()).map(Vec::from),
            Some(bytes[..24].to_vec())
        );
        let text = URL_SAFE_NO_PAD.encode(&bytes[..32]);
        assert_eq!(
            decode_exact::<32>(text.as_bytes()).map(Vec::from),
            Some(bytes[..32].to_vec())
        );
        let text = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            decode_exact::<64>(text.as_bytes()).map(Vec::from),
            Some(bytes)
        );
    }

    #[test]
    fn refuses_what_the_base64_crate_refuses() {
        let secret = URL_SAFE_NO_PAD.encode([0xffu8; 32]);
        // The last character's unused bits set: another text for one value.
        let mut loose = secret.clone().into_bytes();
        *loose.last_mut().expect("not empty") = b'_';
        for text in [
            secret.as_bytes(),
            &loose,
            b"",
            b"A",
            &[b'A'; 43],
            &[b'+'; 43],
            &[b'='; 43],
            &[0xc3; 43],
        ] {
            same_as_reference(text);
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_base64_crate(
            text in prop_oneof![Just(2usize), Just(3), Just(32), Just(43), Just(86), 0..90usize]
                .prop_flat_map(|len| proptest::collection::vec(
                    prop_oneof![
                        8 => proptest::sample::select(
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".to_vec()
                        ),
                        1 => any::<u8>(),
                    ],
                    len,
                ))
        ) {
            same_as_reference(&text);
        }

        #[test]
        fn decodes_every_encoding(bytes in proptest::collection::vec(any::<u8>(), 32)) {
            let text = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert_eq!(decode_exact::<32>(text.as_bytes()).map(Vec::from), Some(bytes.clone()));
            let text = URL_SAFE_NO_PAD.encode(&bytes[..24]);
            prop_assert_eq!(decode_exact::<24>(text.as_bytes()).map(Vec::from), Some(bytes[..24].to_vec()));
        }
    }
}
