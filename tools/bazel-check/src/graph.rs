//! `bazel-check graph`: the first-party target graph, as text or Graphviz dot.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::checks::{Edge, layer};
use crate::label::Label;
use crate::model::Graph;

fn layer_of(label: &str) -> &'static str {
    Label::parse(label, "")
        .and_then(|l| layer(&l.package))
        .map(|x| x.0)
        .unwrap_or("unlayered")
}

pub fn text(g: &Graph, edges: &[Edge], external: bool) -> String {
    let mut by_from: BTreeMap<&str, Vec<&Edge>> = BTreeMap::new();
    for e in edges {
        if external || e.to.starts_with("//") {
            by_from.entry(&e.from).or_default().push(e);
        }
    }
    let mut s = String::new();
    for t in g.targets() {
        let l = t.label();
        let _ = writeln!(s, "{l} ({}) [{}]", t.kind, layer_of(&l));
        for e in by_from.get(l.as_str()).into_iter().flatten() {
            let _ = writeln!(s, "  -> {} ({})", e.to, e.attr);
        }
    }
    s
}

pub fn dot(g: &Graph, edges: &[Edge], external: bool) -> String {
    let mut s = String::from(
        "digraph strata {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    let mut clusters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for t in g.targets() {
        clusters
            .entry(layer_of(&t.label()))
            .or_default()
            .push(t.label());
    }
    for (i, (name, nodes)) in clusters.iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_{i} {{\n    label=\"{name}\";");
        for n in nodes {
            let _ = writeln!(s, "    \"{n}\";");
        }
        s.push_str("  }\n");
    }
    for e in edges {
        if external || e.to.starts_with("//") {
            let _ = writeln!(s, "  \"{}\" -> \"{}\";", e.from, e.to);
        }
    }
    s.push_str("}\n");
    s
}
