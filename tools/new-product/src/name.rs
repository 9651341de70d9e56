//! What a product name may be, its three spellings, and the replacement of one name by another.

use std::fmt;

/// Shortest and longest accepted name. Kubernetes names are at most 63 characters and the
/// longest derived one (`NAME-web-from-ingress`, a NetworkPolicy) adds 17; 30 leaves room.
pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 30;

/// Words a name may not be, with the reason shown to the user.
const RESERVED: &[(&str, &str)] = &[
    ("std", "it would shadow a Rust standard crate"),
    ("core", "it would shadow a Rust standard crate"),
    ("alloc", "it would shadow a Rust standard crate"),
    ("test", "it would shadow a Rust standard crate"),
    ("google", "protobuf reserves the `google.*` packages"),
    ("grpc", "gRPC's own packages (`grpc.health.v1`) use it"),
    (
        "default",
        "it is the namespace Kubernetes puts everything else in",
    ),
];

/// Rust keywords (strict and reserved, edition 2024): the name becomes a module (`NAME::ml::v1`).
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Java keywords and literals that are not Rust keywords too: the name is a segment of the mobile
/// app's Android package (`dev.NAME.mobile` in `clients/mobile/app.json`), which must be a Java
/// package name. Its other spellings there (display name `Name`, slug `NAME-mobile`, scheme
/// `NAME`, iOS bundle id) accept any name the other rules accept.
const JAVA_KEYWORDS: &[&str] = &[
    "assert",
    "boolean",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "double",
    "extends",
    "finally",
    "float",
    "goto",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "short",
    "strictfp",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "void",
    "volatile",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "`{name}` is {len} characters; a product name has {MIN_LEN} to {MAX_LEN} (Kubernetes names derived from it must stay under 63)"
    )]
    Length { name: String, len: usize },
    #[error(
        "`{name}` has uppercase letters: use `{lower}` (the tool derives the capitalised and uppercase spellings itself)"
    )]
    Uppercase { name: String, lower: String },
    #[error(
        "`{name}` contains `{ch}`: only a-z and 0-9 are allowed, because the name must be a proto package (no `-`), a Kubernetes name (no `_` or `.`), a Rust crate prefix, an npm scope and an environment variable prefix at once"
    )]
    Character { name: String, ch: char },
    #[error(
        "`{name}` must start with a letter (a-z): Rust modules, proto packages and environment variables cannot start with a digit"
    )]
    Start { name: String },
    #[error("`{name}` is a Rust keyword, and the name becomes a Rust module (`{name}::ml::v1`)")]
    Keyword { name: String },
    #[error("`{name}` is reserved: {reason}")]
    Reserved { name: String, reason: &'static str },
    #[error(
        "`{name}` is a Java keyword, and the name is part of the mobile app's Android package (`dev.{name}.mobile`)"
    )]
    JavaKeyword { name: String },
}

/// A valid product name, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductName(String);

impl ProductName {
    /// Accepts `[a-z][a-z0-9]{1,29}` that is not a Rust or Java keyword or a reserved word.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let owned = || name.to_owned();
        let len = name.chars().count();
        if !(MIN_LEN..=MAX_LEN).contains(&len) {
            return Err(NameError::Length { name: owned(), len });
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            let lower = name.to_lowercase();
            // Only a case problem if lowercasing alone would make it valid.
            if ProductName::parse(&lower).is_ok() {
                return Err(NameError::Uppercase {
                    name: owned(),
                    lower,
                });
            }
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        {
            return Err(NameError::Character { name: owned(), ch });
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(NameError::Start { name: owned() });
        }
        if RUST_KEYWORDS.contains(&name) {
            return Err(NameError::Keyword { name: owned() });
        }
        if JAVA_KEYWORDS.contains(&name) {
            return Err(NameError::JavaKeyword { name: owned() });
        }
        if let Some((_, reason)) = RESERVED.iter().find(|(w, _)| *w == name) {
            return Err(NameError::Reserved {
                name: owned(),
                reason,
            });
        }
        Ok(ProductName(name.to_owned()))
    }

    /// `acme`: crates, packages, paths, Kubernetes names, the proto package, metrics.
    pub fn lower(&self) -> &str {
        &self.0
    }

