//! Bazel's own builtins for the schema: native BUILD rules and functions, and MODULE.bazel
//! functions. Bazel is Java and cannot be evaluated here, so this table is curated from the
//! Build Encyclopedia and `ModuleFileGlobals` for Bazel 8.x and written into
//! `schema/bazel@8.7.0.json` by `gen-schema` (marked `exact: false`).

use std::collections::BTreeMap;

use crate::schema::{Attr, FileSchema, ModuleSchema, Symbol, SymbolKind, common_rule_attrs};

type Spec = &'static [(&'static str, &'static str, bool)];

fn sym(kind: SymbolKind, source: &str, spec: Spec, rule: bool, test: bool) -> Symbol {
    let mut attrs: BTreeMap<String, Attr> = if rule {
        common_rule_attrs(test, false)
    } else {
        BTreeMap::new()
    };
    for (n, t, m) in spec {
        attrs.insert((*n).to_owned(), Attr::new(t, *m));
    }
    Symbol {
        kind,
        source: source.to_owned(),
        attrs,
        open: false,
        test,
        executable: false,
        forwards_to: vec![],
        tag_classes: BTreeMap::new(),
    }
}

const BUILD_RULES: &[(&str, Spec)] = &[
    (
        "filegroup",
        &[
            ("srcs", "label_list", false),
            ("data", "label_list", false),
            ("output_group", "string", false),
        ],
    ),
    ("alias", &[("actual", "label", true)]),
    ("test_suite", &[("tests", "label_list", false)]),
    (
        "genrule",
        &[
            ("srcs", "label_list", false),
            ("outs", "output_list", true),
            ("cmd", "string", false),
            ("cmd_bash", "string", false),
            ("cmd_bat", "string", false),
            ("cmd_ps", "string", false),
            ("tools", "label_list", false),
            ("toolchains", "label_list", false),
            ("executable", "bool", false),
            ("local", "bool", false),
            ("message", "string", false),
            ("output_to_bindir", "bool", false),
            ("stamp", "int", false),
        ],
    ),
    (
        "config_setting",
        &[
            ("values", "string_dict", false),
            ("define_values", "string_dict", false),
            ("flag_values", "label_keyed_string_dict", false),
            ("constraint_values", "label_list", false),
        ],
    ),
    (
        "platform",
        &[
            ("constraint_values", "label_list", false),
            ("parents", "label_list", false),
            ("exec_properties", "string_dict", false),
            ("flags", "string_list", false),
            ("remote_execution_properties", "string", false),
            ("required_settings", "label_list", false),
            ("missing_toolchain_error", "string", false),
            ("check_toolchain_types", "bool", false),
            ("allowed_toolchain_types", "label_list", false),
        ],
    ),
    (
        "constraint_setting",
        &[("default_constraint_value", "label", false)],
    ),
    ("constraint_value", &[("constraint_setting", "label", true)]),
    (
        "toolchain",
        &[
            ("toolchain", "label", true),
            ("toolchain_type", "label", true),
            ("exec_compatible_with", "label_list", false),
            ("target_compatible_with", "label_list", false),
            ("target_settings", "label_list", false),
            ("use_target_platform_constraints", "bool", false),
        ],
    ),
    ("toolchain_type", &[("no_match_error", "string", false)]),
    (
        "package_group",
        &[
            ("packages", "string_list", false),
            ("includes", "label_list", false),
        ],
    ),
    ("label_flag", &[("build_setting_default", "label", true)]),
    ("label_setting", &[("build_setting_default", "label", true)]),
    (
        "environment_group",
        &[
            ("environments", "label_list", true),
            ("defaults", "label_list", true),
        ],
    ),
];

const BUILD_FUNCTIONS: &[(&str, Spec)] = &[
    (
        "exports_files",
        &[
            ("srcs", "string_list", true),
            ("visibility", "label_list", false),
            ("licenses", "string_list", false),
        ],
    ),
    (
        "package",
        &[
            ("default_visibility", "label_list", false),
            ("default_testonly", "bool", false),
            ("default_deprecation", "string", false),
            ("features", "string_list", false),
            ("default_applicable_licenses", "label_list", false),
            ("default_package_metadata", "label_list", false),
            ("default_compatible_with", "label_list", false),
            ("default_restricted_to", "label_list", false),
        ],
    ),
    (
        "glob",
        &[
            ("include", "string_list", false),
            ("exclude", "string_list", false),
            ("exclude_directories", "int", false),
            ("allow_empty", "bool", false),
        ],
    ),
    (
        "select",
        &[("x", "any", true), ("no_match_error", "string", false)],
    ),
    ("licenses", &[("license_types", "string_list", true)]),
    ("package_name", &[]),
    ("repo_name", &[]),
    ("repository_name", &[]),
    ("module_name", &[]),
    ("module_version", &[]),
    ("existing_rule", &[("name", "string", true)]),
    ("existing_rules", &[]),
    (
        "subpackages",
        &[
            ("include", "string_list", true),
            ("exclude", "string_list", false),
            ("allow_empty", "bool", false),
        ],
    ),
    ("package_relative_label", &[("input", "any", true)]),
];

