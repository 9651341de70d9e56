//! Evaluates MODULE.bazel (with its `include()`d segments), every BUILD file and the repo's own
//! `.bzl` files with the starlark interpreter. External symbols are stubs built from the schema;
//! repo-local macros run for real, so targets they create are checked like any other.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{Arguments, Evaluator, ReturnFileLoader};
use starlark::syntax::AstModule;
use starlark::values::dict::AllocDict;
use starlark::values::list::ListRef;
use starlark::values::{FrozenHeapName, Value, ValueLike};

use crate::cargo::CargoInfo;
use crate::label::Label;
use crate::model::{BazelDep, ExtensionUse, Finding, Graph, Package, Target};
use crate::schema::{Attr, SchemaSet, Symbol, SymbolKind};
use crate::schemagen::bazel_dialect;
use crate::values::{Builtin, Host, HostBox, LabelValue, SelectValue, to_json};

pub struct CheckHost {
    pub root: PathBuf,
    pub schemas: SchemaSet,
    pub cargo: Option<CargoInfo>,
    pub state: RefCell<State>,
    bzl_cache: RefCell<HashMap<String, Option<FrozenModule>>>,
    /// Directories Bazel never looks into (`.bazelignore`, REPO.bazel `ignore_directories`).
    pub ignored: Vec<String>,
    /// crate_universe hubs rendered by cargo-bazel (`render-hubs.sh`): `<hubs>/<hub>/<hub>/`
    /// holds the hub repository's real `defs.bzl` and `BUILD.bazel`.
    pub hubs: Option<PathBuf>,
    hub_cache: RefCell<HashMap<String, Option<FrozenModule>>>,
    hub_target_cache: RefCell<HashMap<String, Option<BTreeSet<String>>>>,
}

#[derive(Default)]
pub struct State {
    pub graph: Graph,
    /// Package being evaluated and its BUILD file (relative paths).
    pub package: String,
    pub build_file: String,
    /// File being evaluated as MODULE.bazel or a segment.
    pub module_file: String,
}

fn finding(file: &str, line: usize, check: &'static str, msg: String) -> Finding {
    Finding {
        file: file.to_owned(),
        line,
        check,
        msg,
    }
}

/// Closest candidate by edit distance, for "did you mean" hints.
pub fn closest<'a>(
    word: &str,
    options: impl IntoIterator<Item = &'a String>,
) -> Option<&'a String> {
    fn dist(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let v = (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1);
                cur.push(v);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    options
        .into_iter()
        .map(|o| (dist(word, o), o))
        .filter(|(d, o)| *d <= 3.max(o.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|x| x.1)
}

fn kwargs<'v>(args: &Arguments<'v, '_>) -> starlark::Result<Vec<(String, Value<'v>)>> {
    Ok(args
        .names_map()?
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), v))
        .collect())
}

