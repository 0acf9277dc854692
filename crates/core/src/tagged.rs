//! Deserializers for the two tagged enums, [`Event`] (`"type"`) and [`Target`] (`"kind"`).
//!
//! serde's derive for an internally tagged enum buffers the whole object in its private
//! `Content` type and then deserializes every variant's fields from that buffer, which compiles a
//! second deserializer for each field type. These read the object once into a JSON map and take
//! each field from it with the same deserializer every other input uses ([`crate::wire`]), which
//! keeps the browser package and the worker a good deal smaller. The JSON and the error codes
//! are the same as the derive's: an unknown field is `unknown_field`, a missing one
//! `missing_field`, a bad id inside one `invalid_id`.

use alloc::string::String;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::events::Event;
use crate::model::{
    AdapterFields, Target, SHOPIFY_FIELDS, SHOPIFY_REQUIRED, WOO_FIELDS, WOO_REQUIRED,
};

/// The fields of one tagged object, taken one by one.
struct Fields<E> {
    map: Map<String, Value>,
    _error: core::marker::PhantomData<E>,
}

impl<E: serde::de::Error> Fields<E> {
    fn read<'de, D: Deserializer<'de, Error = E>>(
        d: D,
        tag: &'static str,
    ) -> Result<(String, Fields<E>), E> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let name = match map.remove(tag) {
            Some(Value::String(s)) => s,
            Some(_) => return Err(not_text(tag)),
            None => return Err(E::missing_field(tag)),
        };
        Ok((
            name,
            Fields {
                map,
                _error: core::marker::PhantomData,
            },
        ))
    }

    /// A required field.
    fn take<T: DeserializeOwned>(&mut self, field: &'static str) -> Result<T, E> {
        let value = self
            .map
            .remove(field)
            .ok_or_else(|| E::missing_field(field))?;
        serde_json::from_value(value).map_err(E::custom)
    }

    /// An optional field: absent or `null` is `None`.
    fn maybe<T: DeserializeOwned>(&mut self, field: &'static str) -> Result<Option<T>, E> {
        match self.map.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value).map(Some).map_err(E::custom),
        }
    }

    /// A real channel's fields: each one of `names` and text, the first `required` present.
    fn adapter(
        self,
        names: &'static [&'static str],
        required: &'static [&'static str],
    ) -> Result<AdapterFields, E> {
        adapter_fields(self.map, names, required).map_err(|e| match e {
            (name, Some(k)) if k.is_empty() => not_text(name),
            (_, Some(k)) => E::unknown_field(&k, names),
            (name, None) => E::missing_field(name),
        })
    }

    /// Refuses whatever field is left over.
    fn done<V>(self, value: V, expected: &'static [&'static str]) -> Result<V, E> {
        match self.map.keys().next() {
            Some(k) => Err(E::unknown_field(k, expected)),
            None => Ok(value),
        }
    }
}

fn not_text<E: serde::de::Error>(field: &str) -> E {
    E::custom(alloc::format!("invalid type: \"{field}\" must be a string"))
}

/// Not generic over the deserializer, so compiled once: the error is (field, 0 missing /
/// 1 unknown / 2 not text).
fn adapter_fields(
    mut map: Map<String, Value>,
    names: &'static [&'static str],
    required: &'static [&'static str],
) -> Result<AdapterFields, (&'static str, Option<String>)> {
    // By `remove`, as the other tagged types read: no map iterator to compile. `names` is
    // sorted, so the fields come out sorted by name. The error: `(name, None)` missing,
    // `(name, Some(""))` not text, `(_, Some(unknown))` a field the kind does not have.
    let mut fields = alloc::vec::Vec::new();
    for name in names {
        match map.remove(*name) {
            Some(Value::String(s)) => fields.push((String::from(*name), s)),
            Some(_) => return Err((name, Some(String::new()))),
            None if required.contains(name) => return Err((name, None)),
            None => {}
        }
    }
    match map.keys().next() {
        Some(k) => Err(("", Some(k.clone()))),
        None => Ok(AdapterFields(fields)),
    }
}

