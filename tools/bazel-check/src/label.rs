//! Bazel label parsing, relative to the package a label is written in.

/// A parsed label. `repo` is `None` for the main repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub repo: Option<String>,
    pub package: String,
    pub name: String,
}

impl Label {
    /// Parses `text` written in package `current`. Returns `None` for text that is not a label.
    pub fn parse(text: &str, current: &str) -> Option<Label> {
        let text = text.trim();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        let (repo, rest) = if let Some(r) = text.strip_prefix('@') {
            let r = r.trim_start_matches('@');
            match r.find("//") {
                Some(i) => (Some(r[..i].to_owned()), &r[i..]),
                // `@repo` alone means `@repo//:repo`.
                None => {
                    return Some(Label {
                        repo: Some(r.to_owned()),
                        package: String::new(),
                        name: r.to_owned(),
                    });
                }
            }
        } else {
            (None, text)
        };
        // `@@//x` and `@//x` are the main repo.
        let repo = repo.filter(|r| !r.is_empty());
        if let Some(abs) = rest.strip_prefix("//") {
            let (package, name) = match abs.split_once(':') {
                Some((p, n)) => (p.to_owned(), n.to_owned()),
                None => {
                    let last = abs.rsplit('/').next().unwrap_or(abs).to_owned();
                    (abs.to_owned(), last)
                }
            };
            return Some(Label {
                repo,
                package,
                name,
            });
        }
        if repo.is_some() {
            return None;
        }
        let name = rest.strip_prefix(':').unwrap_or(rest);
        Some(Label {
            repo: None,
            package: current.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Parses a label without a current package (used for `Label()` values).
    pub fn parse_loose(text: &str) -> Label {
        Label::parse(text, "").unwrap_or(Label {
            repo: None,
            package: String::new(),
            name: text.to_owned(),
        })
    }

    pub fn is_main(&self) -> bool {
        self.repo.is_none()
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.repo {
            write!(f, "@{r}")?;
        }
        let last = self.package.rsplit('/').next().unwrap_or("");
        if !self.package.is_empty() && last == self.name {
            write!(f, "//{}", self.package)
        } else {
            write!(f, "//{}:{}", self.package, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let l = Label::parse("//libs/strata-data", "x").unwrap();
        assert_eq!(
            (l.package.as_str(), l.name.as_str()),
            ("libs/strata-data", "strata-data")
        );
        let l = Label::parse(":core", "libs/core").unwrap();
        assert_eq!((l.package.as_str(), l.name.as_str()), ("libs/core", "core"));
        let l = Label::parse("@crates//:serde", "").unwrap();
        assert_eq!(l.repo.as_deref(), Some("crates"));
        assert_eq!(l.name, "serde");
        let l = Label::parse("src/main.rs", "p").unwrap();
        assert_eq!(l.name, "src/main.rs");
        let l = Label::parse("@@//tools:x", "").unwrap();
        assert!(l.is_main());
        assert_eq!(Label::parse("@rules_rust", "").unwrap().name, "rules_rust");
        assert_eq!(Label::parse("//a:b", "").unwrap().to_string(), "//a:b");
        assert_eq!(Label::parse("//a/b:b", "").unwrap().to_string(), "//a/b");
    }
}
