//! Schema generator: evaluates the rule sets' real `.bzl` files (read from git mirrors at the
//! pinned tags) with Starlark stubs for Bazel's own builtins, and records every public rule,
//! macro, module extension and its attributes. The output is committed; the sources are not.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{Arguments, Evaluator, ReturnFileLoader};
use starlark::syntax::AstModule;
use starlark::values::dict::DictRef;
use starlark::values::{FrozenHeapName, Value, ValueLike};

use crate::ast_util::{DefInfo, top_level_defs};
use crate::schema::{Attr, FileSchema, ModuleSchema, Symbol, SymbolKind, common_rule_attrs};
use crate::values::{AttrSpec, Builtin, Decl, Host, HostBox, LabelValue, SelectValue, to_json};

/// One entry of `schema/gen/modules.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModuleSource {
    pub module: String,
    pub version: String,
    /// `owner/name` on GitHub; the mirror lives at `<mirrors>/<owner>+<name>/repo`.
    pub repo: String,
    /// Git ref to read (the release tag when it exists).
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default = "yes")]
    pub exact: bool,
    /// Module root inside the repository (`extensions/prost` for rules_rust_prost).
    #[serde(default)]
    pub subdir: String,
    /// Path prefixes (inside the module) whose public `.bzl` files are recorded.
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Other apparent repo names this module is known by (`com_google_protobuf`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Names Bazel predeclares in `.bzl` files. Those with meaning get real stubs in `GenHost`;
/// the rest are opaque.
pub const BZL_GLOBALS: &[&str] = &[
    "rule",
    "macro",
    "aspect",
    "attr",
    "provider",
    "repository_rule",
    "module_extension",
    "tag_class",
    "transition",
    "analysis_test_transition",
    "subrule",
    "exec_group",
    "exec_transition",
    "config",
    "config_common",
    "configuration_field",
    "platform_common",
    "cc_common",
    "apple_common",
    "java_common",
    "coverage_common",
    "testing",
    "proto_common_do_not_use",
    "DefaultInfo",
    "OutputGroupInfo",
    "RunEnvironmentInfo",
    "InstrumentedFilesInfo",
    "CcInfo",
    "CcToolchainConfigInfo",
    "DebugPackageInfo",
    "ProtoInfo",
    "PyInfo",
    "PyRuntimeInfo",
    "JavaInfo",
    "JavaPluginInfo",
    "CcSharedLibraryInfo",
    "CcSharedLibraryHintInfo",
    "PackageSpecificationInfo",
    "ObjcProvider",
    "AnalysisTestResultInfo",
    "Actions",
    "native",
    "depset",
    "select",
    "Label",
    "visibility",
    "proto",
    "json_decode",
    "set",
    "bazel_features",
    "TemplateVariableInfo",
    "ToolchainInfo",
    "ConstraintValueInfo",
    "FeatureFlagInfo",
    "apple_toolchain",
    "py_internal",
    "cc_internal",
    "builtins",
    "struct",
    "to_json",
    "repo_metadata",
    "_builtins",
    "AnalysisFailureInfo",
    "OutputGroupInfo",
    "RunEnvironmentInfo",
    "CcToolchainInfo",
    "DeclaredToolchainInfo",
    "TemplateVariableInfo",
];

pub struct GenConfig {
    pub mirrors: PathBuf,
    pub sources: Vec<ModuleSource>,
}

pub fn load_config(path: &Path, mirrors: &Path) -> anyhow::Result<GenConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let sources: Vec<ModuleSource> = serde_json::from_str(&text)?;
    Ok(GenConfig {
        mirrors: mirrors.to_owned(),
        sources,
    })
}

#[derive(Debug, Clone)]
struct DeclInfo {
    kind: SymbolKind,
    attrs: BTreeMap<String, Attr>,
    test: bool,
    executable: bool,
    source: String,
    tag_classes: Vec<(String, usize)>,
    /// The name it was exported as.
    name: Option<String>,
}

#[derive(Default)]
struct GenState {
    decls: Vec<DeclInfo>,
    current_file: String,
}

struct GenHost {
    state: RefCell<GenState>,
}

