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
use crate::model::Target;

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
            Some(_) => {
                return Err(E::custom(alloc::format!(
                    "invalid type: \"{tag}\" must be a string"
                )))
            }
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

    /// Refuses whatever field is left over.
    fn done<V>(self, value: V, expected: &'static [&'static str]) -> Result<V, E> {
        match self.map.keys().next() {
            Some(k) => Err(E::unknown_field(k, expected)),
            None => Ok(value),
        }
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

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Target, D::Error> {
        let (kind, mut f) = Fields::read(d, "kind")?;
        match kind.as_str() {
            "demo" => f.done(Target::Demo, &["kind"]),
            "webhook" => {
                let t = Target::Webhook {
                    url: f.take("url")?,
                    secret: f.maybe("secret")?,
                };
                f.done(t, &["kind", "url", "secret"])
            }
            other => Err(D::Error::unknown_variant(other, &["demo", "webhook"])),
        }
    }
}
