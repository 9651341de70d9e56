//! Starlark values shared by the schema generator and the checker.
//!
//! Every Bazel builtin is a [`Builtin`] named by a dotted path (`attr.string`, `native.glob`,
//! `stub:@rules_rust//rust:defs.bzl%rust_binary`). Calling one hands the call to the [`Host`]
//! stored in the evaluator's `extra`, so the generator and the checker can give the same names
//! different meanings without two value hierarchies.

use std::fmt;

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::collections::StarlarkHasher;
use starlark::eval::{Arguments, Evaluator};
use starlark::values::{
    Heap, NoSerialize, StarlarkPagable, StarlarkValue, Value, ValueLike, starlark_value,
};
use starlark::{starlark_simple_value, values::list::ListRef};

/// What a Bazel builtin does when Starlark calls it.
pub trait Host: std::any::Any {
    fn call<'v>(
        &self,
        name: &str,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>>;

    /// A `rule(...)` (or similar) value was bound to a global name.
    fn export(&self, _id: usize, _name: &str) {}
}

#[derive(ProvidesStaticType)]
pub struct HostBox(pub Box<dyn Host>);

pub fn host_box<'a>(eval: &Evaluator<'_, 'a, '_>) -> &'a HostBox {
    let extra = eval.extra.expect("bazel-check always installs a host");
    extra.downcast_ref::<HostBox>().expect("extra is a HostBox")
}

pub fn host<'a>(eval: &Evaluator<'_, 'a, '_>) -> &'a dyn Host {
    &*host_box(eval).0
}

pub fn host_any<'a>(eval: &Evaluator<'_, 'a, '_>) -> &'a dyn std::any::Any {
    &*host_box(eval).0
}

/// A Bazel builtin or an opaque value from code we do not model. Names starting with `?` are
/// opaque: any attribute, call or operator on them yields another opaque value.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, StarlarkPagable, Allocative)]
pub struct Builtin {
    pub name: String,
}
starlark_simple_value!(Builtin);

impl Builtin {
    pub fn new(name: impl Into<String>) -> Self {
        Builtin { name: name.into() }
    }
    pub fn opaque() -> Self {
        Builtin::new("?")
    }
    pub fn is_opaque(&self) -> bool {
        self.name.starts_with('?')
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<builtin {}>", self.name)
    }
}

#[starlark_value(type = "builtin")]
impl<'v> StarlarkValue<'v> for Builtin {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        host(eval).call(&self.name, args, eval)
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        if self.name == "native" && !NATIVE_MEMBERS.contains(&attribute) {
            return None;
        }
        let name = if self.is_opaque() {
            "?".to_owned()
        } else {
            format!("{}.{}", self.name, attribute)
        };
        Some(heap.alloc(Builtin::new(name)))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        self.name != "native" || NATIVE_MEMBERS.contains(&attribute)
    }

    fn to_bool(&self) -> bool {
        true
    }

    fn write_hash(&self, hasher: &mut StarlarkHasher) -> starlark::Result<()> {
        use std::hash::Hash;
        self.name.hash(hasher);
        Ok(())
    }

    fn equals(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(other
            .downcast_ref::<Builtin>()
            .is_some_and(|o| o.name == self.name && !self.is_opaque()))
    }

    fn at(&self, _index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Builtin::opaque()))
    }

    fn iterate_collect(&self, _heap: Heap<'v>) -> starlark::Result<Vec<Value<'v>>> {
        Ok(Vec::new())
    }

    fn length(&self) -> starlark::Result<i32> {
        Ok(0)
    }

    fn is_in(&self, _other: Value<'v>) -> starlark::Result<bool> {
        Ok(false)
    }

    fn add(&self, _rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Builtin::opaque())))
    }

    fn radd(&self, _lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Builtin::opaque())))
    }

    fn bit_or(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Builtin::opaque()))
    }

    fn percent(&self, _other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Builtin::opaque()))
    }
}

/// Members of `native` in Bazel 8 with `--incompatible_autoload_externally=`: language rules
/// (cc_*, sh_*, proto_*, java_*, py_*) are left out so `getattr(native, ...)` picks the
/// Starlark versions and BUILD files must load them.
pub const NATIVE_MEMBERS: &[&str] = &[
    "glob",
    "package_name",
    "repository_name",
    "repo_name",
    "existing_rule",
    "existing_rules",
    "exports_files",
    "filegroup",
    "alias",
    "genrule",
    "test_suite",
    "config_setting",
    "package_group",
    "package_relative_label",
    "module_name",
    "module_version",
    "subpackages",
    "constraint_setting",
    "constraint_value",
    "platform",
    "toolchain",
    "toolchain_type",
    "licenses",
    "label_flag",
    "label_setting",
    "environment_group",
    "package",
    "select",
];

/// A value that learns its name when bound at top level, like Bazel's rules and providers.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, StarlarkPagable, Allocative)]
pub struct Decl {
    pub id: usize,
}
starlark_simple_value!(Decl);

impl fmt::Display for Decl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<decl {}>", self.id)
    }
}

#[starlark_value(type = "decl")]
impl<'v> StarlarkValue<'v> for Decl {
    fn export_as(
        &self,
        variable_name: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<()> {
        host(eval).export(self.id, variable_name);
        Ok(())
    }

    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        host(eval).call(&format!("decl:{}", self.id), args, eval)
    }