fn strings_of(v: Value) -> Vec<String> {
    if let Some(s) = v.unpack_str() {
        return vec![s.to_owned()];
    }
    ListRef::from_value(v)
        .map(|l| {
            l.iter()
                .filter_map(|x| x.unpack_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Does a JSON attribute value fit a schema type? `None` = unset, selects check every branch.
pub fn type_ok(ty: &str, v: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    if v.is_null() {
        return true;
    }
    if let J::Object(m) = v {
        if m.contains_key("$opaque") {
            return true;
        }
        if let Some(sel) = m.get("$select") {
            let parts: Vec<&J> = match sel {
                J::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            return parts.iter().all(|p| match p {
                J::Object(pm) if pm.contains_key("$select") => match pm.get("$select") {
                    Some(J::Object(br)) => br.values().all(|b| type_ok(ty, b)),
                    _ => true,
                },
                other => type_ok(ty, other),
            });
        }
    }
    let all = |f: &dyn Fn(&J) -> bool| match v {
        J::Array(a) => a.iter().all(|x| f(x) || x.get("$opaque").is_some()),
        _ => false,
    };
    let is_str = |x: &J| x.is_string();
    match ty {
        "string" | "label" | "output" | "dormant_label" => v.is_string(),
        "int" => v.is_i64() || v.is_u64(),
        "bool" => v.is_boolean() || v.as_i64().is_some_and(|i| i == 0 || i == 1),
        "label_list" | "string_list" | "output_list" | "dormant_label_list" => all(&is_str),
        "int_list" => all(&|x: &J| x.is_i64()),
        "string_dict" | "label_keyed_string_dict" | "string_keyed_label_dict" => match v {
            J::Object(m) => m
                .values()
                .all(|x| x.is_string() || x.get("$opaque").is_some()),
            _ => false,
        },
        "string_list_dict" | "label_list_dict" => v.is_object(),
        // Macro parameters: the type of their default.
        "list" => v.is_array(),
        "dict" => v.is_object(),
        _ => true,
    }
}

fn type_hint(ty: &str) -> &'static str {
    match ty {
        "string" | "label" | "output" => "a string",
        "int" => "an int",
        "bool" => "True or False",
        "label_list" | "string_list" | "output_list" => "a list of strings",
        "int_list" => "a list of ints",
        "list" => "a list",
        "string_dict" | "label_keyed_string_dict" | "string_keyed_label_dict" => {
            "a dict of strings"
        }
        "dict" | "string_list_dict" | "label_list_dict" => "a dict",
        _ => "another type",
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value as J;
    match v {
        J::Null => "None",
        J::Bool(_) => "bool",
        J::Number(_) => "int",
        J::String(_) => "string",
        J::Array(_) => "list",
        J::Object(_) => "dict",
    }
}

impl CheckHost {
    pub fn new(
        root: &Path,
        schemas: SchemaSet,
        cargo: Option<CargoInfo>,
        hubs: Option<PathBuf>,
    ) -> CheckHost {
        let mut ignored = vec![".git".to_owned()];
        if let Ok(t) = std::fs::read_to_string(root.join(".bazelignore")) {
            ignored.extend(
                t.lines()
                    .map(|l| l.trim().trim_end_matches('/').to_owned())
                    .filter(|l| !l.is_empty() && !l.starts_with('#')),
            );
        }
        if let Ok(t) = std::fs::read_to_string(root.join("REPO.bazel")) {
            // `ignore_directories(["**/node_modules"])`: we only need the plain names.
            for part in t.split('"').skip(1).step_by(2) {
                ignored.push(part.trim_start_matches("**/").to_owned());
            }
        }
        CheckHost {
            root: root.to_owned(),
            schemas,
            cargo,
            state: RefCell::new(State::default()),
            bzl_cache: RefCell::new(HashMap::new()),
            ignored,
            hubs,
            hub_cache: RefCell::new(HashMap::new()),
            hub_target_cache: RefCell::new(HashMap::new()),
        }
    }

    fn add(&self, f: Finding) {
        self.state.borrow_mut().graph.findings.push(f);
    }

    /// Line of the current call in the BUILD/MODULE file being evaluated (the outermost frame
    /// in that file), and the `.bzl` frame that made it, if any.
    fn location(&self, eval: &Evaluator) -> (String, usize, Option<String>) {
        let st = self.state.borrow();
        let file = if st.build_file.is_empty() {
            st.module_file.clone()
        } else {
            st.build_file.clone()
        };
        let stack = eval.call_stack();
        let mut line = 0;
        let mut via = None;
        for fr in &stack.frames {
            if let Some(loc) = &fr.location {
                if loc.filename() == file && line == 0 {
                    line = loc.resolve_span().begin.line + 1;
                } else if loc.filename() != file {
                    via = Some(format!(
                        "{}:{}",
                        loc.filename(),
                        loc.resolve_span().begin.line + 1
                    ));
                }
            }
        }
        if line == 0
            && let Some(loc) = eval.call_stack_top_location()
        {
            line = loc.resolve_span().begin.line + 1;
        }
        (file, line, via)
    }

    fn is_ignored(&self, rel: &str) -> bool {
        // `bazel-*` convenience symlinks only exist at the workspace root.
        rel.starts_with("bazel-") || rel.split('/').any(|c| self.ignored.iter().any(|i| i == c))
    }

    /// Is `dir` (relative) a Bazel package?
    pub fn is_package_dir(&self, dir: &str) -> bool {
        let d = self.root.join(dir);
        d.join("BUILD.bazel").is_file() || d.join("BUILD").is_file()
    }

    /// Bazel `glob()` in the current package: files only, never inside subpackages.
    pub fn glob(&self, package: &str, include: &[String], exclude: &[String]) -> Vec<String> {
        use globset::{GlobBuilder, GlobSetBuilder};
        let build = |pats: &[String]| {
            let mut b = GlobSetBuilder::new();
            for p in pats {
                if let Ok(g) = GlobBuilder::new(p).literal_separator(true).build() {
                    b.add(g);
                }
            }
            b.build().ok()
        };
        let (Some(inc), Some(exc)) = (build(include), build(exclude)) else {
            return vec![];
        };
        let pkg_dir = self.root.join(package);
        let mut out = BTreeSet::new();
        for pat in include {
            // Only walk below the literal prefix of each pattern.
            let lit: Vec<&str> = pat
                .split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '{']))
                .collect();
            let is_whole = lit.len() == pat.split('/').count();
            let start = if is_whole {
                pkg_dir.clone()
            } else {
                pkg_dir.join(lit.join("/"))
            };
            if !start.exists() {
                continue;
            }
            let walker = walkdir::WalkDir::new(&start)
                .follow_links(false)
                .into_iter();
            let root = &self.root;
            for e in walker.filter_entry(|e| {
                if e.path() == start || !e.file_type().is_dir() {
                    return true;
                }
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                !(self.is_ignored(&rel)
                    || e.path().join("BUILD.bazel").is_file()
                    || e.path().join("BUILD").is_file())
            }) {
                let Ok(e) = e else { continue };
                if e.file_type().is_dir() {
                    continue;
                }
                let Ok(rel) = e.path().strip_prefix(&pkg_dir) else {
                    continue;
                };
                let rel = rel.to_string_lossy().replace('\\', "/");
                if inc.is_match(&rel) && !exc.is_match(&rel) {
                    out.insert(rel);
                }
            }
        }
        out.into_iter().collect()
    }

    fn register<'v>(
        &self,
        kind: &str,
        origin: &str,
        symbol: Option<&Symbol>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<()> {
        let (file, line, via) = self.location(eval);
        let via_txt = via
            .map(|v| format!(" (from macro at {v})"))
            .unwrap_or_default();
        let heap = eval.heap();
        if args.positions(heap)?.next().is_some() {
            self.add(finding(
                &file,
                line,
                "attrs",
                format!("{kind}(...) takes keyword arguments only{via_txt}"),
            ));
        }
        let kw = kwargs(args)?;
        let mut attrs = BTreeMap::new();
        for (k, v) in &kw {
            attrs.insert(k.clone(), to_json(*v));
        }
        let Some(name) = attrs
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned)
        else {
            self.add(finding(
                &file,
                line,
                "attrs",
                format!("{kind}(...) is missing `name`{via_txt}"),
            ));
            return Ok(());
        };
        let mut label_attrs = BTreeSet::new();
        let mut test = false;
        if let Some(sym) = symbol {
            test = sym.test;
            let src = self.source_of(origin, sym);
            for (k, v) in &attrs {
                match sym.attrs.get(k) {
                    None if !sym.open => {
                        let hint = closest(k, sym.attrs.keys())
                            .map(|c| format!("did you mean `{c}`?"))
                            .unwrap_or_else(|| "remove it".into());
                        self.add(finding(
                            &file,
                            line,
                            "attrs",
                            format!(
                                "{kind} `{name}`: no attribute `{k}` in {src}; {hint}{via_txt}"
                            ),
                        ));
                    }
                    None => {}
                    Some(a) => {
                        if !type_ok(&a.ty, v) {
                            self.add(finding(&file, line, "attrs", format!(
                                "{kind} `{name}`: attribute `{k}` is {} but must be {} ({} in {src}){via_txt}",
                                json_type(v), type_hint(&a.ty), a.ty)));
                        } else if !a.values.is_empty()
                            && let Some(s) = v.as_str()
                        {
                            let quoted = format!("{s:?}");
                            if !a.values.iter().any(|x| *x == s || *x == quoted) {
                                self.add(finding(&file, line, "attrs", format!(
                                        "{kind} `{name}`: `{k}` = {s:?} is not one of {:?}{via_txt}", a.values)));
                            }
                        }
                        if a.is_label_kind() {
                            label_attrs.insert(k.clone());
                        }
                    }
                }
            }
            for (k, a) in &sym.attrs {
                if a.mandatory && !attrs.contains_key(k) {
                    self.add(finding(&file, line, "attrs", format!(
                        "{kind} `{name}`: mandatory attribute `{k}` is missing ({} in {src}){via_txt}", a.ty)));
                }
            }
        }
        // Untyped values (open macros, local rules): strings that look like labels are labels.
        for (k, v) in &attrs {
            if k == "visibility" || label_attrs.contains(k) {
                continue;
            }
            let typed = symbol
                .and_then(|s| s.attrs.get(k))
                .is_some_and(|a| a.ty != "any");
            if !typed {
                let mut ss = Vec::new();
                crate::model::collect_strings(v, &mut ss);
                if !ss.is_empty()
                    && ss
                        .iter()
                        .all(|s| s.starts_with("//") || s.starts_with(':') || s.starts_with('@'))
                {
                    label_attrs.insert(k.clone());
                }
            }
        }
        label_attrs.remove("visibility");
        let opaque_expansion = symbol.is_none_or(|s| s.kind != SymbolKind::Rule);
        let mut st = self.state.borrow_mut();
        let package = st.package.clone();
        let build_file = st.build_file.clone();
        let pkg = st
            .graph
            .packages
            .entry(package.clone())
            .or_insert_with(|| Package {
                path: package.clone(),
                build_file,
                ..Default::default()
            });
        if let Some(prev) = pkg.targets.get(&name) {
            let msg = format!(
                "duplicate target name `{name}` in package //{package} (first defined at {}:{}); rename one of them{via_txt}",
                prev.file, prev.line
            );
            st.graph
                .findings
                .push(finding(&file, line, "unique-names", msg));
            return Ok(());
        }
        // Declared outputs (`genrule` outs, `js_run_binary` outs, `attr.output*`) are labels too.
        for (k, v) in &attrs {
            let is_output = symbol
                .and_then(|s| s.attrs.get(k))
                .is_some_and(|a| a.ty == "output" || a.ty == "output_list")
                || matches!(
                    k.as_str(),
                    "out" | "outs" | "out_dirs" | "out_file" | "out_dir"
                );
            if is_output && k != "out_file" {
                for o in crate::model::Target::strings_of_json(Some(v)) {
                    pkg.outputs.insert(o);
                }
            }
        }
        pkg.targets.insert(
            name.clone(),
            Target {
                package,
                name,
                kind: kind.to_owned(),
                origin: origin.to_owned(),
                file,
                line,
                attrs,
                label_attrs,
                opaque_expansion,
                test,
            },
        );
        Ok(())
    }

    fn source_of(&self, origin: &str, sym: &Symbol) -> String {
        match self.schemas.modules.get(origin) {
            Some(m) => format!("{}@{} ({})", m.module, m.version, sym.source),
            None => origin.to_owned(),
        }
    }

    /// Schema symbol for `stub:` names.
    fn stub_symbol(&self, module: &str, file: &str, sym: &str) -> Option<&Symbol> {
        self.schemas
            .modules
            .get(module)?
            .files
            .get(file)?
            .symbols
            .get(sym)
    }

    fn builtin_symbol(&self, name: &str) -> Option<&Symbol> {
        self.schemas.builtins()?.symbols.get(name)
    }

    fn module_fn(&self, name: &str) -> Option<&Symbol> {
        self.schemas.module_file_globals()?.symbols.get(name)
    }

    /// Checks the keyword arguments of a non-rule call against a schema entry.
    fn check_call(
        &self,
        what: &str,
        attrs: &BTreeMap<String, Attr>,
        kw: &[(String, Value)],
        open: bool,
        eval: &Evaluator,
        src: &str,
    ) {
        let (file, line, _) = self.location(eval);
        for (k, v) in kw {
            match attrs.get(k) {
                None if !open => {
                    let hint = closest(k, attrs.keys())
                        .map(|c| format!("did you mean `{c}`?"))
                        .unwrap_or_else(|| "remove it".into());
                    self.add(finding(
                        &file,
                        line,
                        "attrs",
                        format!("{what}: no attribute `{k}` in {src}; {hint}"),
                    ));
                }
                Some(a) => {
                    let j = to_json(*v);
                    if !type_ok(&a.ty, &j) {
                        self.add(finding(
                            &file,
                            line,
                            "attrs",
                            format!(
                                "{what}: `{k}` is {} but must be {} ({} in {src})",
                                json_type(&j),
                                type_hint(&a.ty),
                                a.ty
                            ),
                        ));
                    }
                }
                None => {}
            }
        }
        for (k, a) in attrs {
            if a.mandatory && !kw.iter().any(|(n, _)| n == k) {
                self.add(finding(
                    &file,
                    line,
                    "attrs",
                    format!("{what}: mandatory attribute `{k}` is missing ({src})"),
                ));
            }
        }
    }
}

impl Target {
    pub fn strings_of_json(v: Option<&serde_json::Value>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(v) = v {
            crate::model::collect_strings(v, &mut out);
        }
        out
    }
}

impl Host for CheckHost {
    fn call<'v>(
        &self,
        name: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let none = Ok(Value::new_none());
        if let Some(rest) = name.strip_prefix("stub:") {
            let mut it = rest.splitn(3, '|');
            let (m, f, s) = (
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
                it.next().unwrap_or(""),
            );
            let (s, member) = s
                .split_once('.')
                .map(|(a, b)| (a, Some(b)))
                .unwrap_or((s, None));
            let sym = self.stub_symbol(m, f, s).cloned();
            return match (sym, member) {
                (Some(sym), None)
                    if matches!(
                        sym.kind,
                        SymbolKind::Rule | SymbolKind::Macro | SymbolKind::SymbolicMacro
                    ) =>
                {
                    self.register(s, m, Some(&sym), args, eval)?;
                    none
                }
                _ => Ok(heap.alloc(Builtin::opaque())),
            };
        }
        if let Some(rest) = name.strip_prefix("ext:") {
            return self.ext_call(rest, args, eval);
        }
        if let Some(rest) = name.strip_prefix("hub:") {
            return self.hub_call(rest, args, eval);
        }
        if let Some(rest) = name.strip_prefix("gen:") {
            // A symbol of a generated repository (`@npm`): we cannot see its expansion, but
            // anything named creates targets with that prefix.
            if kwargs(args)?.iter().any(|(k, _)| k == "name") {
                self.register(
                    &format!("@{}", rest.replacen('|', ":", 1)),
                    "generated",
                    None,
                    args,
                    eval,
                )?;
                return none;
            }
            return Ok(heap.alloc(Builtin::new(format!("gen:{rest}"))));
        }
        if name == "localrule" {
            self.register("rule", "local", None, args, eval)?;
            return none;
        }
        if let Some(rest) = name.strip_prefix("mod.") {
            return self.module_call(rest, args, eval);
        }
        if let Some(rest) = name.strip_prefix("reporule:") {
            return self.repo_rule_call(rest, args, eval);
        }
        let bare = name.strip_prefix("native.").unwrap_or(name);
        match bare {
            "rule" | "macro" => return Ok(heap.alloc(Builtin::new("localrule"))),
            "provider" => {
                let kw = kwargs(args)?;
                let p = heap.alloc(Builtin::opaque());
                return if kw.iter().any(|(k, _)| k == "init") {
                    Ok(heap.alloc((p, p)))
                } else {
                    Ok(p)
                };
            }
            "Label" => {
                let [x] = args.positional(heap)?;
                return Ok(heap.alloc(LabelValue {
                    label: x
                        .unpack_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| x.to_str()),
                }));
            }
            "select" => {
                let x = args.positions(heap)?.next().unwrap_or(Value::new_none());
                return Ok(heap.alloc(SelectValue {
                    parts: vec![serde_json::json!({ "$select": to_json(x) }).to_string()],
                }));
            }
            "glob" => return self.glob_call(args, eval),
            "package_name" => return Ok(heap.alloc(self.state.borrow().package.clone())),
            "repository_name" => return Ok(heap.alloc("@")),
            "repo_name" => return Ok(heap.alloc("")),
            "module_name" => {
                let n = self
                    .state
                    .borrow()
                    .graph
                    .module
                    .name
                    .clone()
                    .unwrap_or_default();
                return Ok(heap.alloc(n));
            }
            "module_version" => return Ok(heap.alloc("")),
            "package_relative_label" => {
                let [x] = args.positional(heap)?;
                let pkg = self.state.borrow().package.clone();
                let l = Label::parse(x.unpack_str().unwrap_or(""), &pkg)
                    .map(|l| l.to_string())
                    .unwrap_or_default();
                return Ok(heap.alloc(LabelValue { label: l }));
            }
            "existing_rule" => {
                let [x] = args.positional(heap)?;
                let st = self.state.borrow();
                let t = st
                    .graph
                    .packages
                    .get(&st.package)
                    .and_then(|p| p.targets.get(x.unpack_str().unwrap_or("")));
                return Ok(match t {
                    Some(t) => heap.alloc(AllocDict([
                        ("name", t.name.clone()),
                        ("kind", t.kind.clone()),
                    ])),
                    None => Value::new_none(),
                });
            }
            "existing_rules" => {
                let st = self.state.borrow();
                let names: Vec<(String, Value)> = st
                    .graph
                    .packages
                    .get(&st.package)
                    .map(|p| {
                        p.targets
                            .keys()
                            .map(|n| (n.clone(), heap.alloc(AllocDict([("name", n.clone())]))))
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(heap.alloc(AllocDict(names)));
            }
            "subpackages" => return Ok(heap.alloc(Vec::<String>::new())),
            "package" => {
                let kw = kwargs(args)?;
                if let Some(sym) = self.builtin_symbol("package") {
                    self.check_call("package()", &sym.attrs, &kw, false, eval, "Bazel builtins");
                }
                let mut st = self.state.borrow_mut();
                let pkgname = st.package.clone();
                let bf = st.build_file.clone();
                let pkg = st
                    .graph
                    .packages
                    .entry(pkgname.clone())
                    .or_insert_with(|| Package {
                        path: pkgname,
                        build_file: bf,
                        ..Default::default()
                    });
                if let Some((_, v)) = kw.iter().find(|(k, _)| k == "default_visibility") {
                    pkg.default_visibility = Some(strings_of(*v));
                }
                return none;
            }
            "exports_files" => {
                let srcs = args
                    .positions(heap)?
                    .next()
                    .map(strings_of)
                    .unwrap_or_default();
                let (file, line, _) = self.location(eval);
                let mut st = self.state.borrow_mut();
                let pkgname = st.package.clone();
                let bf = st.build_file.clone();
                for s in &srcs {
                    if !self.root.join(&pkgname).join(s).exists() {
                        st.graph.findings.push(finding(
                            &file,
                            line,
                            "labels",
                            format!("exports_files: `{s}` does not exist in //{pkgname}"),
                        ));
                    }
                }
                let pkg = st
                    .graph
                    .packages
                    .entry(pkgname.clone())
                    .or_insert_with(|| Package {
                        path: pkgname,
                        build_file: bf,
                        ..Default::default()
                    });
                pkg.exported_files.extend(srcs);
                return none;
            }
            "licenses" | "visibility" | "print" => return none,
            _ => {}
        }
        if let Some(sym) = self.builtin_symbol(bare)
            && sym.kind == SymbolKind::Rule
        {
            let sym = sym.clone();
            self.register(bare, "bazel", Some(&sym), args, eval)?;
            return none;
        }
        if name.starts_with("native.") {
            let (file, line, _) = self.location(eval);
            self.add(finding(&file, line, "load", format!(
                "`{name}` is not a native rule in Bazel 8 with --incompatible_autoload_externally=: load it from its rules module")));
        }
        Ok(heap.alloc(Builtin::opaque()))
    }
}

impl CheckHost {
    fn glob_call<'v>(
        &self,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let mut pos = args.positions(heap)?;
        let mut include = pos.next().map(strings_of).unwrap_or_default();
        let mut exclude = pos.next().map(strings_of).unwrap_or_default();
        let mut allow_empty = false;
        for (k, v) in kwargs(args)? {
            match k.as_str() {
                "include" => include = strings_of(v),
                "exclude" => exclude = strings_of(v),
                "allow_empty" => allow_empty = v.unpack_bool().unwrap_or(false),
                _ => {}
            }
        }
        let pkg = self.state.borrow().package.clone();
        let files = self.glob(&pkg, &include, &exclude);
        if files.is_empty() && !allow_empty {
            let (file, line, via) = self.location(eval);
            let via = via
                .map(|v| format!(" (from macro at {v})"))
                .unwrap_or_default();
            self.add(finding(&file, line, "glob", format!(
                "glob({include:?}) matches no files in //{pkg}; Bazel 8 fails on empty globs: fix the pattern or pass allow_empty = True{via}")));
        }
        Ok(heap.alloc(files))
    }

    fn module_call<'v>(
        &self,
        name: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let kw = kwargs(args)?;
        let pos: Vec<Value> = args.positions(heap)?.collect();
        let (file, line, _) = self.location(eval);
        let get = |k: &str| kw.iter().find(|(n, _)| n == k).map(|x| x.1);
        let get_str = |k: &str| get(k).and_then(|v| v.unpack_str()).map(str::to_owned);
        // The i-th positional argument, or the keyword that names it.
        let arg = |i: usize, k: &str| {
            pos.get(i)
                .and_then(|v| v.unpack_str())
                .map(str::to_owned)
                .or_else(|| get_str(k))
                .unwrap_or_default()
        };
        if let Some(sym) = self.module_fn(name) {
            let positional_ok = matches!(
                name,
                "use_extension"
                    | "use_repo"
                    | "register_toolchains"
                    | "register_execution_platforms"
                    | "include"
                    | "inject_repo"
                    | "override_repo"
                    | "use_repo_rule"
            );
            let mut attrs = sym.attrs.clone();
            if positional_ok {
                for a in attrs.values_mut() {
                    a.mandatory = false;
                }
            }
            self.check_call(
                &format!("{name}()"),
                &attrs,
                &kw,
                name == "use_repo" || name == "inject_repo" || name == "override_repo",
                eval,
                "MODULE.bazel globals",
            );
        } else {
            self.add(finding(
                &file,
                line,
                "module",
                format!("`{name}` is not a MODULE.bazel function"),
            ));
        }
        match name {
            "module" => {
                self.state.borrow_mut().graph.module.name = get_str("name");
            }
            "bazel_dep" => {
                let dep_name = get_str("name").unwrap_or_default();
                let version = get_str("version").unwrap_or_default();
                let repo_name = get_str("repo_name").unwrap_or_else(|| dep_name.clone());
                if let Some(s) = self.schemas.modules.get(&dep_name)
                    && s.version != version
                {
                    self.add(finding(&file, line, "schema", format!(
                            "bazel_dep {dep_name} pins {version} but the committed schema describes {}: regenerate it (tools/bazel-check/schema/gen/gen.sh) or change the pin", s.version)));
                }
                self.state.borrow_mut().graph.module.deps.push(BazelDep {
                    name: dep_name,
                    version,
                    repo_name,
                    file,
                    line,
                });
            }
            "use_extension" => {
                let (bzl, ext) = (arg(0, "extension_bzl_file"), arg(1, "extension_name"));
                self.check_extension_exists(&bzl, &ext, &file, line);
                let mut st = self.state.borrow_mut();
                st.graph.module.extensions.push(ExtensionUse {
                    bzl_file: bzl,
                    name: ext,
                    file,
                    line,
                    repos: vec![],
                    created: vec![],
                });
                let id = st.graph.module.extensions.len() - 1;
                return Ok(heap.alloc(Builtin::new(format!("ext:{id}"))));
            }
            "use_repo_rule" => {
                // A proxy: calling it defines one repository, visible to this module.
                let (bzl, rule) = (arg(0, "repo_rule_bzl_file"), arg(1, "repo_rule_name"));
                return Ok(heap.alloc(Builtin::new(format!("reporule:{bzl}|{rule}"))));
            }
            "use_repo" => {
                let mut it = pos.iter();
                let proxy = it
                    .next()
                    .and_then(|v| v.downcast_ref::<Builtin>())
                    .and_then(|b| {
                        b.name
                            .strip_prefix("ext:")
                            .and_then(|x| x.parse::<usize>().ok())
                    });
                let names: Vec<String> = it
                    .filter_map(|v| v.unpack_str().map(str::to_owned))
                    .chain(kw.iter().map(|(k, _)| k.clone()))
                    .collect();
                match proxy {
                    Some(id) => {
                        let mut st = self.state.borrow_mut();
                        if let Some(e) = st.graph.module.extensions.get_mut(id) {
                            e.repos.extend(names);
                        }
                    }
                    None => self.add(finding(
                        &file,
                        line,
                        "module",
                        "use_repo: first argument must be a use_extension(...) proxy".into(),
                    )),
                }
            }
            "register_toolchains" | "register_execution_platforms" => {
                let mut st = self.state.borrow_mut();
                for p in &pos {
                    if let Some(s) = p.unpack_str() {
                        st.graph
                            .module
                            .toolchains
                            .push((s.to_owned(), file.clone(), line));
                    }
                }
            }
            "include" => {
                let l = pos
                    .first()
                    .and_then(|v| v.unpack_str())
                    .map(str::to_owned)
                    .or_else(|| get_str("label"))
                    .unwrap_or_default();
                match Label::parse(&l, "") {
                    Some(lb) if lb.is_main() && lb.name.ends_with(".MODULE.bazel") => {
                        let rel = if lb.package.is_empty() {
                            lb.name.clone()
                        } else {
                            format!("{}/{}", lb.package, lb.name)
                        };
                        if !self.root.join(&rel).is_file() {
                            self.add(finding(
                                &file,
                                line,
                                "module",
                                format!("include(\"{l}\"): {rel} does not exist"),
                            ));
                        } else {
                            let saved = std::mem::replace(
                                &mut self.state.borrow_mut().module_file,
                                rel.clone(),
                            );
                            eval_module_file(self, eval_host_box(eval), &rel);
                            self.state.borrow_mut().module_file = saved;
                        }
                    }
                    _ => self.add(finding(
                        &file,
                        line,
                        "module",
                        format!(
                            "include(\"{l}\"): must name a `*.MODULE.bazel` file of this module"
                        ),
                    )),
                }
            }
            _ => {}
        }
        Ok(Value::new_none())
    }

    fn extension_symbol(&self, bzl: &str) -> Option<(&str, &str)> {
        let l = Label::parse(bzl, "")?;
        let repo = l.repo.clone()?;
        let st = self.state.borrow();
        let module = st.graph.module.dep_by_repo(&repo).map(|d| d.name.clone())?;
        drop(st);
        let m = self.schemas.modules.get(&module)?;
        let path = if l.package.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", l.package, l.name)
        };
        let (k, _) = m.files.get_key_value(&path)?;
        Some((m.module.as_str(), k.as_str()))
    }

    fn check_extension_exists(&self, bzl: &str, ext: &str, file: &str, line: usize) {
        let Some(l) = Label::parse(bzl, "") else {
            self.add(finding(
                file,
                line,
                "module",
                format!("use_extension: `{bzl}` is not a label"),
            ));
            return;
        };
        let Some(repo) = l.repo.clone() else {
            let rel = if l.package.is_empty() {
                l.name.clone()
            } else {
                format!("{}/{}", l.package, l.name)
            };
            if !self.root.join(&rel).is_file() {
                self.add(finding(
                    file,
                    line,
                    "module",
                    format!("use_extension: {rel} does not exist"),
                ));
            }
            return;
        };
        let dep = self.state.borrow().graph.module.dep_by_repo(&repo).cloned();
        let Some(dep) = dep else {
            self.add(finding(file, line, "module", format!("use_extension(\"{bzl}\"): @{repo} is not a bazel_dep; add bazel_dep(name = \"{repo}\", version = ...) before it")));
            return;
        };
        let Some(m) = self.schemas.modules.get(&dep.name) else {
            return;
        };
        let path = if l.package.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", l.package, l.name)
        };
        match m.files.get(&path) {
            None => self.add(finding(
                file,
                line,
                "module",
                format!(
                    "use_extension: {}@{} has no public file {path}",
                    m.module, m.version
                ),
            )),
            Some(f) => match f.symbols.get(ext) {
                Some(s) if s.kind == SymbolKind::ModuleExtension => {}
                _ => {
                    let exts: Vec<&String> = f
                        .symbols
                        .iter()
                        .filter(|(_, s)| s.kind == SymbolKind::ModuleExtension)
                        .map(|x| x.0)
                        .collect();
                    self.add(finding(file, line, "module", format!("use_extension: {path} of {}@{} has no extension `{ext}` (it has {exts:?})", m.module, m.version)));
                }
            },
        }
    }

    fn ext_call<'v>(
        &self,
        rest: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let Some((id, tag)) = rest.split_once('.') else {
            return Ok(heap.alloc(Builtin::opaque()));
        };
        let id: usize = id.parse().unwrap_or(usize::MAX);
        let ext = self.state.borrow().graph.module.extensions.get(id).cloned();
        let Some(ext) = ext else {
            return Ok(heap.alloc(Builtin::opaque()));
        };
        let kw = kwargs(args)?;
        let (file, line, _) = self.location(eval);
        if let Some((module, path)) = self.extension_symbol(&ext.bzl_file) {
            let m = &self.schemas.modules[module];
            if let Some(sym) = m.files[path].symbols.get(&ext.name) {
                match sym.tag_classes.get(tag) {
                    None => {
                        let tags: Vec<&String> = sym.tag_classes.keys().collect();
                        let hint = closest(tag, sym.tag_classes.keys())
                            .map(|c| format!("did you mean `{c}`?"))
                            .unwrap_or_default();
                        self.add(finding(&file, line, "module", format!(
                            "{}.{tag}: extension `{}` of {}@{} has no tag class `{tag}` (it has {tags:?}) {hint}", ext.name, ext.name, m.module, m.version)));
                    }
                    Some(attrs) => {
                        let src = format!(
                            "{}@{} ({}, tag class {tag})",
                            m.module, m.version, sym.source
                        );
                        self.check_call(
                            &format!("{}.{tag}()", ext.name),
                            attrs,
                            &kw,
                            false,
                            eval,
                            &src,
                        );
                        for (k, v) in &kw {
                            if attrs.get(k).is_some_and(|a| a.is_label_kind()) {
                                let mut ss = Vec::new();
                                crate::model::collect_strings(&to_json(*v), &mut ss);
                                let mut st = self.state.borrow_mut();
                                for s in ss {
                                    st.graph.module.labels.push((s, file.clone(), line));
                                }
                            }
                        }
                    }
                }
            }
        }
        // Remember hubs the tags create, for `@crates//` and `@npm//` handling.
        let hub_name = |default: &str| {
            kw.iter()
                .find(|(k, _)| k == "name")
                .and_then(|(_, v)| v.unpack_str())
                .unwrap_or(default)
                .to_owned()
        };
        let mut st = self.state.borrow_mut();
        match (ext.name.as_str(), tag) {
            ("crate", "spec") => {
                let pkg = kw
                    .iter()
                    .find(|(k, _)| k == "package")
                    .and_then(|(_, v)| v.unpack_str())
                    .unwrap_or("")
                    .to_owned();
                let repos = kw
                    .iter()
                    .find(|(k, _)| k == "repositories")
                    .map(|(_, v)| strings_of(*v))
                    .unwrap_or_default();
                if repos.is_empty() {
                    st.graph
                        .module
                        .crate_specs
                        .entry(String::new())
                        .or_default()
                        .insert(pkg);
                } else {
                    for r in repos {
                        st.graph
                            .module
                            .crate_specs
                            .entry(r)
                            .or_default()
                            .insert(pkg.clone());
                    }
                }
            }
            ("crate", "from_cargo") | ("crate", "from_specs") => {
                let n = hub_name("crates");
                if tag == "from_specs" {
                    st.graph.module.spec_hubs.insert(n.clone());
                }
                let manifests = kw
                    .iter()
                    .find(|(k, _)| k == "manifests")
                    .map(|(_, v)| strings_of(*v))
                    .unwrap_or_default();
                st.graph.module.crate_hubs.insert(n.clone(), manifests);
                if let Some((_, v)) = kw.iter().find(|(k, _)| k == "lockfile")
                    && let Some(l) = v.unpack_str()
                {
                    st.graph
                        .module
                        .crate_lockfiles
                        .insert(n.clone(), (l.to_owned(), file.clone(), line));
                }
                st.graph.module.extensions[id].created.push(n);
            }
            ("npm", "npm_translate_lock") => {
                let n = hub_name("npm");
                st.graph.module.npm_hubs.insert(n.clone());
                st.graph.module.extensions[id].created.push(n);
            }
            _ => {
                if let Some((_, v)) = kw.iter().find(|(k, _)| k == "name")
                    && let Some(n) = v.unpack_str()
                {
                    st.graph.module.extensions[id].created.push(n.to_owned());
                }
            }
        }
        Ok(Value::new_none())
    }

    /// `@crates//:defs.bzl`: the crate_universe hub, answered from `cargo metadata`.
    fn hub_call<'v>(
        &self,
        rest: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let heap = eval.heap();
        let (hub, sym) = rest.split_once('|').unwrap_or((rest, ""));
        let kw = kwargs(args)?;
        let flag = |n: &str| {
            kw.iter()
                .find(|(k, _)| k == n)
                .and_then(|(_, v)| v.unpack_bool())
                .unwrap_or(false)
        };
        let pkg = kw
            .iter()
            .find(|(k, _)| k == "package_name")
            .and_then(|(_, v)| v.unpack_str().map(str::to_owned))
            .unwrap_or_else(|| self.state.borrow().package.clone());
        match sym {
            "all_crate_deps" | "crate_deps" => {
                let Some(cargo) = &self.cargo else {
                    return Ok(heap.alloc(Vec::<String>::new()));
                };
                let Some(member) = cargo.member_by_dir(&pkg) else {
                    let (file, line, _) = self.location(eval);
                    self.add(finding(&file, line, "cargo", format!(
                        "{sym}() in //{pkg}: package had no Cargo.toml file of the workspace (crate_universe fails here); list @{hub}//:name labels instead")));
                    return Ok(heap.alloc(Vec::<String>::new()));
                };
                if sym == "crate_deps" {
                    let names = args
                        .positions(heap)?
                        .next()
                        .map(strings_of)
                        .unwrap_or_default();
                    return Ok(heap.alloc(
                        names
                            .into_iter()
                            .map(|n| format!("@{hub}//:{n}"))
                            .collect::<Vec<_>>(),
                    ));
                }
                use crate::cargo::DepKind;
                let (mut normal, normal_dev, proc_macro, proc_macro_dev, build, build_pm) = (
                    flag("normal"),
                    flag("normal_dev"),
                    flag("proc_macro"),
                    flag("proc_macro_dev"),
                    flag("build"),
                    flag("build_proc_macro"),
                );
                if !(normal || normal_dev || proc_macro || proc_macro_dev || build || build_pm) {
                    normal = true;
                }
                let mut out = Vec::new();
                for d in member
                    .deps
                    .iter()
                    .filter(|d| d.path.is_none() && !d.optional)
                {
                    let pm = cargo.proc_macros.contains(&d.name);
                    let want = match d.kind {
                        DepKind::Normal => {
                            if pm {
                                proc_macro
                            } else {
                                normal
                            }
                        }
                        DepKind::Dev => {
                            if pm {
                                proc_macro_dev
                            } else {
                                normal_dev
                            }
                        }
                        DepKind::Build => {
                            if pm {
                                build_pm
                            } else {
                                build
                            }
                        }
                    };
                    if want {
                        out.push(format!("@{hub}//:{}", d.name));
                    }
                }
                out.sort();
                out.dedup();
                Ok(heap.alloc(out))
            }
            "aliases" => Ok(heap.alloc(AllocDict(Vec::<(String, String)>::new()))),
            "crate_edition" => Ok(heap.alloc("2024")),
            _ => Ok(heap.alloc(Builtin::opaque())),
        }
    }
}

