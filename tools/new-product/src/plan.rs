//! The rename, decided in full before anything is written: which directories and files move,
//! which files change text, and what still mentions the old name afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};

use crate::name::{count_any_case, replace};
use crate::{KEEP_MARKER, ProductName};

/// A file whose text changes.
#[derive(Debug, Clone)]
pub struct Edit {
    /// Path before the rename (where the text is written, before any move).
    pub path: String,
    /// Path after the rename.
    pub new_path: String,
    pub text: String,
    pub replacements: usize,
}

/// A directory or file whose own name changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// Its path before the rename, as git lists it.
    pub original: String,
    /// Where it is when its turn comes (its parents have moved already).
    pub from: String,
    pub to: String,
}

/// A mention of the old name that the rename leaves, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftover {
    /// A line carrying [`KEEP_MARKER`].
    Kept { path: String, line: usize },
    /// A binary file: it is moved if its path changes, never edited.
    Binary { path: String, count: usize },
    /// A spelling other than `name`, `Name` and `NAME` (e.g. `nAME`), in text or in a path.
    OtherCase {
        path: String,
        line: usize,
        text: String,
    },
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub from: ProductName,
    pub to: ProductName,
    /// Directories whose own name changes, outermost first. Moving a directory carries its
    /// untracked content along (build outputs, local data).
    pub dir_moves: Vec<Move>,
    /// Files whose own name changes, once their directories have moved.
    pub file_moves: Vec<Move>,
    pub edits: Vec<Edit>,
    pub leftovers: Vec<Leftover>,
    /// Files that mention the new name already, with counts: a later rename away from it would
    /// change those too, so the user hears about them.
    pub preexisting: Vec<(String, usize)>,
    /// Tracked files whose path changes (through a directory or their own name).
    pub moved_files: usize,
}

fn parent_and_name(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", path),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}/{name}")
    }
}