    fn get_attr(&self, _attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Builtin::opaque()))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }

    fn write_hash(&self, hasher: &mut StarlarkHasher) -> starlark::Result<()> {
        use std::hash::Hash;
        self.id.hash(hasher);
        Ok(())
    }
}

/// `attr.string(...)` and friends, as seen by the schema generator.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, StarlarkPagable, Allocative)]
pub struct AttrSpec {
    pub ty: String,
    pub mandatory: bool,
    pub default: Option<String>,
    pub values: Vec<String>,
}
starlark_simple_value!(AttrSpec);

impl fmt::Display for AttrSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<attr.{}>", self.ty)
    }
}

#[starlark_value(type = "Attribute")]
impl<'v> StarlarkValue<'v> for AttrSpec {}

/// `Label("//x:y")`; its `str()` is the label text.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, StarlarkPagable, Allocative)]
pub struct LabelValue {
    pub label: String,
}
starlark_simple_value!(LabelValue);

impl fmt::Display for LabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.label)
    }
}

#[starlark_value(type = "Label")]
impl<'v> StarlarkValue<'v> for LabelValue {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        let l = crate::label::Label::parse_loose(&self.label);
        let s = match attribute {
            "name" => l.name,
            "package" => l.package,
            "workspace_name" | "repo_name" => l.repo.unwrap_or_default(),
            "workspace_root" => String::new(),
            "same_package_label" | "relative" => return Some(heap.alloc(Builtin::opaque())),
            // Bazel's Label has nothing else: `.rsplit` and friends are string methods, and a
            // Label is no string (all_crate_deps() returns Labels).
            _ => return None,
        };
        Some(heap.alloc(s))
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        matches!(
            attribute,
            "name"
                | "package"
                | "workspace_name"
                | "repo_name"
                | "workspace_root"
                | "same_package_label"
                | "relative"
        )
    }

    fn write_hash(&self, hasher: &mut StarlarkHasher) -> starlark::Result<()> {
        use std::hash::Hash;
        self.label.hash(hasher);
        Ok(())
    }

    fn equals(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(other
            .downcast_ref::<LabelValue>()
            .is_some_and(|o| o.label == self.label))
    }
}

/// `select({...})` joined with `+` to plain lists; kept as JSON so the checker can look at
/// every branch.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, StarlarkPagable, Allocative)]
pub struct SelectValue {
    /// JSON text of each part: a plain value or `{"$select": {condition: value}}`.
    pub parts: Vec<String>,
}
starlark_simple_value!(SelectValue);

impl fmt::Display for SelectValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "select(...)")
    }
}

#[starlark_value(type = "select")]
impl<'v> StarlarkValue<'v> for SelectValue {
    fn add(&self, rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        let mut parts = self.parts.clone();
        parts.extend(select_parts(rhs));
        Some(Ok(heap.alloc(SelectValue { parts })))
    }

    fn radd(&self, lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        let mut parts = select_parts(lhs);
        parts.extend(self.parts.clone());
        Some(Ok(heap.alloc(SelectValue { parts })))
    }

    fn bit_or(&self, other: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        let mut parts = self.parts.clone();
        parts.extend(select_parts(other));
        Ok(heap.alloc(SelectValue { parts }))
    }
}

fn select_parts(v: Value) -> Vec<String> {
    match v.downcast_ref::<SelectValue>() {
        Some(s) => s.parts.clone(),
        None => vec![to_json(v).to_string()],
    }
}

/// Converts a Starlark value into JSON for attribute checks. Labels become strings, opaque
/// values become `{"$opaque": name}`, selects `{"$select": [...parts]}`.
pub fn to_json(v: Value) -> serde_json::Value {
    use serde_json::Value as J;
    if v.is_none() {
        return J::Null;
    }
    if let Some(b) = v.unpack_bool() {
        return J::Bool(b);
    }
    if let Some(i) = v.unpack_i32() {
        return J::from(i);
    }
    if let Some(s) = v.unpack_str() {
        return J::String(s.to_owned());
    }
    if let Some(l) = v.downcast_ref::<LabelValue>() {
        return J::String(l.label.clone());
    }
    if let Some(s) = v.downcast_ref::<SelectValue>() {
        let parts: Vec<J> = s
            .parts
            .iter()
            .map(|p| serde_json::from_str(p).unwrap_or(J::Null))
            .collect();
        return serde_json::json!({ "$select": parts });
    }
    if let Some(b) = v.downcast_ref::<Builtin>() {
        return serde_json::json!({ "$opaque": b.name });
    }
    if let Some(l) = ListRef::from_value(v) {
        return J::Array(l.iter().map(to_json).collect());
    }
    if let Some(d) = starlark::values::dict::DictRef::from_value(v) {
        let mut m = serde_json::Map::new();
        for (k, val) in d.iter() {
            let key = match k.unpack_str() {
                Some(s) => s.to_owned(),
                None => match k.downcast_ref::<LabelValue>() {
                    Some(l) => l.label.clone(),
                    None => k.to_str(),
                },
            };
            m.insert(key, to_json(val));
        }
        return J::Object(m);
    }
    if let Some(t) = starlark::values::tuple::TupleRef::from_value(v) {
        return J::Array(t.content().iter().map(|x| to_json(*x)).collect());
    }
    serde_json::json!({ "$opaque": v.get_type() })
}