impl GenHost {
    fn new_decl(&self, d: DeclInfo) -> usize {
        let mut st = self.state.borrow_mut();
        st.decls.push(d);
        st.decls.len() - 1
    }
}

fn kw<'v>(args: &Arguments<'v, '_>) -> starlark::Result<HashMap<String, Value<'v>>> {
    Ok(args
        .names_map()?
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), v))
        .collect())
}

fn attrs_from_dict(v: Option<&Value>) -> BTreeMap<String, Attr> {
    let mut out = BTreeMap::new();
    if let Some(d) = v.and_then(|v| DictRef::from_value(*v)) {
        for (k, val) in d.iter() {
            let Some(name) = k.unpack_str() else { continue };
            let attr = match val.downcast_ref::<AttrSpec>() {
                Some(a) => Attr {
                    ty: a.ty.clone(),
                    mandatory: a.mandatory,
                    values: a.values.clone(),
                },
                None => Attr::new("any", false),
            };
            out.insert(name.to_owned(), attr);
        }
    }
    out
}

impl Host for GenHost {
    fn call<'v>(
        &self,
        name: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let loc = eval
            .call_stack_top_location()
            .map(|l| {
                let file = l
                    .filename()
                    .split_once('%')
                    .map(|x| x.1)
                    .unwrap_or(l.filename())
                    .to_owned();
                format!("{}:{}", file, l.resolve_span().begin.line + 1)
            })
            .unwrap_or_default();
        let decl = |kind: SymbolKind, attrs, test, executable, tag_classes| DeclInfo {
            kind,
            attrs,
            test,
            executable,
            source: loc.clone(),
            tag_classes,
            name: None,
        };
        let opaque = || Ok(heap.alloc(Builtin::opaque()));
        match name {
            "rule" | "macro" | "repository_rule" | "aspect" | "tag_class" => {
                let k = kw(args)?;
                let attrs = attrs_from_dict(k.get("attrs"));
                let flag = |n: &str| k.get(n).and_then(|v| v.unpack_bool()).unwrap_or(false);
                let kind = match name {
                    "rule" => SymbolKind::Rule,
                    "macro" => SymbolKind::SymbolicMacro,
                    "repository_rule" => SymbolKind::RepositoryRule,
                    "aspect" => SymbolKind::Aspect,
                    _ => SymbolKind::Value,
                };
                let mut attrs = attrs;
                // Build settings get `build_setting_default` from Bazel itself.
                if k.get("build_setting").is_some_and(|v| !v.is_none()) {
                    attrs.insert("build_setting_default".into(), Attr::new("any", true));
                }
                let id = self.new_decl(decl(kind, attrs, flag("test"), flag("executable"), vec![]));
                Ok(heap.alloc(Decl { id }))
            }
            "module_extension" => {
                let k = kw(args)?;
                let mut tags = Vec::new();
                if let Some(d) = k.get("tag_classes").and_then(|v| DictRef::from_value(*v)) {
                    for (tk, tv) in d.iter() {
                        if let (Some(n), Some(dc)) = (tk.unpack_str(), tv.downcast_ref::<Decl>()) {
                            tags.push((n.to_owned(), dc.id));
                        }
                    }
                }
                let id = self.new_decl(decl(
                    SymbolKind::ModuleExtension,
                    BTreeMap::new(),
                    false,
                    false,
                    tags,
                ));
                Ok(heap.alloc(Decl { id }))
            }
            "provider" => {
                let k = kw(args)?;
                let id = self.new_decl(decl(
                    SymbolKind::Provider,
                    BTreeMap::new(),
                    false,
                    false,
                    vec![],
                ));
                let p = heap.alloc(Decl { id });
                if k.contains_key("init") {
                    Ok(heap.alloc((p, heap.alloc(Builtin::opaque()))))
                } else {
                    Ok(p)
                }
            }
            "Label" => {
                let [x] = args.positional(heap)?;
                Ok(heap.alloc(LabelValue {
                    label: x
                        .unpack_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| x.to_str()),
                }))
            }
            "select" => {
                let [x] = args.positional::<1>(heap).or_else(|_| {
                    args.positions(heap)
                        .map(|mut it| [it.next().unwrap_or(Value::new_none())])
                })?;
                Ok(heap.alloc(SelectValue {
                    parts: vec![serde_json::json!({ "$select": to_json(x) }).to_string()],
                }))
            }
            "visibility" => Ok(Value::new_none()),
            n if n.starts_with("attr.") => {
                let ty = n.trim_start_matches("attr.").to_owned();
                let k = kw(args)?;
                let mandatory = k
                    .get("mandatory")
                    .and_then(|v| v.unpack_bool())
                    .unwrap_or(false);
                let default = k.get("default").map(|v| v.to_repr());
                let values = k
                    .get("values")
                    .and_then(|v| starlark::values::list::ListRef::from_value(*v))
                    .map(|l| l.iter().map(|x| x.to_str()).collect())
                    .unwrap_or_default();
                Ok(heap.alloc(AttrSpec {
                    ty,
                    mandatory,
                    default,
                    values,
                }))
            }
            _ => opaque(),
        }
    }

    fn export(&self, id: usize, name: &str) {
        let mut st = self.state.borrow_mut();
        if let Some(d) = st.decls.get_mut(id)
            && d.name.is_none()
        {
            d.name = Some(name.to_owned());
        }
    }
}

