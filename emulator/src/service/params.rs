//! Table-driven parameter checks from the schema: UnknownParameter, MissingParameter and
//! wrong types (InvalidParameter), for JSON bodies and for GET query strings
//! (`Name.N` / `Name.N.Field` flattening).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::service::envelope::ApiError;
use crate::service::schema::{Field, Schema, Ty};

/// Checks a JSON request object against `fields`; returns it without `null` members
/// (which count as absent, as the SDKs never send them).
pub fn validate(schema: &Schema, fields: &[Field], obj: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let obj = strip_nulls_map(obj);
    check_unknown(schema, fields, &obj, "")?;
    check_missing(schema, fields, &obj, "")?;
    check_types(schema, fields, &obj, "")?;
    Ok(obj)
}

fn strip_nulls_map(obj: Map<String, Value>) -> Map<String, Value> {
    obj.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect()
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_nulls_map(m)),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The struct fields reached through `ty` (a struct or an array of structs), if any.
fn nested<'a>(schema: &'a Schema, ty: &Ty) -> Option<&'a [Field]> {
    match ty {
        Ty::Struct(name) => schema.struct_fields(name),
        Ty::Array(inner) => nested(schema, inner),
        _ => None,
    }
}

/// A check run on one nested object: `(path, object, its struct's fields)`.
type NestedCheck<'a> = dyn FnMut(&str, &Map<String, Value>, &[Field]) -> Result<(), ApiError> + 'a;

