//! Content negotiation: which coding a client accepts, for a precompressed
//! sidecar and for compression on the fly alike (`Accept-Encoding`, RFC
//! 9110 §12.5.3), and whether it asked for JSON (`Accept`, §12.5.1).
//!
//! A list that refuses identity (`identity;q=0`) and accepts nothing
//! staticd has still gets identity rather than `406`: §12.5.3 allows it,
//! and a page the client may not decode beats no page (nginx does the
//! same).

/// A content coding staticd can serve from a precompressed sidecar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Coding {
    Brotli,
    Zstd,
    Gzip,
}

impl Coding {
    /// Our preference order, best first.
    pub(crate) const ALL: [Coding; 3] = [Coding::Brotli, Coding::Zstd, Coding::Gzip];

    /// The token used in `Content-Encoding` and the ETag suffix.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The sidecar file's extension.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Zstd => "zst",
            Coding::Gzip => "gz",
        }
    }
}

/// The codings `accept_encoding` allows, best first (higher q, then our
/// preference). No header at all means identity only: a client that did
/// not ask for compression gets none.
pub(crate) fn accepted_codings(accept_encoding: Option<&str>) -> Vec<Coding> {
    let Some(value) = accept_encoding else {
        return Vec::new();
    };
    let mut ranked: Vec<(u16, Coding)> = Coding::ALL
        .iter()
        .filter_map(|&coding| {
            let q = quality(value, |t| {
                t.eq_ignore_ascii_case(coding.token())
                    || (coding == Coding::Gzip && t.eq_ignore_ascii_case("x-gzip"))
            })?;
            (q > 0).then_some((q, coding))
        })
        .collect();
    ranked.sort_by_key(|&(q, _)| std::cmp::Reverse(q)); // stable: ties keep our order
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// Whether `accept` prefers a JSON directory listing to HTML: it names
/// `application/json` itself (not through a wildcard) with a weight above
/// that of `text/html`. A tie goes to HTML, the listing browsers expect.
pub(crate) fn wants_json(accept: Option<&str>) -> bool {
    let Some(value) = accept else { return false };
    let named = |media: &'static str| {
        value.split(',').find_map(|element| {
            let mut params = element.split(';');
            let token = params.next().unwrap_or("").trim();
            token.eq_ignore_ascii_case(media).then(|| weight(params))?
        })
    };
    named("application/json").unwrap_or(0) > named("text/html").unwrap_or(0)
}

/// The weight (0 to 1000) the list gives to the first element whose token
/// satisfies `is`; `*` (or `*/*`) applies when no element names it.
fn quality(list: &str, is: impl Fn(&str) -> bool) -> Option<u16> {
    let mut wildcard = None;
    for element in list.split(',') {
        let mut params = element.split(';');
        let token = params.next().unwrap_or("").trim();
        let Some(q) = weight(params) else { continue };
        if is(token) {
            return Some(q);
        }
        if token == "*" || token == "*/*" {
            wildcard = Some(q);
        }
    }
    wildcard
}

/// The `q` parameter among `params` (1000 when absent); `None` if invalid.
fn weight<'a>(mut params: impl Iterator<Item = &'a str>) -> Option<u16> {
    params
        .find_map(|p| {
            p.split_once('=')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
        })
        .map_or(Some(1000), |(_, v)| parse_q(v.trim()))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_q(text: &str) -> Option<u16> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::{Brotli, Gzip, Zstd};

    #[test]
    fn accept_encoding() {
        assert_eq!(accepted_codings(None), []);
        assert_eq!(accepted_codings(Some("")), []);
        assert_eq!(accepted_codings(Some("gzip, deflate, br")), [Brotli, Gzip]);
        assert_eq!(
            accepted_codings(Some("gzip, deflate, br, zstd")),
            [Brotli, Zstd, Gzip]
        );
        assert_eq!(
            accepted_codings(Some("zstd;q=0.9, br;q=0.8")),
            [Zstd, Brotli]
        );
        assert_eq!(accepted_codings(Some("gzip;q=0.5x, br;q=.5")), []);
        assert_eq!(accepted_codings(Some("gzip")), [Gzip]);
        assert_eq!(accepted_codings(Some("x-gzip")), [Gzip]);
        assert_eq!(
            accepted_codings(Some("br;q=0.5, gzip;q=0.8")),
            [Gzip, Brotli]
        );
        assert_eq!(accepted_codings(Some("br;q=0, gzip")), [Gzip]);
        assert_eq!(accepted_codings(Some("*")), [Brotli, Zstd, Gzip]);
        assert_eq!(accepted_codings(Some("*;q=0, gzip")), [Gzip]);
        assert_eq!(accepted_codings(Some("identity")), []);
        assert_eq!(accepted_codings(Some("GZIP;Q=1.000")), [Gzip]);
        assert_eq!(
            accepted_codings(Some("gzip;q=2")),
            [],
            "invalid weights are skipped"
        );
    }

    #[test]
    fn accept_json() {
        assert!(wants_json(Some("application/json")));
        assert!(wants_json(Some("application/json, text/html;q=0.5")));
        assert!(!wants_json(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_json(Some("text/html, application/json")));
        assert!(!wants_json(Some("application/json;q=0")));
        assert!(!wants_json(None));
        assert!(!wants_json(Some("*/*")));
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("0.001"), Some(1));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.1234"), None);
    }
}
