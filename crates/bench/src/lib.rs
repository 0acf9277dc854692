//! The benchmark workloads, shared by the native criterion benches and the wasm build so both
//! measure exactly the same work.
//!
//! A catalogue has `skus` stock items, each on hand at every one of `locations` locations, and
//! `channels` channels selling from all of them with different rules. Every sku has one listing
//! (on channel `i % channels`), except the "hot" skus (every 1000th, and always sku 0), which are
//! listed on every channel: the orders of the benchmark are for hot skus, so each order plans
//! `channels` pushes.

use stocksync_core::{
    Channel, ChannelId, Event, Hub, ItemBody, ListingId, ListingRecord, Location, LocationId,
    OrderLineIn, OrderRef, PlaceOrder, Qty, Rules, Sku, Snapshot, Target,
};

#[cfg(feature = "wasm")]
mod wasm;

#[derive(Copy, Clone, Debug)]
pub struct Shape {
    pub skus: usize,
    pub channels: usize,
    pub locations: usize,
}

impl Shape {
    /// The shape the targets are stated for: 10 channels (so a hot sku has 10 listings) and
    /// 5 locations.
    pub const fn standard(skus: usize) -> Shape {
        Shape {
            skus,
            channels: 10,
            locations: 5,
        }
    }

    pub fn is_hot(i: usize) -> bool {
        i.is_multiple_of(1000)
    }

    pub fn hot_skus(&self) -> usize {
        self.skus.div_ceil(1000)
    }

    pub fn listings(&self) -> usize {
        self.skus + self.hot_skus() * (self.channels - 1)
    }
}

fn q(v: i64) -> Qty {
    Qty::new(v).expect("benchmark quantities are small")
}

fn sku(i: usize) -> Sku {
    Sku::new(format!("SKU-{i:07}")).expect("valid sku")
}

fn location(l: usize) -> LocationId {
    LocationId::new(format!("LOC-{l}")).expect("valid location")
}

fn channel(c: usize) -> ChannelId {
    ChannelId::new(format!("channel-{c}")).expect("valid channel")
}

/// The catalogue as a snapshot (what `POST /v1/import` would take).
pub fn snapshot(shape: Shape) -> Snapshot {
    let mut s = Snapshot::default();
    for l in 0..shape.locations {
        s.locations.insert(location(l), Location::default());
    }
    for i in 0..shape.skus {
        let levels = (0..shape.locations)
            .map(|l| (location(l), q(((i + l) % 40 + 5) as i64)))
            .collect();
        s.items.insert(
            sku(i),
            ItemBody {
                levels: Some(levels),
                components: None,
            },
        );
    }
    for c in 0..shape.channels {
        let rules = Rules {
            buffer: q((c % 3) as i64),
            percent: q(if c % 4 == 0 { 80 } else { 100 }),
            ..Rules::default()
        };
        let channel_cfg = Channel {
            name: String::new(),
            enabled: true,
            locations: (0..shape.locations).map(location).collect(),
            rules,
            target: Target::Demo,
        };
        s.channels.insert(channel(c), channel_cfg);
    }
    for i in 0..shape.skus {
        let on: Vec<usize> = if Shape::is_hot(i) {
            (0..shape.channels).collect()
        } else {
            vec![i % shape.channels]
        };
        for c in on {
            s.listings.push(ListingRecord {
                channel: channel(c),
                listing: ListingId::new(format!("L-{c}-{i:07}")).expect("valid listing"),
                sku: Some(sku(i)),
                pack: Qty::ONE,
                ignore_sync: false,
                rules: Default::default(),
                last_sent: None,
                pending: None,
                attempts: 0,
                last_error: None,
                acked_seq: 0,
            });
        }
    }
    s
}

/// The catalogue as a hub. Every listing's number is computed and marked as sent, so the
/// hub starts in sync (as a running merchant's would) and each order plans real changes.
pub fn catalogue(shape: Shape) -> Hub {
    let mut hub = Hub::from_snapshot(snapshot(shape)).expect("the benchmark catalogue is valid");
    let out = hub.apply(Event::Resync { channel: None }).expect("resync");
    for p in out.pushes {
        hub.apply(Event::PushDelivered {
            channel: p.channel,
            listing: p.listing,
            seq: p.seq,
            quantity: q(p.quantity),
        })
        .expect("ack");
    }
    hub
}

/// Orders for hot skus, placed and cancelled in turn so stock stays level: every step is one
/// event that plans one push per listing of the sku.
#[derive(Debug)]
pub struct OrderLoop {
    shape: Shape,
    step: u64,
}

impl OrderLoop {
    pub fn new(shape: Shape) -> OrderLoop {
        OrderLoop { shape, step: 0 }
    }

    /// The next event: an order on even steps, the cancel of that order on odd ones.
    pub fn next_event(&mut self) -> Event {
        let n = self.step / 2;
        let hot = (n as usize % self.shape.hot_skus()) * 1000;
        let ch = channel(hot % self.shape.channels);
        let order = OrderRef::new(format!("O-{n}")).expect("valid order");
        let event = if self.step.is_multiple_of(2) {
            let line = OrderLineIn {
                listing: None,
                sku: Some(sku(hot)),
                qty: Qty::ONE,
            };
            Event::OrderPlaced {
                order: PlaceOrder {
                    channel: ch,
                    order,
                    location: Some(location(0)),
                    lines: vec![line],
                },
            }
        } else {
            Event::OrderCancelled { channel: ch, order }
        };
        self.step += 1;
        event
    }

    /// Applies the next event; returns the number of pushes it planned.
    pub fn step(&mut self, hub: &mut Hub) -> usize {
        let e = self.next_event();
        hub.apply(e)
            .expect("benchmark events are valid")
            .pushes
            .len()
    }
}

/// A full resync plan: every eligible listing's number, with its explanation.
pub fn resync_plan(hub: &mut Hub) -> usize {
    hub.apply(Event::Resync { channel: None })
        .expect("resync")
        .pushes
        .len()
}

/// Nanoseconds per event of the order loop: `iters` events after 1,000 to warm up, on a
/// catalogue of `skus` skus, timed by `now_ms` (the native and wasm runs pass their own clock,
/// so both time exactly this loop).
pub fn time_orders_ns(skus: usize, iters: u32, now_ms: impl Fn() -> f64) -> f64 {
    let shape = Shape::standard(skus);
    let mut hub = catalogue(shape);
    let mut orders = OrderLoop::new(shape);
    for _ in 0..1000 {
        orders.step(&mut hub);
    }
    let start = now_ms();
    for _ in 0..iters {
        orders.step(&mut hub);
    }
    (now_ms() - start) * 1e6 / f64::from(iters)
}

/// Milliseconds for one full resync plan over a catalogue of `skus` skus.
pub fn time_resync_ms(skus: usize, now_ms: impl Fn() -> f64) -> f64 {
    let mut hub = catalogue(Shape::standard(skus));
    let start = now_ms();
    resync_plan(&mut hub);
    now_ms() - start
}