impl Plan {
    /// Decides the rename of `files` (paths relative to `root`, as git lists them).
    pub fn build(
        root: &Path,
        from: &ProductName,
        to: &ProductName,
        files: &[String],
    ) -> anyhow::Result<Plan> {
        let map = |p: &str| replace(p, from, to).0;
        let mut dirs = BTreeSet::new();
        let mut file_moves = Vec::new();
        let mut edits = Vec::new();
        let mut leftovers = Vec::new();
        let mut preexisting = Vec::new();
        let mut moved_files = 0;

        for path in files {
            let (parent, name) = parent_and_name(path);
            let mut prefix = String::new();
            for component in parent.split('/').filter(|c| !c.is_empty()) {
                prefix = join(&prefix, component);
                if map(component) != component {
                    dirs.insert(prefix.clone());
                }
            }
            let new_path = map(path);
            if new_path != *path {
                moved_files += 1;
            }
            if map(name) != name {
                file_moves.push(Move {
                    original: path.clone(),
                    from: join(&map(parent), name),
                    to: new_path.clone(),
                });
            }
            if count_any_case(new_path.as_bytes(), from) > 0 {
                leftovers.push(Leftover::OtherCase {
                    path: new_path.clone(),
                    line: 0,
                    text: "(the path)".into(),
                });
            }

            let full = root.join(path);
            let meta = std::fs::symlink_metadata(&full)
                .with_context(|| format!("{path} is tracked but missing; restore it first"))?;
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&full)?;
                if count_any_case(target.as_os_str().as_encoded_bytes(), from) > 0 {
                    leftovers.push(Leftover::OtherCase {
                        path: new_path.clone(),
                        line: 0,
                        text: format!("(symlink to {})", target.display()),
                    });
                }
                continue;
            }
            let bytes = std::fs::read(&full).with_context(|| format!("reading {path}"))?;
            let already = count_any_case(&bytes, to);
            if already > 0 {
                preexisting.push((path.clone(), already));
            }
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) if !bytes.contains(&0) => t,
                _ => {
                    let count = count_any_case(&bytes, from);
                    if count > 0 {
                        leftovers.push(Leftover::Binary {
                            path: new_path.clone(),
                            count,
                        });
                    }
                    continue;
                }
            };
            let (new_text, replacements) = rewrite(text, from, to, &new_path, &mut leftovers);
            if replacements > 0 {
                edits.push(Edit {
                    path: path.clone(),
                    new_path,
                    text: new_text,
                    replacements,
                });
            }
        }

        // Outermost first, so each directory's parent is already where `map` says it is.
        let mut dirs: Vec<String> = dirs.into_iter().collect();
        dirs.sort_by_key(|d| (d.matches('/').count(), d.clone()));
        let dir_moves: Vec<Move> = dirs
            .iter()
            .map(|d| {
                let (parent, name) = parent_and_name(d);
                Move {
                    original: d.clone(),
                    from: join(&map(parent), name),
                    to: map(d),
                }
            })
            .collect();

        let plan = Plan {
            from: from.clone(),
            to: to.clone(),
            dir_moves,
            file_moves,
            edits,
            leftovers,
            preexisting,
            moved_files,
        };
        plan.check_collisions(root)?;
        Ok(plan)
    }

    /// Refuses a plan that would move anything onto an existing path, or two things onto one.
    fn check_collisions(&self, root: &Path) -> anyhow::Result<()> {
        let mut seen = BTreeSet::new();
        let mut clashes = Vec::new();
        for m in self.dir_moves.iter().chain(&self.file_moves) {
            if !seen.insert(m.to.as_str()) || std::fs::symlink_metadata(root.join(&m.to)).is_ok() {
                clashes.push(m.to.as_str());
            }
        }
        if !clashes.is_empty() {
            bail!(
                "renaming {} to {} would overwrite existing paths: {}; rename or remove them first",
                self.from,
                self.to,
                clashes.join(", ")
            );
        }
        Ok(())
    }

    /// Writes the new texts, then moves directories and files.
    pub fn apply(&self, root: &Path) -> anyhow::Result<()> {
        for e in &self.edits {
            std::fs::write(root.join(&e.path), &e.text)
                .with_context(|| format!("writing {}", e.path))?;
        }
        for m in self.dir_moves.iter().chain(&self.file_moves) {
            if let Some(parent) = root.join(&m.to).parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::rename(root.join(&m.from), root.join(&m.to))
                .with_context(|| format!("moving {} to {}", m.from, m.to))?;
        }
        Ok(())
    }

    pub fn replacements(&self) -> usize {
        self.edits.iter().map(|e| e.replacements).sum()
    }

    /// What the rename does, for people: moves, then edits with counts, then leftovers.
    pub fn describe(&self, files: &[String]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "renamed {} paths ({} tracked files move):",
            self.dir_moves.len() + self.file_moves.len(),
            self.moved_files
        );
        for m in &self.dir_moves {
            let prefix = format!("{}/", m.original);
            let inside = files.iter().filter(|f| f.starts_with(&prefix)).count();
            let _ = writeln!(s, "  {}/ -> {}/  ({inside} files)", m.from, m.to);
        }
        for m in &self.file_moves {
            let _ = writeln!(s, "  {} -> {}", m.from, m.to);
        }
        let _ = writeln!(
            s,
            "edited {} files ({} replacements):",
            self.edits.len(),
            self.replacements()
        );
        for e in &self.edits {
            let _ = writeln!(s, "  {:5}  {}", e.replacements, e.new_path);
        }
        s
    }

    /// Leftovers grouped for printing; empty when nothing mentions the old name any more.
    pub fn describe_leftovers(&self) -> String {
        let mut s = String::new();
        let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for l in &self.leftovers {
            let (kind, text) = match l {
                Leftover::Kept { path, line } => (
                    "kept (marked `new-product: keep`)",
                    format!("{path}:{line}"),
                ),
                Leftover::Binary { path, count } => {
                    ("binary files, not edited", format!("{path} ({count})"))
                }
                Leftover::OtherCase { path, line, text } => (
                    "other spellings, not renamed: check them by hand",
                    format!("{path}:{line}: {}", text.trim()),
                ),
            };
            by_kind.entry(kind).or_default().push(text);
        }
        for (kind, items) in by_kind {
            let _ = writeln!(s, "still mentioning {} - {kind}:", self.from);
            for i in items {
                let _ = writeln!(s, "  {i}");
            }
        }
        s
    }
}

/// Rewrites `text` line by line, leaving marked lines alone, and records what still mentions the
/// old name in any case.
fn rewrite(
    text: &str,
    from: &ProductName,
    to: &ProductName,
    path: &str,
    leftovers: &mut Vec<Leftover>,
) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.contains(KEEP_MARKER) {
            out.push_str(line);
            if count_any_case(line.as_bytes(), from) > 0 {
                leftovers.push(Leftover::Kept {
                    path: path.to_owned(),
                    line: i + 1,
                });
            }
            continue;
        }
        let (new_line, n) = replace(line, from, to);
        if count_any_case(new_line.as_bytes(), from) > 0 {
            leftovers.push(Leftover::OtherCase {
                path: path.to_owned(),
                line: i + 1,
                text: new_line.clone(),
            });
        }
        out.push_str(&new_line);
        count += n;
    }
    (out, count)
}
