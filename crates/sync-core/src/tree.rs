//! Typed reads from a document read whole: a serde `Deserializer` over automerge's hydrated value.
//!
//! autosurgeon reads a struct one `get` per field, and each `get` searches the document's op
//! set; a JSEA has a few hundred fields. `ReadDoc::hydrate` walks the whole op set once and
//! returns a plain tree, with a conflict mark on every value that has concurrent rivals.
//! The record types derive serde alongside autosurgeon with the same layout (field names as
//! keys, closed sets as snake_case strings, `None` as null or absent), so the tree deserializes
//! straight into them.
//!
//! The other way, [`to_tree`] turns a record into the hydrated value autosurgeon would have
//! written for it, so a new document is written in one batch (`init_root_from_hydrate`) instead
//! of field by field.
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

/// `value` as the hydrated value autosurgeon writes for the same Rust value: signed integers as
/// `Int`, unsigned as `Uint`, floats as `F64`, `None` and `()` as null, a unit variant (a closed
/// set's value) as its name, structs and string-keyed maps as maps, sequences as lists.
pub fn to_tree<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    value.serialize(ToTree)
}

fn map_of(entries: Vec<(String, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>()
            .into(),
    )
}

/// Serializes into a hydrated value.
#[derive(Debug, Clone, Copy)]
struct ToTree;

/// A list, a map or a struct being serialized; `variant` wraps it as `{variant: …}`.
#[derive(Debug)]
struct Building {
    list: Vec<Value>,
    map: Vec<(String, Value)>,
    next_key: Option<String>,
    variant: Option<&'static str>,
}

impl Building {
    fn new(variant: Option<&'static str>) -> Self {
        Self {
            list: Vec::new(),
            map: Vec::new(),
            next_key: None,
            variant,
        }
    }

    fn wrap(self, value: Value) -> Value {
        match self.variant {
            Some(variant) => map_of(vec![(variant.to_owned(), value)]),
            None => value,
        }
    }

    fn finish_list(mut self) -> Value {
        let list = Value::List(std::mem::take(&mut self.list).into());
        self.wrap(list)
    }

    fn finish_map(mut self) -> Value {
        let map = map_of(std::mem::take(&mut self.map));
        self.wrap(map)
    }
}

impl serde::Serializer for ToTree {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Building;
    type SerializeTuple = Building;
    type SerializeTupleStruct = Building;
    type SerializeTupleVariant = Building;
    type SerializeMap = Building;
    type SerializeStruct = Building;
    type SerializeStructVariant = Building;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Boolean(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Int(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Uint(v)))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::F64(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Str(v.into())))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Bytes(v.to_vec())))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Scalar(ScalarValue::Null))
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(map_of(vec![(variant.to_owned(), value.serialize(self)?)]))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Building, Error> {
        Ok(Building::new(None))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Building, Error> {
        Ok(Building::new(None))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Building, Error> {
        Ok(Building::new(None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Building, Error> {
        Ok(Building::new(Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Building, Error> {
        Ok(Building::new(None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Building, Error> {
        Ok(Building::new(None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Building, Error> {
        Ok(Building::new(Some(variant)))
    }
}

/// The list-shaped parts of serde's data model all build a list.
macro_rules! serialize_as_list {
    ($($trait:ident :: $method:ident),+) => {$(
        impl serde::ser::$trait for Building {
            type Ok = Value;
            type Error = Error;
            fn $method<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.list.push(value.serialize(ToTree)?);
                Ok(())
            }
            fn end(self) -> Result<Value, Error> {
                Ok(self.finish_list())
            }
        }
    )+};
}

serialize_as_list!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl serde::ser::SerializeMap for Building {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match key.serialize(ToTree)? {
            Value::Scalar(ScalarValue::Str(key)) => {
                self.next_key = Some(key.to_string());
                Ok(())
            }
            _ => Err(serde::ser::Error::custom("a map key must be a string")),
        }
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .next_key
            .take()
            .ok_or_else(|| <Error as serde::ser::Error>::custom("a map value came before its key"))?;
        self.map.push((key, value.serialize(ToTree)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish_map())
    }
}

impl serde::ser::SerializeStruct for Building {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.push((key.to_owned(), value.serialize(ToTree)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish_map())
    }
}

impl serde::ser::SerializeStructVariant for Building {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        serde::ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish_map())
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
        let sample: Sample = read(root.get("s").unwrap()).unwrap();
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
        let error = read::<Sample>(root.get("s").unwrap()).unwrap_err().to_string();
        assert!(error.contains("invalid type: integer `7`"), "{error}");
        let mut doc = AutoCommit::new();
        let obj = doc.put_object(automerge::ROOT, "s", ObjType::Map).unwrap();
        doc.put(&obj, "level", "gloves").unwrap();
        let Value::Map(root) = doc.hydrate(automerge::ROOT, None).unwrap() else {
            panic!("root is a map");
        };
        let error = read::<Sample>(root.get("s").unwrap()).unwrap_err().to_string();
        assert!(error.contains("gloves"), "{error}");
    }
}