fn bzl_globals() -> Globals {
    let mut b = GlobalsBuilder::extended_by(&[
        LibraryExtension::StructType,
        LibraryExtension::Json,
        LibraryExtension::Print,
        LibraryExtension::Map,
        LibraryExtension::Filter,
        LibraryExtension::Partial,
        LibraryExtension::Typing,
    ]);
    for n in BZL_GLOBALS {
        if *n == "struct" {
            continue;
        }
        b.set(n, Builtin::new(*n));
    }
    b.build()
}

pub fn bazel_dialect() -> starlark::syntax::Dialect {
    starlark::syntax::Dialect {
        enable_def: true,
        enable_lambda: true,
        enable_load: true,
        enable_keyword_only_arguments: true,
        enable_positional_only_arguments: false,
        enable_types: starlark::syntax::DialectTypes::Disable,
        enable_load_reexport: false,
        enable_top_level_stmt: true,
        enable_f_strings: false,
        ..starlark::syntax::Dialect::Extended
    }
}

struct FileResult {
    frozen: Option<FrozenModule>,
    defs: Vec<DefInfo>,
    error: Option<String>,
}

struct Generator<'a> {
    cfg: &'a GenConfig,
    /// apparent repo name → index into `cfg.sources`.
    repos: HashMap<String, usize>,
    files: HashMap<String, FileResult>,
    /// Identity of a frozen function value → (`module%path`, def name).
    functions: HashMap<usize, (String, String)>,
    host: &'a HostBox,
    globals: Globals,
    loading: HashSet<String>,
}

fn git_dir(cfg: &GenConfig, src: &ModuleSource) -> PathBuf {
    cfg.mirrors.join(src.repo.replace('/', "+")).join("repo")
}

