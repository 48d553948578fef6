//! The few rules of DER (X.690) that reading a certificate's validity
//! needs ([`super::validity`]): one element at a time, its tag, its
//! definite length and its contents, every length checked against what is
//! there, so that no input can make a reader slice out of bounds. Apart
//! from the certificate's path so each is tested on its own.

/// The contents of the element at the start of `input` if its tag is
/// `tag`, and what follows it.
pub(crate) fn take(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// The tag, contents and remainder of the DER element at the start of
/// `input`. Only single-byte tags (all the path uses) and definite
/// lengths of up to four bytes (4 GiB, far beyond any certificate).
pub(crate) fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // a multi-byte tag
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x84 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7f))?;
            let len = bytes.iter().fold(0, |n, &b| n << 8 | usize::from(b));
            (len, rest)
        }
        _ => return None, // indefinite (BER only), or too long
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_are_read() {
        assert_eq!(
            element(&[0x02, 0x01, 0x07, 0xff]),
            Some((0x02, &[0x07][..], &[0xff][..]))
        );
        assert_eq!(element(&[0x30, 0x00]), Some((0x30, &[][..], &[][..])));
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend([0xaa; 256]);
        let (tag, contents, rest) = element(&long).unwrap();
        assert_eq!((tag, contents.len(), rest.len()), (0x04, 256, 0));
        assert_eq!(
            take(&[0x02, 0x01, 0x07], 0x02),
            Some((&[0x07][..], &[][..]))
        );
        assert_eq!(take(&[0x02, 0x01, 0x07], 0x30), None);
    }

    #[test]
    fn what_is_not_there_or_not_der_is_none() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x01],
            &[0x30, 0x81],
            &[0x30, 0x82, 0x01],
            &[0x30, 0x82, 0x01, 0x00, 0x00],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30],
            &[0x30, 0x80, 0x00, 0x00],       // indefinite, BER only
            &[0x30, 0x85, 0, 0, 0, 0, 0x01], // a five-byte length
            &[0x1f, 0x01, 0x00],             // a multi-byte tag
        ] {
            assert_eq!(element(bad), None, "{bad:x?}");
        }
    }
}
