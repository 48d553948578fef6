//! Replacing a response's header fields after it was built: a rule's field
//! must replace one of the same name wherever it is, in the response's own
//! fields or in a cached file's pre-encoded ones.

use crate::http::response::Response;

/// Sets every field of `fields`, each replacing every field of its name
/// (a later one of `fields` replacing an earlier one), in one pass over
/// the response's fields: a response with a dozen rule fields is not
/// scanned a dozen times. The pre-encoded fields are copied only when one
/// of them must go.
pub(crate) fn set_all(response: &mut Response, mut fields: Vec<(&'static str, String)>) {
    let mut kept: Vec<(&'static str, String)> = Vec::with_capacity(fields.len());
    for (name, value) in fields.drain(..) {
        kept.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        kept.push((name, value));
    }
    let named = |n: &[u8]| {
        kept.iter()
            .any(|(k, _)| k.as_bytes().eq_ignore_ascii_case(n))
    };
    response.headers.retain(|(n, _)| !named(n.as_bytes()));
    if let Some(encoded) = &response.encoded_fields {
        let name_of = |line: &[u8]| {
            let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
            named(&line[..colon])
        };
        let lines = || encoded.split_inclusive(|&b| b == b'\n');
        if lines().any(name_of) {
            let mut rest = Vec::with_capacity(encoded.len());
            for line in lines().filter(|l| !name_of(l)) {
                rest.extend_from_slice(line);
            }
            response.encoded_fields = Some(rest.into());
        }
    }
    response.headers.extend(kept);
}

/// The values of every field named `name` (any case), joined with `, `,
/// without removing them.
pub(crate) fn get(response: &Response, name: &str) -> Option<String> {
    let mut values: Vec<&str> = response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    let encoded = response.encoded_fields.as_deref().unwrap_or(&[]);
    for line in encoded.split_inclusive(|&b| b == b'\n') {
        let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
        if colon > 0 && line[..colon].eq_ignore_ascii_case(name.as_bytes()) {
            values.push(std::str::from_utf8(line[colon + 1..].trim_ascii()).unwrap_or(""));
        }
    }
    (!values.is_empty()).then(|| values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::push_field;
    use crate::http::status::Status;

    fn cached() -> Response {
        let mut encoded = Vec::new();
        push_field(&mut encoded, "Content-Type", "text/plain");
        push_field(&mut encoded, "Cache-Control", "max-age=60");
        push_field(&mut encoded, "Accept-Ranges", "bytes");
        let mut response = Response::bytes(Status::Ok, "text/plain", Vec::new());
        response.headers.clear();
        response.headers.push(("Vary", "Accept".to_owned()));
        response.encoded_fields = Some(encoded.into());
        response
    }

    fn set(response: &mut Response, name: &'static str, value: &str) {
        set_all(response, vec![(name, value.to_owned())]);
    }

    #[test]
    fn set_all_is_setting_one_after_the_other() {
        let fields = [
            ("Cache-Control", "no-cache"),
            ("X-A", "1"),
            ("vary", "Origin"),
            ("x-a", "2"),
        ];
        let mut one_by_one = cached();
        for (name, value) in fields {
            set(&mut one_by_one, name, value);
        }
        let mut at_once = cached();
        let owned = fields.iter().map(|&(n, v)| (n, v.to_owned())).collect();
        set_all(&mut at_once, owned);
        assert_eq!(at_once.headers, one_by_one.headers);
        assert_eq!(at_once.encoded_fields, one_by_one.encoded_fields);
        assert_eq!(
            at_once.headers,
            [
                ("Cache-Control", "no-cache".to_owned()),
                ("vary", "Origin".to_owned()),
                ("x-a", "2".to_owned()),
            ]
        );
    }

    #[test]
    fn set_replaces_a_pre_encoded_field() {
        let mut response = cached();
        set(&mut response, "cache-control", "no-cache");
        let encoded = response.encoded_fields.as_deref().unwrap();
        assert_eq!(
            encoded,
            b"Content-Type: text/plain\r\nAccept-Ranges: bytes\r\n"
        );
        assert_eq!(
            response.headers[1],
            ("cache-control", "no-cache".to_owned())
        );
    }

    #[test]
    fn get_joins_and_setting_others_leaves_the_encoded_fields_shared() {
        let mut response = cached();
        response.headers.push(("VARY", "Origin".to_owned()));
        let before = std::sync::Arc::clone(response.encoded_fields.as_ref().unwrap());
        assert_eq!(get(&response, "Vary").as_deref(), Some("Accept, Origin"));
        assert_eq!(get(&response, "accept-ranges").as_deref(), Some("bytes"));
        set(&mut response, "Vary", "Origin");
        assert_eq!(response.headers, [("Vary", "Origin".to_owned())]);
        assert!(std::sync::Arc::ptr_eq(
            &before,
            response.encoded_fields.as_ref().unwrap()
        ));
        assert_eq!(get(&response, "X-None"), None);
    }
}