fn eval_host_box<'a>(eval: &Evaluator<'_, 'a, '_>) -> &'a HostBox {
    crate::values::host_box(eval)
}

pub fn module_globals(schemas: &SchemaSet) -> Globals {
    let mut b = GlobalsBuilder::extended_by(&[LibraryExtension::Print, LibraryExtension::Json]);
    if let Some(f) = schemas.module_file_globals() {
        for n in f.symbols.keys() {
            b.set(n, Builtin::new(format!("mod.{n}")));
        }
    }
    b.build()
}

pub fn build_globals(schemas: &SchemaSet, bzl: bool) -> Globals {
    let mut b = GlobalsBuilder::extended_by(&[
        LibraryExtension::StructType,
        LibraryExtension::Json,
        LibraryExtension::Print,
        LibraryExtension::Map,
        LibraryExtension::Filter,
        LibraryExtension::Partial,
    ]);
    if bzl {
        for n in crate::schemagen::BZL_GLOBALS {
            if *n != "struct" {
                b.set(n, Builtin::new(*n));
            }
        }
    } else if let Some(f) = schemas.builtins() {
        for n in f.symbols.keys() {
            b.set(n, Builtin::new(n.clone()));
        }
        b.set("Label", Builtin::new("Label"));
        b.set("depset", Builtin::new("depset"));
    }
    b.build()
}

