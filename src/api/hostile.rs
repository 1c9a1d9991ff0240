//! Hostile bytes: a NUL or invalid UTF-8 in a path, a query, a form or a JSON string is refused
//! with `400 invalid_request` before any value reaches a handler. Postgres refuses NUL in text
//! (which would surface as a `500`), and URL decoding is lossy: it would turn invalid UTF-8
//! into U+FFFD, a different string from the one sent.

use std::borrow::Cow;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;

use crate::error::Error;

/// Refuses a request whose path or query, percent-decoded, holds a NUL or invalid UTF-8.
pub async fn screen_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let clean = clean_urlencoded(uri.path().as_bytes())
        && uri
            .query()
            .is_none_or(|query| clean_urlencoded(query.as_bytes()));
    if !clean {
        return Error::InvalidRequest("the URL holds a NUL character or invalid UTF-8".into())
            .into_response();
    }
    next.run(request).await
}

/// Refuses a form or JSON body holding a NUL (raw, percent-encoded or `\u0000`) or invalid
/// UTF-8. Other media types are left to their own parser.
pub fn screen_body(media_type: Option<&str>, bytes: &[u8]) -> Result<(), Error> {
    let clean = match media_type {
        Some("application/x-www-form-urlencoded") => clean_urlencoded(bytes),
        Some("application/json") => clean_text(bytes) && !json_escapes_nul(bytes),
        _ => true,
    };
    if clean {
        Ok(())
    } else {
        Err(Error::InvalidRequest(
            "the body holds a NUL character or invalid UTF-8".into(),
        ))
    }
}

fn clean_urlencoded(bytes: &[u8]) -> bool {
    // Borrowed, not copied, when nothing is percent-encoded (most paths and forms).
    let decoded: Cow<[u8]> = percent_decode(bytes).into();
    clean_text(&decoded)
}

fn clean_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// Whether a JSON text spells a NUL as `\u0000`. Backslashes occur only in strings, and each
/// starts an escape of which the next character is part, so a scan that skips that character
/// sees every escape exactly once (`\\u0000` is a backslash and text, not a NUL).
fn json_escapes_nul(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&byte| byte == b'\\') {
        let escape = &rest[at + 1..];
        if escape.starts_with(b"u0000") {
            return true;
        }
        rest = escape.get(1..).unwrap_or_default();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn forms_are_checked_after_percent_decoding() {
        assert!(screen_body(FORM, b"q=caf%C3%A9&a=+b").is_ok());
        assert!(screen_body(FORM, b"q=a%00b").is_err());
        assert!(screen_body(FORM, b"q=%FF").is_err());
        assert!(screen_body(FORM, b"q=%C3&r=%A9").is_err());
    }

    #[test]
    fn json_nul_escapes_are_found_but_escaped_backslashes_are_not() {
        assert!(screen_body(JSON, br#"{"a":"\u0000"}"#).is_err());
        assert!(screen_body(JSON, br#"{"a":"\\u0000"}"#).is_ok());
        assert!(screen_body(JSON, br#"{"a":"\\\u0000"}"#).is_err());
        assert!(screen_body(JSON, br#"{"a":"\"\n\u0041"}"#).is_ok());
        assert!(screen_body(JSON, b"{\"a\":\"\xFF\"}").is_err());
    }

    #[test]
    fn other_media_types_are_left_to_their_parser() {
        assert!(screen_body(Some("text/csv"), b"a\0b").is_ok());
    }
}