const EVENT_TYPES: &[&str] = &[
    "location_put",
    "item_put",
    "stock_adjusted",
    "channel_put",
    "mappings_put",
    "mapping_deleted",
    "order_placed",
    "order_cancelled",
    "order_shipped",
    "push_delivered",
    "push_failed",
    "resync",
];

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        let (ty, mut f) = Fields::read(d, "type")?;
        match ty.as_str() {
            "location_put" => {
                let e = Event::LocationPut {
                    id: f.take("id")?,
                    location: f.take("location")?,
                };
                f.done(e, &["type", "id", "location"])
            }
            "item_put" => {
                let e = Event::ItemPut {
                    sku: f.take("sku")?,
                    item: f.take("item")?,
                };
                f.done(e, &["type", "sku", "item"])
            }
            "stock_adjusted" => {
                let e = Event::StockAdjusted {
                    sku: f.take("sku")?,
                    adjust: f.take("adjust")?,
                };
                f.done(e, &["type", "sku", "adjust"])
            }
            "channel_put" => {
                let e = Event::ChannelPut {
                    id: f.take("id")?,
                    channel: f.take("channel")?,
                };
                f.done(e, &["type", "id", "channel"])
            }
            "mappings_put" => {
                let e = Event::MappingsPut {
                    mappings: f.take("mappings")?,
                };
                f.done(e, &["type", "mappings"])
            }
            "mapping_deleted" => {
                let e = Event::MappingDeleted {
                    channel: f.take("channel")?,
                    listing: f.take("listing")?,
                };
                f.done(e, &["type", "channel", "listing"])
            }
            "order_placed" => {
                let e = Event::OrderPlaced {
                    order: f.take("order")?,
                };
                f.done(e, &["type", "order"])
            }
            "order_cancelled" => {
                let e = Event::OrderCancelled {
                    channel: f.take("channel")?,
                    order: f.take("order")?,
                };
                f.done(e, &["type", "channel", "order"])
            }
            "order_shipped" => {
                let e = Event::OrderShipped {
                    channel: f.take("channel")?,
                    order: f.take("order")?,
                };
                f.done(e, &["type", "channel", "order"])
            }
            "push_delivered" => {
                let e = Event::PushDelivered {
                    channel: f.take("channel")?,
                    listing: f.take("listing")?,
                    seq: f.take("seq")?,
                    quantity: f.take("quantity")?,
                };
                f.done(e, &["type", "channel", "listing", "seq", "quantity"])
            }
            "push_failed" => {
                let e = Event::PushFailed {
                    channel: f.take("channel")?,
                    listing: f.take("listing")?,
                    seq: f.take("seq")?,
                    attempt: f.take("attempt")?,
                    error: f.take("error")?,
                };
                f.done(
                    e,
                    &["type", "channel", "listing", "seq", "attempt", "error"],
                )
            }
            "resync" => {
                let e = Event::Resync {
                    channel: f.maybe("channel")?,
                };
                f.done(e, &["type", "channel"])
            }
            other => Err(D::Error::unknown_variant(other, EVENT_TYPES)),
        }
    }
}

impl serde::Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (kind, fields): (&str, &[(String, String)]) = match self {
            Target::Demo => ("demo", &[]),
            Target::Webhook { url, secret, batch } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("kind", "webhook")?;
                m.serialize_entry("url", url)?;
                if let Some(secret) = secret {
                    m.serialize_entry("secret", secret)?;
                }
                if *batch {
                    m.serialize_entry("batch", batch)?;
                }
                return m.end();
            }
            Target::Shopify(f) => ("shopify", &f.0),
            Target::Woocommerce(f) => ("woocommerce", &f.0),
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", kind)?;
        for (k, v) in fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let (kind, mut f) = Fields::read(d, "kind")?;
        match kind.as_str() {
            "demo" => f.done(Target::Demo, &["kind"]),
            "webhook" => {
                let t = Target::Webhook {
                    url: f.take("url")?,
                    secret: f.maybe("secret")?,
                    batch: f.maybe("batch")?.unwrap_or(false),
                };
                f.done(t, &["kind", "url", "secret", "batch"])
            }
            "shopify" => f
                .adapter(SHOPIFY_FIELDS, SHOPIFY_REQUIRED)
                .map(Target::Shopify),
            "woocommerce" => f.adapter(WOO_FIELDS, WOO_REQUIRED).map(Target::Woocommerce),
            other => Err(D::Error::unknown_variant(
                other,
                &["demo", "webhook", "shopify", "woocommerce"],
            )),
        }
    }
}
