//! Which URLs a webhook may POST to (SPEC §12.1): `https`, or `http` to a
//! loopback address when the operator allows it
//! (`--webhook-allow-http-loopback`, for receivers on the same host and
//! for tests).

use std::net::IpAddr;

use url::{Host, Url};

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Parses and checks a webhook URL; the error says what is wrong, for a
/// field violation.
pub fn check_url(raw: &str, allow_http_loopback: bool) -> Result<Url, String> {
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} bytes"));
    }
    let url = Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
    // Credentials in a URL would be listed back by ListWebhooks and logged
    // with errors: a receiver authenticates the sender by the signature.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => {
            if allow_http_loopback {
                Ok(url)
            } else {
                Err(
                    "must be https (http to a loopback address needs the operator's \
                     --webhook-allow-http-loopback)"
                        .into(),
                )
            }
        }
        "http" => Err(if allow_http_loopback {
            "must be https (http is allowed to loopback addresses only)".into()
        } else {
            "must be https".into()
        }),
        _ => Err("must be an https URL".into()),
    }
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_anywhere() {
        for url in [
            "https://hooks.example.com/gapscore",
            "https://10.0.0.1:8443/x?y=1",
            "https://[2001:db8::1]/",
        ] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn http_needs_loopback_and_the_flag() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://127.8.9.10/",
            "http://[::1]:80/",
            "http://localhost:3000/",
        ] {
            assert!(check_url(url, true).is_ok(), "{url}");
            let err = check_url(url, false).unwrap_err();
            assert!(err.contains("--webhook-allow-http-loopback"), "{err}");
        }
        for url in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.evil.com/",
        ] {
            assert_eq!(
                check_url(url, true).unwrap_err(),
                "must be https (http is allowed to loopback addresses only)"
            );
            assert_eq!(check_url(url, false).unwrap_err(), "must be https");
        }
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        for (url, reason) in [
            ("", "is required"),
            ("not a url", "is not an absolute URL"),
            ("/relative/path", "is not an absolute URL"),
            ("ftp://example.com/", "must be an https URL"),
            ("file:///etc/passwd", "must be an https URL"),
            ("https://user:pw@example.com/", "must not carry a user name"),
            ("https://example.com/#frag", "must not have a fragment"),
            (long.as_str(), "must be at most"),
        ] {
            let err = check_url(url, true).unwrap_err();
            assert!(err.starts_with(reason), "{url}: {err}");
        }
    }
}