fn opaque_module(symbols: &[(String, String)]) -> FrozenModule {
    Module::with_temp_heap(|m| {
        for (s, name) in symbols {
            m.set(s, m.heap().alloc(Builtin::new(name.clone())));
        }
        m.freeze().expect("freezing builtins cannot fail")
    })
}

/// Evaluates a MODULE.bazel file or segment; findings go into the host state.
pub fn eval_module_file(host: &CheckHost, hb: &HostBox, rel: &str) {
    let path = host.root.join(rel);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            host.add(finding(rel, 1, "module", format!("cannot read: {e}")));
            return;
        }
    };
    host.state
        .borrow_mut()
        .graph
        .module
        .files
        .push(rel.to_owned());
    let ast = match AstModule::parse(rel, text, &bazel_dialect()) {
        Ok(a) => a,
        Err(e) => {
            host.add(error_finding(rel, "syntax", &e));
            return;
        }
    };
    let globals = module_globals(&host.schemas);
    host.state.borrow_mut().module_file = rel.to_owned();
    let res: Result<(), starlark::Error> = Module::with_temp_heap(|module| {
        let mut eval = Evaluator::new(&module);
        eval.extra = Some(hb);
        eval.eval_module(ast, &globals).map(|_| ())
    });
    if let Err(e) = res {
        host.add(error_finding(rel, "eval", &e));
    }
}

