//! Typed reads from a document read whole: a serde `Deserializer` over automerge's hydrated value.
//!
//! autosurgeon reads a struct one `get` per field, and each `get` searches the document's op
//! set; a JSEA has a few hundred fields. `ReadDoc::hydrate` walks the whole op set once and
//! returns a plain tree, with a conflict mark on every value that has concurrent rivals.
//! The record types derive serde alongside autosurgeon with the same layout (field names as
//! keys, closed sets as snake_case strings, `None` as null or absent), so the tree deserializes
//! straight into them.
//!
//! One difference, on purpose: a text object reads as a string. Other automerge clients (the
//! JavaScript library by default) write strings as text objects; autosurgeon refuses them where
//! a `String` is expected.

use automerge::ScalarValue;
use automerge::hydrate::Value;
use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};

/// Reads `T` from a hydrated value.
pub fn read<'de, T: serde::Deserialize<'de>>(value: &'de Value) -> Result<T, Error> {
    T::deserialize(Node(value))
}

/// One value of the tree, as a serde deserializer.
#[derive(Debug, Clone, Copy)]
pub struct Node<'de>(pub &'de Value);

impl<'de> IntoDeserializer<'de, Error> for Node<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Map(_) => de::Unexpected::Map,
        Value::List(_) => de::Unexpected::Seq,
        Value::Text(_) => de::Unexpected::Other("a text object"),
        Value::Scalar(s) => match s {
            ScalarValue::Bytes(b) => de::Unexpected::Bytes(b),
            ScalarValue::Str(s) => de::Unexpected::Str(s),
            ScalarValue::Int(n) | ScalarValue::Timestamp(n) => de::Unexpected::Signed(*n),
            ScalarValue::Uint(n) => de::Unexpected::Unsigned(*n),
            ScalarValue::F64(n) => de::Unexpected::Float(*n),
            ScalarValue::Counter(c) => de::Unexpected::Signed(i64::from(c)),
            ScalarValue::Boolean(b) => de::Unexpected::Bool(*b),
            ScalarValue::Unknown { .. } => de::Unexpected::Other("a value of an unknown type"),
            ScalarValue::Null => de::Unexpected::Unit,
        },
    }
}

impl<'de> Deserializer<'de> for Node<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Map(map) => {
                let entries = map.iter().map(|(k, v)| (k.as_str(), Node(&v.value)));
                visitor.visit_map(MapDeserializer::new(entries))
            }
            Value::List(list) => {
                visitor.visit_seq(SeqDeserializer::new(list.iter().map(|item| Node(&item.value))))
            }
            Value::Text(text) => visitor.visit_string(text.to_string()),
            Value::Scalar(scalar) => match scalar {
                ScalarValue::Str(s) => visitor.visit_borrowed_str(s),
                ScalarValue::Int(n) | ScalarValue::Timestamp(n) => visitor.visit_i64(*n),
                ScalarValue::Uint(n) => visitor.visit_u64(*n),
                ScalarValue::F64(n) => visitor.visit_f64(*n),
                ScalarValue::Counter(c) => visitor.visit_i64(i64::from(c)),
                ScalarValue::Boolean(b) => visitor.visit_bool(*b),
                ScalarValue::Bytes(b) => visitor.visit_borrowed_bytes(b),
                ScalarValue::Null => visitor.visit_unit(),
                ScalarValue::Unknown { .. } => Err(de::Error::invalid_type(unexpected(self.0), &visitor)),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Scalar(ScalarValue::Null) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            // A closed set of values is stored as its name.
            Value::Scalar(ScalarValue::Str(s)) => s
                .as_str()
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            Value::Text(text) => text
                .to_string()
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            // A variant with data: a map of one key, the variant's name.
            Value::Map(map) if map.iter().count() == 1 => {
                let entries = map.iter().map(|(k, v)| (k.as_str(), Node(&v.value)));
                MapDeserializer::new(entries).deserialize_enum(name, variants, visitor)
            }
            other => Err(de::Error::invalid_type(
                unexpected(other),
                &"a name or a map of one variant",
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ReadDoc};
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        name: String,
        count: u8,
        ratio: f64,
        note: Option<String>,
        missing: Option<String>,
        tags: Vec<String>,
        level: crate::model::ControlLevel,
    }

    #[test]
    fn a_hydrated_tree_reads_into_serde_types_with_text_as_strings() {
        let mut doc = AutoCommit::new();
        let obj = doc.put_object(automerge::ROOT, "s", ObjType::Map).unwrap();
        let name = doc.put_object(&obj, "name", ObjType::Text).unwrap();
        doc.splice_text(&name, 0, 0, "Lift").unwrap();
        doc.put(&obj, "count", 3_i64).unwrap();
        doc.put(&obj, "ratio", 2_u64).unwrap();
        doc.put(&obj, "note", ScalarValue::Null).unwrap();
        doc.put(&obj, "level", "ppe").unwrap();
        let tags = doc.put_object(&obj, "tags", ObjType::List).unwrap();
        doc.insert(&tags, 0, "a").unwrap();
        doc.insert(&tags, 1, "b").unwrap();
        let Value::Map(root) = doc.hydrate(automerge::ROOT, None).unwrap() else {
            panic!("root is a map");
        };
        let sample: Sample = read(&root.get("s").unwrap()).unwrap();
        assert_eq!(
            sample,
            Sample {
                name: "Lift".into(),
                count: 3,
                ratio: 2.0,
                note: None,
                missing: None,
                tags: vec!["a".into(), "b".into()],
                level: crate::model::ControlLevel::Ppe,
            }
        );
    }

    #[test]
    fn a_wrong_shape_is_an_error_that_names_the_field() {
        let mut doc = AutoCommit::new();
        let obj = doc.put_object(automerge::ROOT, "s", ObjType::Map).unwrap();
        doc.put(&obj, "name", 7_i64).unwrap();
        let Value::Map(root) = doc.hydrate(automerge::ROOT, None).unwrap() else {
            panic!("root is a map");
        };
        let error = read::<Sample>(&root.get("s").unwrap()).unwrap_err().to_string();
        assert!(error.contains("invalid type: integer `7`"), "{error}");
        let mut doc = AutoCommit::new();
        let obj = doc.put_object(automerge::ROOT, "s", ObjType::Map).unwrap();
        doc.put(&obj, "level", "gloves").unwrap();
        let Value::Map(root) = doc.hydrate(automerge::ROOT, None).unwrap() else {
            panic!("root is a map");
        };
        let error = read::<Sample>(&root.get("s").unwrap()).unwrap_err().to_string();
        assert!(error.contains("gloves"), "{error}");
    }
}
