//! Small walks over the Starlark AST shared by the generator and the checker.

use starlark::syntax::AstModule;
use starlark::syntax::ast::{ArgumentP, AstExpr, AstLiteral, AstStmt, ExprP, ParameterP, StmtP};

use crate::schema::Attr;

/// A top-level `def` as the schema sees it.
#[derive(Debug, Clone, Default)]
pub struct DefInfo {
    pub name: String,
    pub line: usize,
    /// name → attribute (type inferred from the default, mandatory when there is none).
    pub params: Vec<(String, Attr)>,
    pub has_kwargs: bool,
    /// Callees that receive `**something`: `foo` or `base.attr`.
    pub forwards: Vec<String>,
}

pub fn walk_expr<'a>(e: &'a AstExpr, f: &mut dyn FnMut(&'a AstExpr)) {
    f(e);
    e.visit_expr(|c| walk_expr(c, f));
}

pub fn walk_stmt<'a>(s: &'a AstStmt, f: &mut dyn FnMut(&'a AstExpr)) {
    s.visit_expr(|e| walk_expr(e, f));
    s.visit_stmt(|c| walk_stmt(c, f));
}

fn callee_name(e: &AstExpr) -> Option<String> {
    match &e.node {
        ExprP::Identifier(id) => Some(id.node.ident.clone()),
        ExprP::Dot(base, attr) => callee_name(base).map(|b| format!("{}.{}", b, attr.node)),
        _ => None,
    }
}

fn default_type(e: &AstExpr) -> &'static str {
    match &e.node {
        ExprP::Literal(AstLiteral::String(_)) => "string",
        ExprP::Literal(AstLiteral::Int(_)) => "int",
        ExprP::Identifier(id) if id.node.ident == "True" || id.node.ident == "False" => "bool",
        ExprP::List(_) => "list",
        ExprP::Dict(_) => "dict",
        _ => "any",
    }
}

/// Top-level `def`s of a module with their parameters and `**kwargs` forwarding.
pub fn top_level_defs(ast: &AstModule) -> Vec<DefInfo> {
    let mut out = Vec::new();
    let mut stmts = Vec::new();
    flatten(ast.statement(), &mut stmts);
    for s in stmts {
        if let StmtP::Def(d) = &s.node {
            let mut info = DefInfo {
                name: d.name.node.ident.clone(),
                line: ast.file_span(s.span).resolve_span().begin.line + 1,
                ..Default::default()
            };
            let mut kwargs_name = None;
            for p in &d.params {
                match &p.node {
                    ParameterP::Normal(id, _, default) => {
                        let ty = default.as_ref().map(|e| default_type(e)).unwrap_or("any");
                        info.params
                            .push((id.node.ident.clone(), Attr::new(ty, default.is_none())));
                    }
                    ParameterP::KwArgs(id, _) => {
                        info.has_kwargs = true;
                        kwargs_name = Some(id.node.ident.clone());
                    }
                    _ => {}
                }
            }
            let mut forwards = Vec::new();
            let mut popped = Vec::new();
            walk_stmt(&d.body, &mut |e| {
                if let ExprP::Call(callee, args) = &e.node {
                    let forwards_kwargs = args
                        .args
                        .iter()
                        .any(|a| matches!(&a.node, ArgumentP::KwArgs(_)));
                    if forwards_kwargs && let Some(n) = callee_name(callee) {
                        forwards.push(n);
                    }
                    // `kwargs.pop("x")` / `kwargs.get("x")`: the macro consumes `x` itself.
                    if let ExprP::Dot(base, method) = &callee.node {
                        let on_kwargs = matches!(&base.node, ExprP::Identifier(id)
                            if Some(&id.node.ident) == kwargs_name.as_ref());
                        if on_kwargs
                            && (method.node == "pop" || method.node == "get")
                            && let Some(first) = args.args.first()
                            && let ArgumentP::Positional(k) = &first.node
                            && let ExprP::Literal(AstLiteral::String(s)) = &k.node
                        {
                            popped.push(s.node.clone());
                        }
                    }
                }
                if let ExprP::Index(pair) = &e.node {
                    let on_kwargs = matches!(&pair.0.node, ExprP::Identifier(id)
                        if Some(&id.node.ident) == kwargs_name.as_ref());
                    if let (true, ExprP::Literal(AstLiteral::String(s))) = (on_kwargs, &pair.1.node)
                    {
                        popped.push(s.node.clone());
                    }
                }
            });
            for p in popped {
                if !info.params.iter().any(|(n, _)| *n == p) {
                    info.params.push((p, Attr::new("any", false)));
                }
            }
            forwards.dedup();
            info.forwards = forwards;
            out.push(info);
        }
    }
    out
}

fn flatten<'a>(s: &'a AstStmt, out: &mut Vec<&'a AstStmt>) {
    match &s.node {
        StmtP::Statements(v) => v.iter().for_each(|x| flatten(x, out)),
        _ => out.push(s),
    }
}