fn error_finding(file: &str, check: &'static str, e: &starlark::Error) -> Finding {
    let line = e
        .span()
        .map(|s| s.resolve_span().begin.line + 1)
        .unwrap_or(1);
    let msg = e.without_diagnostic().to_string();
    let msg = msg.lines().next().unwrap_or("").to_owned();
    // An error inside a loaded .bzl names that file (where the fix goes), then the caller.
    let at = e.span().map(|s| s.filename().to_owned());
    match at.filter(|a| a != file) {
        Some(at) => Finding {
            file: at,
            line,
            check,
            msg: format!("Starlark error: {msg} (evaluating {file})"),
        },
        None => Finding {
            file: file.to_owned(),
            line,
            check,
            msg: format!("Starlark error: {msg}"),
        },
    }
}

impl CheckHost {
    /// Builds the module a `load()` gets, after checking it names a declared module, a public
    /// file of the pinned version and symbols that file exports.
    fn load_module(
        &self,
        hb: &HostBox,
        from_file: &str,
        from_pkg: &str,
        load: &str,
        line: usize,
        symbols: &[String],
    ) -> FrozenModule {
        let bad = |host: &CheckHost, msg: String| {
            host.add(finding(from_file, line, "load", msg));
        };
        let pairs = |prefix: &str| {
            symbols
                .iter()
                .map(|s| (s.clone(), format!("{prefix}{s}")))
                .collect::<Vec<_>>()
        };
        let Some(l) = Label::parse(load, from_pkg) else {
            bad(self, format!("load(\"{load}\"): not a label"));
            return opaque_module(&pairs("?"));
        };
        let path = if l.package.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", l.package, l.name)
        };
        let module_name = self.state.borrow().graph.module.name.clone();
        let repo = l.repo.clone().filter(|r| Some(r) != module_name.as_ref());
        let Some(repo) = repo else {
            // A file of this repository: evaluate it for real.
            return match self.eval_bzl(hb, &path, line, from_file) {
                Some(m) => {
                    for s in symbols {
                        if m.get_option(s).ok().flatten().is_none() {
                            bad(
                                self,
                                format!("load(\"{load}\"): {path} does not define `{s}`"),
                            );
                        }
                    }
                    let mut out: Vec<(String, String)> = Vec::new();
                    let missing: Vec<&String> = symbols
                        .iter()
                        .filter(|s| m.get_option(s).ok().flatten().is_none())
                        .collect();
                    if missing.is_empty() {
                        return m;
                    }
                    out.extend(missing.iter().map(|s| ((*s).clone(), "?".to_owned())));
                    opaque_module(&out)
                }
                None => opaque_module(&pairs("?")),
            };
        };
        let st = self.state.borrow();
        let crate_hub = st.graph.module.crate_hubs.contains_key(&repo);
        let npm_hub = st.graph.module.npm_hubs.contains(&repo);
        let visible = st.graph.module.visible_repos().contains(&repo);
        let dep = st.graph.module.dep_by_repo(&repo).cloned();
        drop(st);
        if !visible {
            bad(
                self,
                format!(
                    "load(\"{load}\"): repository @{repo} is not declared in MODULE.bazel; add bazel_dep(name = \"{repo}\", ...) or use_repo(<extension>, \"{repo}\")"
                ),
            );
            return opaque_module(&pairs("?"));
        }
        if crate_hub {
            if path != "defs.bzl" {
                return opaque_module(&pairs("?"));
            }
            if let Some(m) = self.hub_defs(hb, &repo) {
                // The generated file itself answers: what it defines is what Bazel loads.
                for s in symbols {
                    if m.get_option(s).ok().flatten().is_none() {
                        bad(
                            self,
                            format!(
                                "load(\"{load}\"): the generated hub @{repo} (cargo-bazel's defs.bzl) does not define `{s}`"
                            ),
                        );
                    }
                }
                return m;
            }
            const HUB: &[&str] = &[
                "aliases",
                "all_crate_deps",
                "crate_deps",
                "crate_edition",
                "crate_repositories",
            ];
            for s in symbols {
                if !HUB.contains(&s.as_str()) {
                    bad(
                        self,
                        format!(
                            "load(\"{load}\"): the crate_universe hub @{repo} has no `{s}` (it has {HUB:?})"
                        ),
                    );
                }
            }
            return opaque_module(&pairs(&format!("hub:{repo}|")));
        }
        if npm_hub || dep.is_none() {
            // Generated by an extension we do not model (npm links, toolchains).
            return opaque_module(&pairs(&format!("gen:{repo}|")));
        }
        let dep = dep.expect("checked above");
        let Some(m) = self.schemas.modules.get(&dep.name) else {
            return opaque_module(&pairs("?"));
        };
        let Some(f) = m.files.get(&path) else {
            let near = closest(&path, m.files.keys())
                .map(|c| format!("; did you mean {c}?"))
                .unwrap_or_default();
            bad(
                self,
                format!(
                    "load(\"{load}\"): {}@{} has no public file {path}{near}",
                    m.module, m.version
                ),
            );
            return opaque_module(&pairs("?"));
        };
        for s in symbols {
            if !f.symbols.contains_key(s) {
                let near = closest(s, f.symbols.keys())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                bad(
                    self,
                    format!(
                        "load(\"{load}\"): `{s}` is not exported by {path} in {}@{}{near}",
                        m.module, m.version
                    ),
                );
            }
        }
        opaque_module(&pairs(&format!("stub:{}|{}|", m.module, path)))
    }

    /// Evaluates a `.bzl` file nothing loaded, so its errors still surface.
    pub fn eval_bzl_public(&self, hb: &HostBox, rel: &str) {
        let _ = self.eval_bzl(hb, rel, 1, rel);
    }

    /// Evaluates a `.bzl` file of this repository (cached).
    fn eval_bzl(
        &self,
        hb: &HostBox,
        rel: &str,
        line: usize,
        from_file: &str,
    ) -> Option<FrozenModule> {
        if let Some(m) = self.bzl_cache.borrow().get(rel) {
            return m.clone();
        }
        let text = match std::fs::read_to_string(self.root.join(rel)) {
            Ok(t) => t,
            Err(_) => {
                self.add(finding(
                    from_file,
                    line,
                    "load",
                    format!("load: {rel} does not exist"),
                ));
                return None;
            }
        };
        self.bzl_cache.borrow_mut().insert(rel.to_owned(), None);
        {
            let mut st = self.state.borrow_mut();
            if !st.graph.bzl_files.contains(&rel.to_owned()) {
                st.graph.bzl_files.push(rel.to_owned());
            }
        }
        let ast = match AstModule::parse(rel, text, &bazel_dialect()) {
            Ok(a) => a,
            Err(e) => {
                self.add(error_finding(rel, "syntax", &e));
                return None;
            }
        };
        let pkg = rel.rsplit_once('/').map(|x| x.0).unwrap_or("").to_owned();
        let loaded = self.resolve_loads(hb, &ast, rel, &pkg);
        let modules: HashMap<&str, &FrozenModule> =
            loaded.iter().map(|(a, b)| (a.as_str(), b)).collect();
        let loader = ReturnFileLoader { modules: &modules };
        let globals = build_globals(&self.schemas, true);
        // `.bzl` top-level code runs outside any package.
        let res = eval_frozen(hb, ast, &globals, &loader, rel);
        let out = match res {
            Ok(m) => Some(m),
            Err(e) => {
                self.add(error_finding(rel, "eval", &e));
                None
            }
        };
        self.bzl_cache
            .borrow_mut()
            .insert(rel.to_owned(), out.clone());
        out
    }

    fn resolve_loads(
        &self,
        hb: &HostBox,
        ast: &AstModule,
        file: &str,
        pkg: &str,
    ) -> Vec<(String, FrozenModule)> {
        let mut out = Vec::new();
        for l in ast.loads() {
            let line = l.span.resolve_span().begin.line + 1;
            let syms: Vec<String> = l.symbols.values().map(|s| s.to_string()).collect();
            let m = self.load_module(hb, file, pkg, l.module_id, line, &syms);
            out.push((l.module_id.to_owned(), m));
        }
        out
    }

    /// Evaluates one BUILD file; targets and findings go into the host state.
    pub fn eval_build(&self, hb: &HostBox, pkg: &str, rel: &str) {
        let text = match std::fs::read_to_string(self.root.join(rel)) {
            Ok(t) => t,
            Err(e) => {
                self.add(finding(rel, 1, "eval", format!("cannot read: {e}")));
                return;
            }
        };
        {
            let mut st = self.state.borrow_mut();
            st.package = pkg.to_owned();
            st.build_file = rel.to_owned();
            st.graph
                .packages
                .entry(pkg.to_owned())
                .or_insert_with(|| Package {
                    path: pkg.to_owned(),
                    build_file: rel.to_owned(),
                    ..Default::default()
                });
        }
        let ast = match AstModule::parse(rel, text, &bazel_dialect()) {
            Ok(a) => a,
            Err(e) => {
                self.add(error_finding(rel, "syntax", &e));
                return;
            }
        };
        let loaded = self.resolve_loads(hb, &ast, rel, pkg);
        // Loads may evaluate other files; make sure we are back in this package.
        {
            let mut st = self.state.borrow_mut();
            st.package = pkg.to_owned();
            st.build_file = rel.to_owned();
        }
        let modules: HashMap<&str, &FrozenModule> =
            loaded.iter().map(|(a, b)| (a.as_str(), b)).collect();
        let loader = ReturnFileLoader { modules: &modules };
        let globals = build_globals(&self.schemas, false);
        let res: Result<(), starlark::Error> = Module::with_temp_heap(|module| {
            let mut eval = Evaluator::new(&module);
            eval.extra = Some(hb);
            eval.set_loader(&loader);
            eval.eval_module(ast, &globals).map(|_| ())
        });
        if let Err(e) = res {
            let mut f = error_finding(rel, "eval", &e);
            if f.msg.contains("not found") {
                f.msg.push_str(" (Bazel 8 without autoload: load() every rule explicitly, e.g. sh_test from @rules_shell//shell:sh_test.bzl)");
            }
            self.add(f);
        }
        let mut st = self.state.borrow_mut();
        st.build_file.clear();
    }
}

