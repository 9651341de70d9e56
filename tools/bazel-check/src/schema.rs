//! The committed rule schema: for each module@version, the public symbols of each `.bzl` file
//! with their attributes. Written by `bazel-check gen-schema`, read by the checker.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleSchema {
    /// BCR module name, e.g. `rules_rust`.
    pub module: String,
    /// The version pinned in MODULE.bazel this schema describes.
    pub version: String,
    /// Where the facts were read: git repository and ref.
    pub source_repo: String,
    pub source_ref: String,
    /// False when the exact tag was not available and a nearby ref was read instead.
    pub exact: bool,
    /// `.bzl` path inside the module (e.g. `rust/defs.bzl`) → its public symbols.
    pub files: BTreeMap<String, FileSchema>,
    /// Files that failed to evaluate, with the reason (their symbols are opaque).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileSchema {
    pub symbols: BTreeMap<String, Symbol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// `rule()`: attributes are exact.
    Rule,
    /// A legacy macro (`def`): explicit parameters plus the attributes of the rules its
    /// `**kwargs` flow into.
    Macro,
    /// `macro()` (symbolic macro).
    SymbolicMacro,
    ModuleExtension,
    RepositoryRule,
    Provider,
    Aspect,
    /// A function, struct or constant we do not model; calls are not checked.
    Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Symbol {
    pub kind: SymbolKind,
    /// `file:line` of the definition, inside the module.
    pub source: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, Attr>,
    /// True when the symbol accepts keyword arguments we cannot list (unknown `**kwargs`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub test: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub executable: bool,
    /// Rules a macro forwards `**kwargs` to (documentation of where `attrs` came from).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards_to: Vec<String>,
    /// Module extensions: tag class → attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag_classes: BTreeMap<String, BTreeMap<String, Attr>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attr {
    /// `string`, `int`, `bool`, `label`, `label_list`, `string_list`, `string_dict`, ... or
    /// `any` for macro parameters whose type is unknown.
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub mandatory: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl Attr {
    pub fn new(ty: &str, mandatory: bool) -> Attr {
        Attr {
            ty: ty.to_owned(),
            mandatory,
            values: Vec::new(),
        }
    }
    pub fn is_label_kind(&self) -> bool {
        matches!(
            self.ty.as_str(),
            "label"
                | "label_list"
                | "label_keyed_string_dict"
                | "string_keyed_label_dict"
                | "label_list_dict"
                | "dormant_label"
                | "dormant_label_list"
        )
    }
}

/// Attributes Bazel gives every rule.
pub fn common_rule_attrs(test: bool, executable: bool) -> BTreeMap<String, Attr> {
    let mut m = BTreeMap::new();
    let mut put = |n: &str, t: &str| {
        m.insert(n.to_owned(), Attr::new(t, false));
    };
    put("name", "string");
    put("visibility", "label_list");
    put("tags", "string_list");
    put("testonly", "bool");
    put("features", "string_list");
    put("deprecation", "string");
    put("compatible_with", "label_list");
    put("restricted_to", "label_list");
    put("target_compatible_with", "label_list");
    put("exec_compatible_with", "label_list");
    put("exec_properties", "string_dict");
    put("exec_group_compatible_with", "string_keyed_label_dict");
    put("package_metadata", "label_list");
    put("applicable_licenses", "label_list");
    put("toolchains", "label_list");
    put("aspect_hints", "label_list");
    put("transitive_configs", "label_list");
    put("licenses", "string_list");
    if test || executable {
        put("args", "string_list");
        put("env", "string_dict");
        put("output_licenses", "string_list");
    }
    if test {
        put("size", "string");
        put("timeout", "string");
        put("flaky", "bool");
        put("shard_count", "int");
        put("local", "bool");
        put("env_inherit", "string_list");
    }
    m.get_mut("name").expect("just inserted").mandatory = true;
    m
}

/// All committed schemas, keyed by module name.
#[derive(Debug, Default)]
pub struct SchemaSet {
    pub modules: BTreeMap<String, ModuleSchema>,
}

impl SchemaSet {
    pub fn load_dir(dir: &Path) -> anyhow::Result<SchemaSet> {
        let mut modules = BTreeMap::new();
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading schema dir {}", dir.display()))?;
        for e in entries {
            let path = e?.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let m: ModuleSchema = serde_json::from_str(&text)
                .with_context(|| format!("parsing schema {}", path.display()))?;
            modules.insert(m.module.clone(), m);
        }
        Ok(SchemaSet { modules })
    }

    pub fn builtins(&self) -> Option<&FileSchema> {
        self.modules.get("bazel").and_then(|m| m.files.get("BUILD"))
    }

    pub fn module_file_globals(&self) -> Option<&FileSchema> {
        self.modules
            .get("bazel")
            .and_then(|m| m.files.get("MODULE.bazel"))
    }
}