const MODULE_FUNCTIONS: &[(&str, Spec)] = &[
    (
        "module",
        &[
            ("name", "string", false),
            ("version", "string", false),
            ("compatibility_level", "int", false),
            ("repo_name", "string", false),
            ("bazel_compatibility", "string_list", false),
            ("max_compatibility_level", "int", false),
        ],
    ),
    (
        "bazel_dep",
        &[
            ("name", "string", true),
            ("version", "string", false),
            ("max_compatibility_level", "int", false),
            ("repo_name", "string", false),
            ("dev_dependency", "bool", false),
        ],
    ),
    (
        "use_extension",
        &[
            ("extension_bzl_file", "string", true),
            ("extension_name", "string", true),
            ("dev_dependency", "bool", false),
            ("isolate", "bool", false),
        ],
    ),
    ("use_repo", &[("extension_proxy", "any", true)]),
    (
        "use_repo_rule",
        &[
            ("repo_rule_bzl_file", "string", true),
            ("repo_rule_name", "string", true),
        ],
    ),
    ("register_toolchains", &[("dev_dependency", "bool", false)]),
    (
        "register_execution_platforms",
        &[("dev_dependency", "bool", false)],
    ),
    ("include", &[("label", "string", true)]),
    ("inject_repo", &[("extension_proxy", "any", true)]),
    ("override_repo", &[("extension_proxy", "any", true)]),
    (
        "single_version_override",
        &[
            ("module_name", "string", true),
            ("version", "string", false),
            ("registry", "string", false),
            ("patches", "string_list", false),
            ("patch_cmds", "string_list", false),
            ("patch_strip", "int", false),
        ],
    ),
    (
        "multiple_version_override",
        &[
            ("module_name", "string", true),
            ("versions", "string_list", true),
            ("registry", "string", false),
        ],
    ),
    (
        "archive_override",
        &[
            ("module_name", "string", true),
            ("urls", "any", true),
            ("integrity", "string", false),
            ("strip_prefix", "string", false),
            ("patches", "string_list", false),
            ("patch_cmds", "string_list", false),
            ("patch_strip", "int", false),
        ],
    ),
    (
        "git_override",
        &[
            ("module_name", "string", true),
            ("remote", "string", true),
            ("commit", "string", false),
            ("tag", "string", false),
            ("branch", "string", false),
            ("patches", "string_list", false),
            ("patch_cmds", "string_list", false),
            ("patch_strip", "int", false),
            ("init_submodules", "bool", false),
            ("strip_prefix", "string", false),
        ],
    ),
    (
        "local_path_override",
        &[("module_name", "string", true), ("path", "string", true)],
    ),
    (
        "flag_alias",
        &[("name", "string", true), ("starlark_flag", "string", true)],
    ),
];

pub fn bazel_schema() -> ModuleSchema {
    let src = "Bazel 8.x Build Encyclopedia / ModuleFileGlobals (curated)";
    let mut build = FileSchema::default();
    for (n, spec) in BUILD_RULES {
        let test = *n == "test_suite";
        build.symbols.insert(
            (*n).to_owned(),
            sym(SymbolKind::Rule, src, spec, true, test),
        );
    }
    for (n, spec) in BUILD_FUNCTIONS {
        build.symbols.insert(
            (*n).to_owned(),
            sym(SymbolKind::Value, src, spec, false, false),
        );
    }
    let mut module = FileSchema::default();
    for (n, spec) in MODULE_FUNCTIONS {
        module.symbols.insert(
            (*n).to_owned(),
            sym(SymbolKind::Value, src, spec, false, false),
        );
    }
    let mut files = BTreeMap::new();
    files.insert("BUILD".to_owned(), build);
    files.insert("MODULE.bazel".to_owned(), module);
    ModuleSchema {
        module: "bazel".into(),
        version: "8.7.0".into(),
        source_repo: "github.com/bazelbuild/bazel".into(),
        source_ref: "curated".into(),
        exact: false,
        files,
        errors: BTreeMap::new(),
    }
}