pub fn host_of_box(hb: &HostBox) -> &CheckHost {
    let h: &dyn std::any::Any = &*hb.0;
    h.downcast_ref::<CheckHost>()
        .expect("checker installs a CheckHost")
}

/// skylib's `selects.with_or` (lib/selects.bzl), the one skylib function the generated hub's
/// `defs.bzl` calls: a dict whose tuple keys fan out to one branch per condition.
const SELECTS_PRELUDE: &str = r#"
def _with_or_dict(input_dict):
    output_dict = {}
    for (key, value) in input_dict.items():
        if type(key) == type(()):
            for config_setting in key:
                if config_setting in output_dict.keys():
                    fail("key %s appears multiple times" % config_setting)
                output_dict[config_setting] = value
        else:
            if key in output_dict.keys():
                fail("key %s appears multiple times" % key)
            output_dict[key] = value
    return output_dict

def _with_or(input_dict, no_match_error = ""):
    return select(_with_or_dict(input_dict), no_match_error = no_match_error)

selects = struct(with_or = _with_or, with_or_dict = _with_or_dict)
"#;

impl CheckHost {
    /// The directory of a rendered hub repository, when `--hubs` has one for `repo`.
    pub fn hub_dir(&self, repo: &str) -> Option<PathBuf> {
        let d = self.hubs.as_ref()?.join(repo).join(repo);
        d.join("defs.bzl").is_file().then_some(d)
    }

