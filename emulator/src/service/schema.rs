//! Request field metadata of the 19 actions, read from `spec/actions.json` at compile time.

use std::collections::HashMap;

use serde_json::Value;

const ACTIONS_JSON: &str = include_str!("../../../spec/actions.json");

/// The type of a request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    String,
    /// `Integer` with integer kind `uint64`.
    UInt,
    /// `Integer` with integer kind `int64`.
    Int,
    Bool,
    Float,
    Array(Box<Ty>),
    /// An input structure, by name (e.g. `MultiSmsInfo`).
    Struct(String),
}

impl Ty {
    pub fn describe(&self) -> String {
        match self {
            Ty::String => "String".to_owned(),
            Ty::UInt | Ty::Int => "Integer".to_owned(),
            Ty::Bool => "Boolean".to_owned(),
            Ty::Float => "Float".to_owned(),
            Ty::Array(t) => format!("Array of {}", t.describe()),
            Ty::Struct(s) => s.clone(),
        }
    }
}

/// One request field (or input-structure field).
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub required: bool,
}

/// Field lists of all actions and input structures.
#[derive(Debug)]
pub struct Schema {
    actions: HashMap<String, Vec<Field>>,
    structs: HashMap<String, Vec<Field>>,
}

impl Schema {
    /// Loads the embedded `spec/actions.json`.
    pub fn load() -> Result<Schema, String> {
        Schema::from_json(ACTIONS_JSON)
    }

    pub fn from_json(text: &str) -> Result<Schema, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("actions.json: {e}"))?;
        let types = doc["data_types"].as_object().ok_or("actions.json: no data_types")?;
        let known: Vec<&str> = types.keys().map(String::as_str).collect();
        let mut structs = HashMap::new();
        for (name, t) in types {
            let fields = t["fields"].as_array().ok_or_else(|| format!("{name}: no fields"))?;
            let flag = |f: &Value| f["required_when_sent"].as_str() == Some("yes");
            structs.insert(name.clone(), parse_fields(fields, &known, flag)?);
        }
        let mut actions = HashMap::new();
        for a in doc["actions"].as_array().ok_or("actions.json: no actions")? {
            let name = a["name"].as_str().ok_or("action without a name")?;
            let fields = a["request_fields"].as_array().ok_or_else(|| format!("{name}: no request_fields"))?;
            let flag = |f: &Value| f["required"].as_str() == Some("yes");
            actions.insert(name.to_owned(), parse_fields(fields, &known, flag)?);
        }
        Ok(Schema { actions, structs })
    }

    pub fn request_fields(&self, action: &str) -> Option<&[Field]> {
        self.actions.get(action).map(Vec::as_slice)
    }

    pub fn struct_fields(&self, name: &str) -> Option<&[Field]> {
        self.structs.get(name).map(Vec::as_slice)
    }

    #[cfg(test)]
    pub fn action_count(&self) -> usize {
        self.actions.len()
    }
}

fn parse_fields(fields: &[Value], known: &[&str], required: impl Fn(&Value) -> bool) -> Result<Vec<Field>, String> {
    fields
        .iter()
        .map(|f| {
            let name = f["name"].as_str().ok_or("field without a name")?;
            let ty = f["type"].as_str().ok_or_else(|| format!("{name}: no type"))?;
            let ty =
                parse_ty(ty, f["integer_kind"].as_str(), known).ok_or_else(|| format!("{name}: unknown type {ty}"))?;
            Ok(Field { name: name.to_owned(), ty, required: required(f) })
        })
        .collect()
}

fn parse_ty(s: &str, integer_kind: Option<&str>, known: &[&str]) -> Option<Ty> {
    if let Some(inner) = s.strip_prefix("Array of ") {
        return parse_ty(inner, integer_kind, known).map(|t| Ty::Array(Box::new(t)));
    }
    Some(match s {
        "String" => Ty::String,
        "Integer" if integer_kind == Some("int64") => Ty::Int,
        "Integer" => Ty::UInt,
        "Boolean" => Ty::Bool,
        "Float" => Ty::Float,
        other if known.contains(&other) => Ty::Struct(other.to_owned()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_actions_load() {
        let s = Schema::load().unwrap();
        assert_eq!(s.action_count(), 19);
        for a in tcsms::api::ACTIONS {
            assert!(s.request_fields(a.name).is_some(), "{}", a.name);
        }
        let send = s.request_fields("SendSms").unwrap();
        let phones = send.iter().find(|f| f.name == "PhoneNumberSet").unwrap();
        assert_eq!(phones.ty, Ty::Array(Box::new(Ty::String)));
        assert!(phones.required);
        let multi = s.request_fields("SendMultiGlobalSms").unwrap();
        assert_eq!(multi[1].ty, Ty::Array(Box::new(Ty::Struct("MultiSmsInfo".into()))));
        let info = s.struct_fields("MultiSmsInfo").unwrap();
        assert!(info.iter().any(|f| f.name == "PhoneNumber" && f.required));
        assert!(info.iter().any(|f| f.name == "SenderId" && !f.required));
    }
}