/// Calls `f(path, object, struct fields)` for each nested object of a struct-typed value.
fn each_nested_object(
    schema: &Schema,
    ty: &Ty,
    value: &Value,
    path: &str,
    f: &mut NestedCheck,
) -> Result<(), ApiError> {
    match (ty, value) {
        (Ty::Struct(_), Value::Object(m)) => match nested(schema, ty) {
            Some(fields) => f(path, m, fields),
            None => Ok(()),
        },
        (Ty::Array(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                each_nested_object(schema, inner, item, &join(path, &i.to_string()), f)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_unknown(schema: &Schema, fields: &[Field], obj: &Map<String, Value>, prefix: &str) -> Result<(), ApiError> {
    for (key, value) in obj {
        let path = join(prefix, key);
        let field = fields.iter().find(|f| &f.name == key).ok_or_else(|| ApiError::unknown(&path))?;
        each_nested_object(schema, &field.ty, value, &path, &mut |p, m, fs| check_unknown(schema, fs, m, p))?;
    }
    Ok(())
}

fn check_missing(schema: &Schema, fields: &[Field], obj: &Map<String, Value>, prefix: &str) -> Result<(), ApiError> {
    for field in fields {
        let path = join(prefix, &field.name);
        match obj.get(&field.name) {
            None if field.required => return Err(ApiError::missing(&path)),
            None => {}
            Some(value) => {
                each_nested_object(schema, &field.ty, value, &path, &mut |p, m, fs| check_missing(schema, fs, m, p))?
            }
        }
    }
    Ok(())
}

fn check_types(schema: &Schema, fields: &[Field], obj: &Map<String, Value>, prefix: &str) -> Result<(), ApiError> {
    for field in fields {
        if let Some(value) = obj.get(&field.name) {
            check_type(schema, &field.ty, value, &join(prefix, &field.name))?;
        }
    }
    Ok(())
}

fn check_type(schema: &Schema, ty: &Ty, value: &Value, path: &str) -> Result<(), ApiError> {
    let ok = match (ty, value) {
        (Ty::String, Value::String(_)) => true,
        (Ty::UInt, Value::Number(n)) => n.is_u64(),
        (Ty::Int, Value::Number(n)) => n.is_i64(),
        (Ty::Bool, Value::Bool(_)) => true,
        (Ty::Float, Value::Number(_)) => true,
        (Ty::Array(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_type(schema, inner, item, &join(path, &i.to_string()))?;
            }
            true
        }
        (Ty::Struct(_), Value::Object(m)) => {
            if let Some(fields) = nested(schema, ty) {
                check_types(schema, fields, m, path)?;
            }
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        let want = match ty {
            Ty::UInt => "a non-negative Integer".to_owned(),
            other => other.describe(),
        };
        Err(ApiError::invalid(format!("The value of parameter `{path}` must be {want}.")))
    }
}

/// A query string after form decoding, as a tree split on `.`.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
}

/// Decodes a GET query string (`application/x-www-form-urlencoded`) into a JSON object shaped
/// by `fields`, then checks it like a JSON body.
pub fn from_query(schema: &Schema, fields: &[Field], query: &str) -> Result<Map<String, Value>, ApiError> {
    let mut root = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_decode(k)?;
        let value = form_decode(v)?;
        insert(&mut root, &key, value)?;
    }
    let mut obj = Map::new();
    for (key, node) in root {
        let field = fields.iter().find(|f| f.name == key).ok_or_else(|| ApiError::unknown(&key))?;
        let value = convert(schema, &field.ty, node, &key)?;
        obj.insert(key, value);
    }
    validate(schema, fields, obj)
}

/// Decodes one `application/x-www-form-urlencoded` name or value (`+` is a space).
pub fn form_decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = bytes.get(i + 1..i + 3).and_then(hex_byte);
                match byte {
                    Some(b) => out.push(b),
                    None => return Err(ApiError::invalid("The query string has a malformed percent-escape.")),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::invalid("The query string is not UTF-8."))
}

/// The byte of two hex digits (`u8::from_str_radix` alone would also take "+1").
fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    match pair {
        [hi, lo] => Some((digit(*hi)? * 16 + digit(*lo)?) as u8),
        _ => None,
    }
}

fn insert(map: &mut BTreeMap<String, Node>, key: &str, value: String) -> Result<(), ApiError> {
    let clash = || ApiError::invalid(format!("The parameter `{key}` is given twice or conflicts with another."));
    let mut segments = key.split('.').peekable();
    let mut current = map;
    while let Some(seg) = segments.next() {
        if seg.is_empty() {
            return Err(ApiError::unknown(key));
        }
        if segments.peek().is_none() {
            if current.contains_key(seg) {
                return Err(clash());
            }
            current.insert(seg.to_owned(), Node::Leaf(value));
            return Ok(());
        }
        let entry = current.entry(seg.to_owned()).or_insert_with(|| Node::Map(BTreeMap::new()));
        current = match entry {
            Node::Map(m) => m,
            Node::Leaf(_) => return Err(clash()),
        };
    }
    Ok(())
}

fn convert(schema: &Schema, ty: &Ty, node: Node, path: &str) -> Result<Value, ApiError> {
    let type_error = || ApiError::invalid(format!("The value of parameter `{path}` must be {}.", ty.describe()));
    match (ty, node) {
        (Ty::String, Node::Leaf(s)) => Ok(Value::String(s)),
        (Ty::UInt, Node::Leaf(s)) => s.parse::<u64>().map(Value::from).map_err(|_| type_error()),
        (Ty::Int, Node::Leaf(s)) => s.parse::<i64>().map(Value::from).map_err(|_| type_error()),
        (Ty::Float, Node::Leaf(s)) => {
            s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).ok_or_else(type_error)
        }
        (Ty::Bool, Node::Leaf(s)) => match s.as_str() {
            "true" | "True" | "1" => Ok(Value::Bool(true)),
            "false" | "False" | "0" => Ok(Value::Bool(false)),
            _ => Err(type_error()),
        },
        (Ty::Array(inner), Node::Map(m)) => {
            let mut items = Vec::with_capacity(m.len());
            for (k, child) in m {
                let index: usize = k.parse().map_err(|_| ApiError::unknown(&join(path, &k)))?;
                items.push((index, child));
            }
            items.sort_by_key(|(i, _)| *i);
            let mut out = Vec::with_capacity(items.len());
            for (expected, (index, child)) in items.into_iter().enumerate() {
                if index != expected {
                    return Err(ApiError::missing(&join(path, &expected.to_string())));
                }
                out.push(convert(schema, inner, child, &join(path, &index.to_string()))?);
            }
            Ok(Value::Array(out))
        }
        (Ty::Struct(name), Node::Map(m)) => {
            let fields = schema.struct_fields(name).ok_or_else(type_error)?;
            let mut obj = Map::new();
            for (k, child) in m {
                let child_path = join(path, &k);
                let field = fields.iter().find(|f| f.name == k).ok_or_else(|| ApiError::unknown(&child_path))?;
                obj.insert(k, convert(schema, &field.ty, child, &child_path)?);
            }
            Ok(Value::Object(obj))
        }
        _ => Err(type_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::load().unwrap()
    }

    fn check(action: &str, body: Value) -> Result<Map<String, Value>, ApiError> {
        let s = schema();
        let fields = s.request_fields(action).unwrap().to_vec();
        validate(&s, &fields, body.as_object().unwrap().clone())
    }

    #[test]
    fn json_verdicts() {
        assert!(check("PullSmsSendStatus", json!({"SmsSdkAppId": "1", "Limit": 10})).is_ok());
        assert_eq!(check("PullSmsSendStatus", json!({"SmsSdkAppId": "1"})).unwrap_err().code, "MissingParameter");
        assert_eq!(
            check("PullSmsSendStatus", json!({"SmsSdkAppId": "1", "Limit": 1, "X": 1})).unwrap_err().code,
            "UnknownParameter"
        );
        for bad in [json!("10"), json!(-1), json!(1.5), json!(null)] {
            let r = check("PullSmsSendStatus", json!({"SmsSdkAppId": "1", "Limit": bad.clone()}));
            let want = if bad.is_null() { "MissingParameter" } else { "InvalidParameter" };
            assert_eq!(r.unwrap_err().code, want, "{bad}");
        }
        let multi =
            json!({"SmsSdkAppId": "1", "MultiSmsInfoSet": [{"PhoneNumber": "+1", "TemplateId": "1", "Nope": 1}]});
        let e = check("SendMultiGlobalSms", multi).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.contains("MultiSmsInfoSet.0.Nope")), ("UnknownParameter", true));
        let multi = json!({"SmsSdkAppId": "1", "MultiSmsInfoSet": [{"PhoneNumber": "+1"}]});
        assert_eq!(check("SendMultiGlobalSms", multi).unwrap_err().code, "MissingParameter");
        let multi = json!({"SmsSdkAppId": "1", "MultiSmsInfoSet": [{"PhoneNumber": 1, "TemplateId": "1"}]});
        assert_eq!(check("SendMultiGlobalSms", multi).unwrap_err().code, "InvalidParameter");
    }

    #[test]
    fn query_strings_unflatten() {
        let s = schema();
        let fields = s.request_fields("SendMultiGlobalSms").unwrap();
        let q = "SmsSdkAppId=1400006666&MultiSmsInfoSet.0.PhoneNumber=%2B60198000000&MultiSmsInfoSet.0.TemplateId=1\
                 &MultiSmsInfoSet.0.TemplateParamSet.0=a+b&MultiSmsInfoSet.1.PhoneNumber=%2B1&MultiSmsInfoSet.1.TemplateId=2";
        let v = from_query(&s, fields, q).unwrap();
        assert_eq!(v["MultiSmsInfoSet"][0]["PhoneNumber"], "+60198000000");
        assert_eq!(v["MultiSmsInfoSet"][0]["TemplateParamSet"][0], "a b");
        assert_eq!(v["MultiSmsInfoSet"][1]["TemplateId"], "2");
        let fields = s.request_fields("DescribeSmsSignList").unwrap();
        let v = from_query(&s, fields, "International=0&SignIdSet.0=1&SignIdSet.1=2&SignIdSet.10=3").unwrap_err();
        assert_eq!(v.code, "MissingParameter");
        let v = from_query(&s, fields, "International=0&SignIdSet.1=2&SignIdSet.0=1").unwrap();
        assert_eq!(v["SignIdSet"], json!([1, 2]));
        assert_eq!(from_query(&s, fields, "International=x").unwrap_err().code, "InvalidParameter");
        assert_eq!(from_query(&s, fields, "International=0&Foo=1").unwrap_err().code, "UnknownParameter");
        assert_eq!(from_query(&s, fields, "International=0&International=1").unwrap_err().code, "InvalidParameter");
        assert_eq!(from_query(&s, fields, "International=%ZZ").unwrap_err().code, "InvalidParameter");
        assert_eq!(from_query(&s, fields, "International=%FF").unwrap_err().code, "InvalidParameter");
        assert_eq!(from_query(&s, fields, "International=%+1").unwrap_err().code, "InvalidParameter");
        assert_eq!(hex_byte(b"2B"), Some(b'+'));
        assert_eq!(from_query(&s, fields, "").unwrap_err().code, "MissingParameter");
    }
}