fn git_show(dir: &Path, git_ref: &str, path: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(["show", &format!("{git_ref}:{path}")])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_ls(dir: &Path, git_ref: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(dir)
        .args(["ls-tree", "-r", "--name-only", git_ref]);
    if !prefix.is_empty() {
        cmd.arg("--").arg(prefix);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        bail!(
            "git ls-tree {git_ref} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn opaque_module(symbols: &[String]) -> FrozenModule {
    Module::with_temp_heap(|m| {
        for s in symbols {
            m.set(s, m.heap().alloc(Builtin::opaque()));
        }
        m.freeze()
            .expect("freezing a module of opaque values cannot fail")
    })
}

impl<'a> Generator<'a> {
    /// Resolves a load string seen in `from` (`module_index%path`) to `module_index%path`.
    fn resolve(&self, from_mod: usize, from_path: &str, load: &str) -> Option<(usize, String)> {
        let (repo, rest) = if let Some(r) = load.strip_prefix('@') {
            let r = r.trim_start_matches('@');
            let i = r.find("//")?;
            (Some(&r[..i]), &r[i + 2..])
        } else if let Some(r) = load.strip_prefix("//") {
            (None, r)
        } else {
            // `:file.bzl` relative to the current package.
            let pkg = from_path.rsplit_once('/').map(|x| x.0).unwrap_or("");
            let name = load.trim_start_matches(':');
            let p = if pkg.is_empty() {
                name.to_owned()
            } else {
                format!("{pkg}/{name}")
            };
            return Some((from_mod, p));
        };
        let m = match repo {
            None | Some("") => from_mod,
            Some(r) => *self.repos.get(r)?,
        };
        let (pkg, name) = rest.split_once(':').unwrap_or(("", rest));
        let p = if pkg.is_empty() {
            name.to_owned()
        } else {
            format!("{pkg}/{name}")
        };
        Some((m, p))
    }

    fn key(&self, m: usize, path: &str) -> String {
        format!("{}%{}", self.cfg.sources[m].module, path)
    }

    fn eval_file(&mut self, m: usize, path: &str) -> &FileResult {
        let key = self.key(m, path);
        if self.files.contains_key(&key) {
            return &self.files[&key];
        }
        let result = self.eval_file_uncached(m, path, &key);
        self.files.insert(key.clone(), result);
        &self.files[&key]
    }

    fn eval_file_uncached(&mut self, m: usize, path: &str, key: &str) -> FileResult {
        let src = &self.cfg.sources[m];
        let full = if src.subdir.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{}", src.subdir, path)
        };
        let fail = |e: String| FileResult {
            frozen: None,
            defs: vec![],
            error: Some(e),
        };
        let Some(text) = git_show(&git_dir(self.cfg, src), &src.git_ref, &full) else {
            return fail(format!("{full} not found at {}", src.git_ref));
        };
        let ast = match AstModule::parse(key, text, &bazel_dialect()) {
            Ok(a) => a,
            Err(e) => return fail(format!("parse: {e}")),
        };
        let defs = top_level_defs(&ast);
        if !self.loading.insert(key.to_owned()) {
            return fail("load cycle".into());
        }
        let mut loaded: Vec<(String, FrozenModule)> = Vec::new();
        for l in ast.loads() {
            let wanted: Vec<String> = l.symbols.values().map(|s| s.to_string()).collect();
            let module = match self.resolve(m, path, l.module_id) {
                Some((lm, lp)) => {
                    let r = self.eval_file(lm, &lp);
                    match &r.frozen {
                        Some(f)
                            if wanted
                                .iter()
                                .all(|w| f.get_option(w).ok().flatten().is_some()) =>
                        {
                            f.clone()
                        }
                        _ => opaque_module(&wanted),
                    }
                }
                None => opaque_module(&wanted),
            };
            loaded.push((l.module_id.to_owned(), module));
        }
        self.loading.remove(key);
        let modules: HashMap<&str, &FrozenModule> =
            loaded.iter().map(|(a, b)| (a.as_str(), b)).collect();
        let loader = ReturnFileLoader { modules: &modules };
        self.host_state().current_file = key.to_owned();
        let globals = &self.globals;
        let host = self.host;
        let res: Result<FrozenModule, String> = Module::with_temp_heap(|module| {
            {
                let mut eval = Evaluator::new(&module);
                eval.set_loader(&loader);
                eval.extra = Some(host);
                eval.set_print_handler(&QuietPrint);
                eval.eval_module(ast, globals).map_err(|e| e.to_string())?;
            }
            module
                .freeze_named(FrozenHeapName::User(Box::new(key.to_owned())))
                .map_err(|e| format!("{e:?}"))
        });
        match res {
            Ok(frozen) => {
                for d in &defs {
                    if let Ok(Some(v)) = frozen.get_any_visibility(&d.name).map(Some) {
                        let id = v.0.value().ptr_value_raw();
                        self.functions.insert(id, (key.to_owned(), d.name.clone()));
                    }
                }
                FileResult {
                    frozen: Some(frozen),
                    defs,
                    error: None,
                }
            }
            Err(e) => FileResult {
                frozen: None,
                defs,
                error: Some(first_line(&e)),
            },
        }
    }

    fn host_state(&self) -> std::cell::RefMut<'_, GenState> {
        let h: &dyn std::any::Any = &*self.host.0;
        h.downcast_ref::<GenHost>()
            .expect("the generator always installs a GenHost")
            .state
            .borrow_mut()
    }

    fn decls(&self) -> Vec<DeclInfo> {
        self.host_state().decls.clone()
    }

    /// Symbol for a value exported from file `key`.
    fn symbol_for(
        &self,
        key: &str,
        value: Value,
        decls: &[DeclInfo],
        seen: &mut HashSet<String>,
    ) -> Symbol {
        if let Some(d) = value.downcast_ref::<Decl>() {
            let info = &decls[d.id];
            let mut attrs: BTreeMap<String, Attr> = info
                .attrs
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if matches!(info.kind, SymbolKind::Rule | SymbolKind::SymbolicMacro) {
                for (k, v) in common_rule_attrs(info.test, info.executable) {
                    attrs.entry(k).or_insert(v);
                }
            }
            if info.kind == SymbolKind::RepositoryRule {
                attrs
                    .entry("name".into())
                    .or_insert(Attr::new("string", true));
            }
            let tag_classes = info
                .tag_classes
                .iter()
                .map(|(n, id)| {
                    let a = decls[*id]
                        .attrs
                        .iter()
                        .filter(|(k, _)| !k.starts_with('_'))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (n.clone(), a)
                })
                .collect();
            return Symbol {
                kind: info.kind,
                source: info.source.clone(),
                attrs,
                open: false,
                test: info.test,
                executable: info.executable,
                forwards_to: vec![],
                tag_classes,
            };
        }
        if value.get_type() == "function"
            && let Some((file, def)) = self.functions.get(&value.ptr_value_raw())
        {
            return self.macro_symbol(file, def, decls, seen);
        }
        let _ = key;
        Symbol {
            kind: SymbolKind::Value,
            source: String::new(),
            attrs: BTreeMap::new(),
            open: true,
            test: false,
            executable: false,
            forwards_to: vec![],
            tag_classes: BTreeMap::new(),
        }
    }

    fn macro_symbol(
        &self,
        file: &str,
        def: &str,
        decls: &[DeclInfo],
        seen: &mut HashSet<String>,
    ) -> Symbol {
        let fr = &self.files[file];
        let info = fr
            .defs
            .iter()
            .find(|d| d.name == def)
            .cloned()
            .unwrap_or_default();
        let path = file.split_once('%').map(|x| x.1).unwrap_or(file);
        let mut sym = Symbol {
            kind: SymbolKind::Macro,
            source: format!("{}:{}", path, info.line),
            attrs: BTreeMap::new(),
            open: false,
            test: false,
            executable: false,
            forwards_to: vec![],
            tag_classes: BTreeMap::new(),
        };
        let key = format!("{file}#{def}");
        if !seen.insert(key.clone()) {
            sym.open = true;
            return sym;
        }
        if info.has_kwargs {
            let frozen = fr.frozen.as_ref();
            let mut resolved_any = false;
            for callee in &info.forwards {
                let v = if callee.contains('.') {
                    None
                } else {
                    frozen
                        .and_then(|f| f.get_any_visibility(callee).ok())
                        .map(|x| x.0)
                };
                let Some(v) = v else {
                    sym.open = true;
                    continue;
                };
                let inner = self.symbol_for(file, v.value(), decls, seen);
                match inner.kind {
                    SymbolKind::Rule | SymbolKind::Macro | SymbolKind::SymbolicMacro => {
                        resolved_any = true;
                        sym.open |= inner.open;
                        sym.test |= inner.test;
                        sym.executable |= inner.executable;
                        sym.forwards_to.push(inner.source.clone());
                        for (k, mut a) in inner.attrs {
                            // The macro may fill mandatory attributes itself.
                            a.mandatory = false;
                            sym.attrs.entry(k).or_insert(a);
                        }
                    }
                    _ => sym.open = true,
                }
            }
            if !resolved_any {
                sym.open = true;
            }
        }
        for (n, a) in &info.params {
            sym.attrs.insert(n.clone(), a.clone());
        }
        seen.remove(&key);
        sym
    }
}

struct QuietPrint;
impl starlark::PrintHandler for QuietPrint {
    fn println(&self, _text: &str) -> starlark::Result<()> {
        Ok(())
    }
}

fn first_line(s: &str) -> String {
    s.lines().take(3).collect::<Vec<_>>().join(" | ")
}

fn is_public_path(path: &str, src: &ModuleSource) -> bool {
    const HIDDEN: &[&str] = &[
        "private",
        "internal",
        "test",
        "tests",
        "e2e",
        "examples",
        "docs",
        "3rdparty",
        "testdata",
        "test_data",
        ".bcr",
        "third_party",
    ];
    if !path.ends_with(".bzl") {
        return false;
    }
    if path.split('/').any(|c| HIDDEN.contains(&c)) {
        return false;
    }
    if !src.include.is_empty() && !src.include.iter().any(|p| path.starts_with(p.as_str())) {
        return false;
    }
    !src.exclude.iter().any(|p| path.starts_with(p.as_str()))
}

/// Generates one schema per configured module.
pub fn generate(cfg: &GenConfig) -> anyhow::Result<Vec<ModuleSchema>> {
    let mut repos = HashMap::new();
    for (i, s) in cfg.sources.iter().enumerate() {
        repos.insert(s.module.clone(), i);
        for a in &s.aliases {
            repos.insert(a.clone(), i);
        }
    }
    let host = HostBox(Box::new(GenHost {
        state: RefCell::new(GenState::default()),
    }));
    let mut g = Generator {
        cfg,
        repos,
        files: HashMap::new(),
        functions: HashMap::new(),
        host: &host,
        globals: bzl_globals(),
        loading: HashSet::new(),
    };
    let mut wanted: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, s) in cfg.sources.iter().enumerate() {
        let dir = git_dir(cfg, s);
        let all = git_ls(&dir, &s.git_ref, &s.subdir)?;
        let strip = if s.subdir.is_empty() {
            String::new()
        } else {
            format!("{}/", s.subdir)
        };
        let files: Vec<String> = all
            .iter()
            .filter_map(|p| p.strip_prefix(strip.as_str()).map(str::to_owned))
            .filter(|p| is_public_path(p, s))
            .collect();
        for f in &files {
            g.eval_file(i, f);
        }
        wanted.push((i, files));
    }
    let decls = g.decls();
    let mut out = Vec::new();
    for (i, files) in wanted {
        let s = &cfg.sources[i];
        let mut schema = ModuleSchema {
            module: s.module.clone(),
            version: s.version.clone(),
            source_repo: format!("github.com/{}", s.repo),
            source_ref: s.git_ref.clone(),
            exact: s.exact,
            files: BTreeMap::new(),
            errors: BTreeMap::new(),
        };
        for f in files {
            let key = g.key(i, &f);
            let r = &g.files[&key];
            if let Some(e) = &r.error {
                schema.errors.insert(f.clone(), e.clone());
            }
            let mut fs = FileSchema::default();
            if let Some(frozen) = &r.frozen {
                let names: Vec<String> = frozen.names().map(|n| n.as_str().to_owned()).collect();
                for n in names {
                    if n.starts_with('_') {
                        continue;
                    }
                    let Ok(v) = frozen.get(&n) else { continue };
                    let mut seen = HashSet::new();
                    let sym = g.symbol_for(&key, v.value(), &decls, &mut seen);
                    fs.symbols.insert(n, sym);
                }
            } else {
                // Unparseable or failing files still name their top-level defs and assignments.
                for d in &r.defs {
                    if !d.name.starts_with('_') {
                        let mut seen = HashSet::new();
                        let mut sym = g.macro_symbol(&key, &d.name, &decls, &mut seen);
                        sym.open = true;
                        fs.symbols.insert(d.name.clone(), sym);
                    }
                }
            }
            schema.files.insert(f, fs);
        }
        out.push(schema);
    }
    Ok(out)
}

trait PtrRaw {
    fn ptr_value_raw(&self) -> usize;
}

impl PtrRaw for Value<'_> {
    fn ptr_value_raw(&self) -> usize {
        // Frozen values never move, so their address identifies them for the whole run.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        use std::hash::{Hash, Hasher};
        self.identity().hash(&mut h);
        h.finish() as usize
    }
}