    /// Target names of a rendered hub's `BUILD.bazel` (its aliases: `candle-core`,
    /// `candle-core-0.11.1`, `protoc-gen-prost__protoc-gen-prost`, ...).
    pub fn hub_targets(&self, repo: &str) -> Option<BTreeSet<String>> {
        if let Some(t) = self.hub_target_cache.borrow().get(repo) {
            return t.clone();
        }
        let names = self.hub_dir(repo).and_then(|d| {
            let text = std::fs::read_to_string(d.join("BUILD.bazel")).ok()?;
            Some(
                text.lines()
                    .filter_map(|l| {
                        let v = l.trim().strip_prefix("name = \"")?;
                        v.strip_suffix("\",").map(str::to_owned)
                    })
                    .chain(["defs.bzl".to_owned(), "alias_rules.bzl".to_owned()])
                    .collect::<BTreeSet<String>>(),
            )
        });
        self.hub_target_cache
            .borrow_mut()
            .insert(repo.to_owned(), names.clone());
        names
    }

    /// Evaluates a rendered hub's real `defs.bzl` (cached). Its loads of repository rules
    /// (`http_archive`, `maybe`, ...) are only called by `crate_repositories()`, which the module
    /// extension runs and BUILD files never do, so they stay opaque; skylib's `selects` is
    /// SELECTS_PRELUDE.
    fn hub_defs(&self, hb: &HostBox, repo: &str) -> Option<FrozenModule> {
        if let Some(m) = self.hub_cache.borrow().get(repo) {
            return m.clone();
        }
        let dir = self.hub_dir(repo)?;
        let path = dir.join("defs.bzl");
        let shown = path.display().to_string();
        let out = (|| {
            let text = std::fs::read_to_string(&path).ok()?;
            let ast = match AstModule::parse(&shown, text, &bazel_dialect()) {
                Ok(a) => a,
                Err(e) => {
                    self.add(error_finding(&shown, "syntax", &e));
                    return None;
                }
            };
            let globals = build_globals(&self.schemas, true);
            let selects = {
                let ast =
                    AstModule::parse("selects.bzl", SELECTS_PRELUDE.to_owned(), &bazel_dialect())
                        .ok()?;
                let none = HashMap::new();
                eval_frozen(
                    hb,
                    ast,
                    &globals,
                    &ReturnFileLoader { modules: &none },
                    "selects.bzl",
                )
                .ok()?
            };
            let mut loaded: Vec<(String, FrozenModule)> = Vec::new();
            for l in ast.loads() {
                let m = if l.module_id == "@bazel_skylib//lib:selects.bzl" {
                    selects.clone()
                } else {
                    let syms: Vec<(String, String)> = l
                        .symbols
                        .values()
                        .map(|s| (s.to_string(), "?".to_owned()))
                        .collect();
                    opaque_module(&syms)
                };
                loaded.push((l.module_id.to_owned(), m));
            }
            let modules: HashMap<&str, &FrozenModule> =
                loaded.iter().map(|(a, b)| (a.as_str(), b)).collect();
            let loader = ReturnFileLoader { modules: &modules };
            let res = eval_frozen(hb, ast, &globals, &loader, &shown);
            match res {
                Ok(m) => Some(m),
                Err(e) => {
                    self.add(error_finding(&shown, "eval", &e));
                    None
                }
            }
        })();
        self.hub_cache
            .borrow_mut()
            .insert(repo.to_owned(), out.clone());
        out
    }
}

