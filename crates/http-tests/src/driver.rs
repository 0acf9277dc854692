//! The scenario [`Driver`] over HTTP, checked step by step against the native core.
//!
//! Every event goes to its route ([`route_of`], the one place that knows which route an event
//! is) and to a native [`CoreDriver`] shadow; the two answers must be equal JSON (or the same
//! error code), and after each delivery the sync status, item views and demo listings must be
//! equal too. The scenario's own expectations are then checked as on every runtime.

use std::time::Duration;

use serde_json::Value;
use stocksync_core::scenario::{ChannelEdit, CoreDriver, Driver};
use stocksync_core::Event;

use crate::client::{seg, Api, Body};

/// The route an event stands for: method, path and JSON body. `None` for the delivery loop's
/// own reports, which no client sends.
pub fn route_of(event: &Event) -> Option<(&'static str, String, Option<Value>)> {
    fn json<T: serde::Serialize>(v: &T) -> Option<Value> {
        Some(serde_json::to_value(v).expect("core values serialize"))
    }
    Some(match event {
        Event::LocationPut { id, location } => (
            "PUT",
            format!("/v1/locations/{}", seg(id.as_str())),
            json(location),
        ),
        Event::ItemPut { sku, item } => (
            "PUT",
            format!("/v1/items/{}", seg(sku.as_str())),
            json(item),
        ),
        Event::StockAdjusted { sku, adjust } => (
            "POST",
            format!("/v1/items/{}/adjust", seg(sku.as_str())),
            json(adjust),
        ),
        Event::ChannelPut { id, channel } => (
            "PUT",
            format!("/v1/channels/{}", seg(id.as_str())),
            json(channel),
        ),
        Event::MappingsPut { mappings } => {
            ("PUT", "/v1/mappings?detail=true".into(), json(mappings))
        }
        Event::MappingDeleted { channel, listing } => (
            "DELETE",
            format!(
                "/v1/mappings/{}/{}",
                seg(channel.as_str()),
                seg(listing.as_str())
            ),
            None,
        ),
        Event::OrderPlaced { order } => ("POST", "/v1/orders".into(), json(order)),
        Event::OrderCancelled { channel, order } => (
            "POST",
            format!(
                "/v1/orders/{}/{}/cancel",
                seg(channel.as_str()),
                seg(order.as_str())
            ),
            None,
        ),
        Event::OrderShipped { channel, order } => (
            "POST",
            format!(
                "/v1/orders/{}/{}/ship",
                seg(channel.as_str()),
                seg(order.as_str())
            ),
            None,
        ),
        Event::Resync { channel } => (
            "POST",
            "/v1/sync/resync".into(),
            Some(match channel {
                Some(c) => serde_json::json!({ "channel": c }),
                None => serde_json::json!({}),
            }),
        ),
        Event::PushDelivered { .. } | Event::PushFailed { .. } => return None,
        // Events only a shell makes (discovery's `ListingsSeen`, with the core's `backed`
        // feature) have no route of their own.
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Applies `event` over HTTP: the outcome JSON, or the error code.
pub fn apply_http(api: &Api, event: &Event) -> Result<Value, String> {
    let (method, path, body) =
        route_of(event).ok_or_else(|| format!("{event:?} has no HTTP route"))?;
    let r = api.send(method, &path, body.map_or(Body::None, Body::Json), &[]);
    if r.is_success() {
        Ok(r.json())
    } else {
        Err(r
            .code()
            .unwrap_or_else(|| format!("HTTP {} without an error body: {}", r.status, r.body)))
    }
}

/// A scenario runtime: the Worker over HTTP, with the native core alongside.
#[derive(Debug)]
pub struct HttpDriver {
    pub api: Api,
    pub shadow: CoreDriver,
    /// How long a delivery may take before `deliver_all` fails.
    pub delivery_timeout: Duration,
}

impl HttpDriver {
    pub fn new(api: Api) -> HttpDriver {
        HttpDriver {
            api,
            shadow: CoreDriver::new(),
            delivery_timeout: Duration::from_secs(10),
        }
    }
}

fn same(what: &str, http: &Value, core: &Value) -> Result<(), String> {
    if http == core {
        Ok(())
    } else {
        Err(format!(
            "HTTP and the native core differ on {what}:\n  http: {http}\n  core: {core}"
        ))
    }
}

impl Driver for HttpDriver {
    fn apply(&mut self, event: &Event) -> Result<Value, String> {
        let http = apply_http(&self.api, event);
        let core = self.shadow.apply(event);
        match (&http, &core) {
            (Ok(h), Ok(c)) => same(&format!("the outcome of {event:?}"), h, c)?,
            (Err(h), Err(c)) if h == c => {}
            _ => {
                return Err(format!(
                "HTTP and the native core differ on {event:?}:\n  http: {http:?}\n  core: {core:?}"
            ))
            }
        }
        http
    }

    fn channel_edit(&mut self, edit: &ChannelEdit) -> Result<(), String> {
        let path = format!(
            "/v1/demo/{}/{}",
            seg(edit.channel.as_str()),
            seg(edit.listing.as_str())
        );
        let r = self.api.send(
            "PUT",
            &path,
            Body::Json(serde_json::json!({ "quantity": edit.quantity })),
            &[],
        );
        if !r.is_success() {
            return Err(format!("PUT {path} answered {}: {}", r.status, r.body));
        }
        self.shadow.channel_edit(edit)
    }

    fn deliver_all(&mut self) -> Result<(), String> {
        let http = self.api.wait_synced(self.delivery_timeout)?;
        self.shadow.deliver_all()?;
        let core = self.shadow.sync()?;
        same(
            "the sync status after delivery",
            &Value::from(http),
            &Value::from(core),
        )
    }

    fn item(&mut self, sku: &str) -> Result<Option<Value>, String> {
        let r = self.api.get(&format!("/v1/items/{}", seg(sku)));
        let http = match r.status {
            200 => Some(r.json()),
            404 => None,
            s => return Err(format!("GET item {sku} answered {s}: {}", r.body)),
        };
        let core = self.shadow.item(sku)?;
        same(
            &format!("item {sku}"),
            &Value::from(http.clone()),
            &Value::from(core),
        )?;
        Ok(http)
    }

    fn sync(&mut self) -> Result<Vec<Value>, String> {
        let http = self.api.sync();
        let core = self.shadow.sync()?;
        same(
            "the sync status",
            &Value::from(http.clone()),
            &Value::from(core),
        )?;
        Ok(http)
    }

    fn channel_shows(&mut self, channel: &str, listing: &str) -> Result<Option<i64>, String> {
        let http = self
            .api
            .demo(channel, listing)
            .and_then(|v| v["quantity"].as_i64());
        let core = self.shadow.channel_shows(channel, listing)?;
        if http != core {
            return Err(format!(
                "demo listing {channel}/{listing}: HTTP shows {http:?}, the core {core:?}"
            ));
        }
        Ok(http)
    }
}