    /// `Acme`: prose and type names (`createAcmeClient`).
    pub fn capitalized(&self) -> String {
        capitalize(&self.0)
    }

    /// `ACME`: environment variables (`ACME_DATA_DIR`).
    pub fn upper(&self) -> String {
        self.0.to_uppercase()
    }

    /// The three spellings, in the order they are matched.
    pub fn spellings(&self) -> [String; 3] {
        [self.lower().to_owned(), self.capitalized(), self.upper()]
    }
}

impl fmt::Display for ProductName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Replaces every spelling of `from` in `text` by the same spelling of `to`, in one pass (a
/// replacement is never matched again). Returns the new text and the number of replacements.
pub fn replace(text: &str, from: &ProductName, to: &ProductName) -> (String, usize) {
    let pairs: Vec<(String, String)> = from.spellings().into_iter().zip(to.spellings()).collect();
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    while !rest.is_empty() {
        // The next occurrence of any spelling; spellings of one name never overlap at one index
        // because they differ in their first letter's case or in the second letter's.
        let next = pairs
            .iter()
            .filter_map(|(f, t)| rest.find(f.as_str()).map(|i| (i, f, t)))
            .min_by_key(|(i, f, _)| (*i, std::cmp::Reverse(f.len())));
        match next {
            Some((i, f, t)) => {
                out.push_str(&rest[..i]);
                out.push_str(t);
                rest = &rest[i + f.len()..];
                count += 1;
            }
            None => {
                out.push_str(rest);
                break;
            }
        }
    }
    (out, count)
}

/// Case-insensitive (ASCII) occurrences of `name` in `bytes`.
pub fn count_any_case(bytes: &[u8], name: &ProductName) -> usize {
    let needle = name.lower().as_bytes();
    if bytes.len() < needle.len() {
        return 0;
    }
    bytes
        .windows(needle.len())
        .filter(|w| w.eq_ignore_ascii_case(needle))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> ProductName {
        ProductName::parse(s).expect("valid name")
    }

    #[test]
    fn accepts_lowercase_identifiers() {
        for ok in [
            "gizmo",
            "ab",
            "a1",
            "widget2000",
            "x".repeat(MAX_LEN).as_str(),
        ] {
            assert_eq!(ProductName::parse(ok).map(|p| p.to_string()), Ok(ok.into()));
        }
    }

    #[test]
    fn rejects_what_one_of_the_targets_cannot_hold() {
        let cases: &[(&str, &str)] = &[
            ("a", "characters"),
            ("Gizmo", "use `gizmo`"),
            ("gizmo-ai", "contains `-`"),
            ("gizmo_ai", "contains `_`"),
            ("gizmo.ai", "contains `.`"),
            ("café", "contains `é`"),
            ("9lives", "start with a letter"),
            ("type", "Rust keyword"),
            ("native", "Java keyword"),
            ("new", "Android package (`dev.new.mobile`)"),
            ("std", "reserved"),
            ("google", "protobuf"),
            ("", "characters"),
        ];
        for (name, expected) in cases {
            let err = ProductName::parse(name).expect_err(name).to_string();
            assert!(err.contains(expected), "{name}: {err}");
        }
        assert!(
            ProductName::parse(&"x".repeat(MAX_LEN + 1))
                .unwrap_err()
                .to_string()
                .contains("31 characters")
        );
    }

    #[test]
    fn replaces_all_three_spellings_and_counts_them() {
        let text =
            "widget-core widget_core Widget WIDGET_DATA_DIR @widget/client createWidgetClient";
        let (out, count) = replace(text, &n("widget"), &n("gizmo"));
        assert_eq!(
            out,
            "gizmo-core gizmo_core Gizmo GIZMO_DATA_DIR @gizmo/client createGizmoClient"
        );
        assert_eq!(count, 6);
    }

    #[test]
    fn leaves_other_casings_and_does_not_rematch_replacements() {
        let (out, count) = replace("wIdGeT widgets", &n("widget"), &n("widgetwidget"));
        assert_eq!(out, "wIdGeT widgetwidgets");
        assert_eq!(count, 1);
        assert_eq!(count_any_case(out.as_bytes(), &n("widget")), 3);
    }
}
