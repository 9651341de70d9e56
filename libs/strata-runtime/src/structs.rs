//! JSON objects carried in gRPC messages as `google.protobuf.Struct`, and back.
//!
//! Hand-written because prost's well-known types have no serde support and `pbjson-types` would
//! change the generated code of every message (and the Bazel prost toolchain with it) for the
//! two conversions the services need.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::Map;

/// Deepest JSON nesting a `Struct` may carry. Each JSON level is about three protobuf message
/// levels (`Struct`, map entry, `Value`) and prost refuses to decode past 100, so a deeper
/// object would fail in the receiving service (as an internal error) instead of at the door.
pub const MAX_NESTING: usize = 16;

/// How deeply `json` nests objects and arrays (a scalar is 0, `{}` is 1).
pub fn nesting(json: &serde_json::Value) -> usize {
    match json {
        serde_json::Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON object as a `Struct`; `None` for anything that is not an object (absent on the wire).
pub fn to_struct(json: &serde_json::Value) -> Option<Struct> {
    match json {
        serde_json::Value::Object(map) => Some(object(map)),
        _ => None,
    }
}

/// A `Struct` as a JSON object. Numbers travel as doubles: whole ones within 2^53 come back as
/// integers, so `{"buckets": 1024}` round-trips as written.
pub fn from_struct(s: &Struct) -> serde_json::Value {
    serde_json::Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), from_value(v)))
            .collect(),
    )
}

/// An absent `Struct` as JSON `null` (every default), a present one as its object.
pub fn from_optional(s: Option<&Struct>) -> serde_json::Value {
    s.map_or(serde_json::Value::Null, from_struct)
}

fn object(map: &Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
    }
}

fn to_value(json: &serde_json::Value) -> Value {
    let kind = match json {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(object(map)),
    };
    Value { kind: Some(kind) }
}

/// Largest integer a double holds exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn from_value(v: &Value) -> serde_json::Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() <= EXACT => {
            serde_json::Value::from(*n as i64)
        }
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(*n)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Some(Kind::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.iter().map(from_value).collect())
        }
        Some(Kind::StructValue(s)) => from_struct(s),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn objects_round_trip_with_whole_numbers_as_integers() {
        let value = json!({
            "buckets": 1024, "scale": 0.25, "mode": "full", "on": true, "none": null,
            "hidden": [256, 128], "nested": { "minimum": -3, "huge": 1e300 }
        });
        let back = from_struct(&to_struct(&value).expect("an object"));
        assert_eq!(back, value);
        assert_eq!(back["buckets"].as_u64(), Some(1024));
    }

    #[test]
    fn nesting_counts_objects_and_arrays() {
        assert_eq!(nesting(&json!(1)), 0);
        assert_eq!(nesting(&json!({})), 1);
        assert_eq!(nesting(&json!({ "a": [1, { "b": [] }] })), 4);
    }

    #[test]
    fn only_objects_become_structs_and_absent_is_null() {
        assert!(to_struct(&json!([1])).is_none());
        assert!(to_struct(&serde_json::Value::Null).is_none());
        assert_eq!(from_optional(None), serde_json::Value::Null);
    }
}