/// Evaluates a `.bzl` module with its loads resolved and freezes it under `name`.
fn eval_frozen(
    hb: &HostBox,
    ast: AstModule,
    globals: &Globals,
    loader: &ReturnFileLoader,
    name: &str,
) -> Result<FrozenModule, starlark::Error> {
    Module::with_temp_heap(|module| {
        {
            let mut eval = Evaluator::new(&module);
            eval.extra = Some(hb);
            eval.set_loader(loader);
            eval.eval_module(ast, globals)?;
        }
        module
            .freeze_named(FrozenHeapName::User(Box::new(name.to_owned())))
            .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{e:?}")))
    })
}

impl CheckHost {
    /// A call of a `use_repo_rule(...)` proxy: checks the attributes against the repository
    /// rule's schema and makes the repository it names visible, as Bazel does.
    fn repo_rule_call<'v>(
        &self,
        rest: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let (bzl, rule) = rest.split_once('|').unwrap_or((rest, ""));
        let kw = kwargs(args)?;
        let (file, line, _) = self.location(eval);
        let sym = Label::parse(bzl, "").and_then(|l| {
            let path = if l.package.is_empty() {
                l.name.clone()
            } else {
                format!("{}/{}", l.package, l.name)
            };
            let repo = l.repo?;
            let dep = self
                .state
                .borrow()
                .graph
                .module
                .dep_by_repo(&repo)
                .cloned()?;
            self.stub_symbol(&dep.name, &path, rule).cloned()
        });
        if let Some(sym) = sym {
            let src = format!("{bzl}%{rule}");
            self.check_call(&format!("{rule}()"), &sym.attrs, &kw, false, eval, &src);
        }
        let name = kw
            .iter()
            .find(|(k, _)| k == "name")
            .and_then(|(_, v)| v.unpack_str())
            .map(str::to_owned);
        if let Some(name) = name {
            self.state
                .borrow_mut()
                .graph
                .module
                .extensions
                .push(ExtensionUse {
                    bzl_file: bzl.to_owned(),
                    name: rule.to_owned(),
                    file,
                    line,
                    repos: vec![name.clone()],
                    created: vec![name],
                });
        }
        Ok(Value::new_none())
    }
}
