//! Namespace URIs: whether one is an absolute URI that libxml2's URI parser accepts (RFC 3986).

/// Whether a namespace URI is an absolute URI that libxml2's URI parser accepts (RFC 3986:
/// scheme, then only ASCII characters allowed in their component, valid `%` escapes, numeric
/// port). Canonical XML must fail on relative namespace URIs; libxml2 also fails on unparsable
/// ones.
pub(crate) fn is_absolute_uri(uri: &str) -> bool {
    let b = uri.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_alphabetic()) {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'+' | b'-' | b'.')) {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return false;
    }
    let rest = &b[i + 1..];
    let (before_fragment, fragment) = match rest.iter().position(|&c| c == b'#') {
        Some(p) => (&rest[..p], Some(&rest[p + 1..])),
        None => (rest, None),
    };
    if let Some(f) = fragment
        && !all_uri_chars(f, |c| is_pchar(c) || c == b'/' || c == b'?')
    {
        return false;
    }
    let (hier, query) = match before_fragment.iter().position(|&c| c == b'?') {
        Some(p) => (&before_fragment[..p], Some(&before_fragment[p + 1..])),
        None => (before_fragment, None),
    };
    if let Some(q) = query
        && !all_uri_chars(q, |c| is_pchar(c) || c == b'/' || c == b'?')
    {
        return false;
    }
    let path = match hier.strip_prefix(b"//") {
        Some(after) => {
            let auth_end = after.iter().position(|&c| c == b'/').unwrap_or(after.len());
            if !is_authority(&after[..auth_end]) {
                return false;
            }
            &after[auth_end..]
        }
        None => hier,
    };
    all_uri_chars(path, |c| is_pchar(c) || c == b'/')
}

fn is_unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(c: u8) -> bool {
    matches!(
        c,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_pchar(c: u8) -> bool {
    is_unreserved(c) || is_sub_delim(c) || c == b':' || c == b'@'
}

/// Every byte satisfies `allowed` or is part of a valid `%XX` escape.
fn all_uri_chars(s: &[u8], allowed: impl Fn(u8) -> bool) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if s.len() < i + 3 || !s[i + 1].is_ascii_hexdigit() || !s[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
        } else if allowed(s[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_authority(a: &[u8]) -> bool {
    let host_port = match a.iter().position(|&c| c == b'@') {
        Some(p) => {
            if !all_uri_chars(&a[..p], |c| {
                is_unreserved(c) || is_sub_delim(c) || c == b':'
            }) {
                return false;
            }
            &a[p + 1..]
        }
        None => a,
    };
    let (host, port) = if host_port.first() == Some(&b'[') {
        match host_port.iter().position(|&c| c == b']') {
            Some(p) => (&host_port[..=p], &host_port[p + 1..]),
            None => return false,
        }
    } else {
        match host_port.iter().position(|&c| c == b':') {
            Some(p) => (&host_port[..p], &host_port[p..]),
            None => (host_port, &host_port[host_port.len()..]),
        }
    };
    if host.first() != Some(&b'[') && !all_uri_chars(host, |c| is_unreserved(c) || is_sub_delim(c))
    {
        return false;
    }
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in [
            "urn:x:y",
            "http://[::1]/",
            "a:b",
            "http:///x",
            "http://ex.com/'",
            "x+y.z-w:q",
            "mailto:a@b",
            "http://e.com/?a=1&b=2",
            "http://x.org/%41",
            "http://u@h:80/p?q#f",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "http://ex.com/é",
            "http://ex.com/a b",
            "http://ex.com/%zz",
            "rel/path",
            "http://ex.com/{x}",
            "http://ex.com/a|b",
            "1a:b",
            "http://ex.com/#a#b",
            "http://ex.com:port/",
            "http://ex.com/a\\b",
            "http://ex.com/[",
            "",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }
}
