//! The database and Redis URLs: parsed once (the scheme decides the backend), and never shown
//! with their password.

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

/// A URL that may carry a password. `Debug` and `Display` show it masked; only the driver
/// that connects sees the whole URL.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn new(url: &str) -> Self {
        Self(SecretString::from(url))
    }

    /// The URL with its password, for the client that connects with it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with its password masked, for printing; in a list, every entry's.
    pub fn redacted(&self) -> String {
        entries(self.expose())
            .into_iter()
            .map(redact)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The comma-separated URLs of a list (the nodes of a Redis Cluster), trimmed; one URL
    /// is a list of one.
    pub fn list(&self) -> Vec<&str> {
        self.expose().split(',').map(str::trim).collect()
    }
}

/// `text` cut before each comma that starts another `scheme://` URL, so that a comma inside
/// one URL (Postgres's host list, a password) does not split it.
fn entries(text: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let mut start = 0;
    for (comma, _) in text.match_indices(',') {
        let next = text[comma + 1..].trim_start();
        let scheme = next.split_once("://").map_or("", |(scheme, _)| scheme);
        let is_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if is_scheme {
            entries.push(&text[start..comma]);
            start = comma + 1;
        }
    }
    entries.push(&text[start..]);
    entries
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// `SESAME_DATABASE_URL`: which backend, and where.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    /// `postgres://` or `postgresql://`.
    Postgres(SecretUrl),
    /// `sqlite://path`: the file, created with its folder on first start.
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub(super) fn parse(name: &'static str, url: &str) -> Result<Self, ConfigError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(SecretUrl::new(url)));
        }
        let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            return Err(ConfigError::new(
                name,
                "must start with postgres:// or sqlite://",
            ));
        };
        // Sesame sets the SQLite options itself (see `Database::connect`).
        if path.is_empty() || path.contains('?') {
            return Err(ConfigError::new(
                name,
                "a SQLite URL is sqlite://path, without options",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(url) => fmt::Display::fmt(url, f),
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

/// One `url` with the password of its user-info part, and any `password=` query value, masked.
fn redact(url: &str) -> String {
    let mut shown = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    };
    if let Some((base, query)) = shown.split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown = format!("{base}?{}", query.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        let shown = |url: &str| SecretUrl::new(url).to_string();
        assert_eq!(
            shown("postgres://sesame:hunter2@db:5432/sesame"),
            "postgres://sesame:***@db:5432/sesame"
        );
        assert_eq!(
            shown("redis://:hunter2@redis:6379"),
            "redis://:***@redis:6379"
        );
        assert_eq!(
            shown("postgres://sesame@db/sesame"),
            "postgres://sesame@db/sesame"
        );
        assert_eq!(
            shown("postgres://sesame@db/sesame?sslmode=require&password=hunter2"),
            "postgres://sesame@db/sesame?sslmode=require&password=***"
        );
        // A list (the nodes of a Redis Cluster): every entry's password, every host kept.
        assert_eq!(
            shown("redis://:pw1@10.0.0.1:6379, redis://sesame:pw2@10.0.0.2:6379,rediss://10.0.0.3"),
            "redis://:***@10.0.0.1:6379, redis://sesame:***@10.0.0.2:6379,rediss://10.0.0.3"
        );
        assert_eq!(
            shown("redis://10.0.0.1?password=pw1,redis://u:pw2@10.0.0.2"),
            "redis://10.0.0.1?password=***,redis://u:***@10.0.0.2"
        );
        // A comma inside one URL (Postgres hosts, a password) does not start an entry.
        assert_eq!(
            shown("postgres://sesame:pa,ss@db1:5432,db2:5432/sesame"),
            "postgres://sesame:***@db1:5432,db2:5432/sesame"
        );
        let debug = format!("{:?}", SecretUrl::new("redis://:hunter2@redis:6379"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn the_scheme_decides_the_backend() {
        let parse = |url| DatabaseUrl::parse("SESAME_DATABASE_URL", url);
        assert!(matches!(
            parse("postgresql://sesame@db/sesame"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        match parse("sqlite://data/sesame.db") {
            Ok(DatabaseUrl::Sqlite(path)) => assert_eq!(path, PathBuf::from("data/sesame.db")),
            other => panic!("{other:?}"),
        }
        let absolute = parse("sqlite:///tmp/sesame.db").unwrap();
        assert_eq!(absolute.to_string(), "sqlite:///tmp/sesame.db");
        for bad in [
            "mysql://db/sesame",
            "sqlite://",
            "sqlite://x.db?mode=ro",
            "data.db",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.name, "SESAME_DATABASE_URL", "{bad}");
        }
    }
}
