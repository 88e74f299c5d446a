//! Order-independent, unknown-key-tolerant field access for znode JSON, with errors naming the
//! znode and the field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ZkError;

/// A parsed JSON object and the path it came from.
pub(super) struct Obj<'a> {
    path: &'a str,
    map: Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// Parses `data` as a JSON object.
    pub(super) fn parse(path: &'a str, data: &[u8]) -> Result<Obj<'a>, ZkError> {
        match serde_json::from_slice::<Value>(data) {
            Ok(Value::Object(map)) => Ok(Obj { path, map }),
            Ok(other) => Err(ZkError::json(
                path,
                format!("expected a JSON object, got {other}"),
            )),
            Err(e) => Err(ZkError::json(path, e)),
        }
    }

    fn err(&self, key: &str, what: &str) -> ZkError {
        ZkError::json(self.path, format!("field {key:?}: {what}"))
    }

    /// A present, non-null field.
    fn field(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn opt_i64(&self, key: &str) -> Result<Option<i64>, ZkError> {
        match self.field(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(key, "expected an integer")),
        }
    }

    pub(super) fn i64(&self, key: &str) -> Result<i64, ZkError> {
        self.opt_i64(key)?.ok_or_else(|| self.err(key, "missing"))
    }

    pub(super) fn i32(&self, key: &str) -> Result<i32, ZkError> {
        i32::try_from(self.i64(key)?).map_err(|_| self.err(key, "out of range"))
    }

    /// An integer written either as a number or as a decimal string (Kafka's timestamps).
    pub(super) fn opt_lenient_i64(&self, key: &str) -> Result<Option<i64>, ZkError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| self.err(key, "expected a decimal string")),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(key, "expected an integer")),
        }
    }

    pub(super) fn opt_string(&self, key: &str) -> Result<Option<String>, ZkError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(key, "expected a string")),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<String, ZkError> {
        self.opt_string(key)?
            .ok_or_else(|| self.err(key, "missing"))
    }

    pub(super) fn opt_string_array(&self, key: &str) -> Result<Option<Vec<String>>, ZkError> {
        let Some(value) = self.field(key) else {
            return Ok(None);
        };
        let list = value
            .as_array()
            .ok_or_else(|| self.err(key, "expected an array"))?;
        list.iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.err(key, "expected strings"))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An array of JSON objects, each an [`Obj`] of the same path.
    pub(super) fn objects(&self, key: &str) -> Result<Vec<Obj<'a>>, ZkError> {
        let value = self.field(key).ok_or_else(|| self.err(key, "missing"))?;
        let list = value
            .as_array()
            .ok_or_else(|| self.err(key, "expected an array"))?;
        list.iter()
            .map(|v| match v {
                Value::Object(map) => Ok(Obj {
                    path: self.path,
                    map: map.clone(),
                }),
                _ => Err(self.err(key, "expected objects")),
            })
            .collect()
    }

    pub(super) fn i32_array(&self, key: &str) -> Result<Vec<i32>, ZkError> {
        let value = self.field(key).ok_or_else(|| self.err(key, "missing"))?;
        int_list(value).ok_or_else(|| self.err(key, "expected an array of integers"))
    }

    /// A `{"k":"v"}` map; non-string values are kept as their JSON text.
    pub(super) fn opt_string_map(
        &self,
        key: &str,
    ) -> Result<Option<BTreeMap<String, String>>, ZkError> {
        let Some(value) = self.field(key) else {
            return Ok(None);
        };
        let map = value
            .as_object()
            .ok_or_else(|| self.err(key, "expected an object"))?;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(Some(
            map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        ))
    }

    /// A `{"0":[1,2],"1":[2,1]}` partition → replicas map.
    pub(super) fn assignment(&self, key: &str) -> Result<Option<BTreeMap<i32, Vec<i32>>>, ZkError> {
        let Some(value) = self.field(key) else {
            return Ok(None);
        };
        let map = value
            .as_object()
            .ok_or_else(|| self.err(key, "expected an object"))?;
        let mut out = BTreeMap::new();
        for (partition, replicas) in map {
            let p = partition
                .parse()
                .map_err(|_| self.err(key, "partition keys must be integers"))?;
            let r = int_list(replicas)
                .ok_or_else(|| self.err(key, "replicas must be integer arrays"))?;
            out.insert(p, r);
        }
        Ok(Some(out))
    }
}

fn int_list(value: &Value) -> Option<Vec<i32>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_i64().and_then(|i| i32::try_from(i).ok()))
        .collect()
}
