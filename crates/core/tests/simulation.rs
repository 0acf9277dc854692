//! A deterministic simulation of a merchant's hub and a faulty channel network, checking SPEC
//! §7's invariants 1–6 after every step.
//!
//! Random streams of orders, cancels, shipments, stock sets and adjustments, channel and mapping
//! changes and resyncs are applied to a hub. Between them a simulated delivery loop sends the
//! waiting pushes to channel copies, and its acknowledgements are lost, duplicated, delayed and
//! reordered before they reach the hub. After every step:
//!
//! 1. conservation: on hand equals a shadow ledger changed only by sets, adjustments and ships;
//! 2. reservations add up (and the core's indexes agree), via `Hub::check_invariants`;
//! 3. idempotency: the same event applied again to a copy leaves the state as it was;
//! 4. determinism: at the end, replaying the accepted events gives the same state and pushes;
//! 5. push bound: no planned push exceeds its rule-shaped pool, or is negative;
//! 6. convergence: once deliveries succeed, every eligible listing's last sent, and what its
//!    channel shows, equals the hub's number; no channel ever applies an older push after a
//!    newer one.
//!
//! A failure prints the seed; `SIM_SEED=<n> cargo test -p stocksync-core --test simulation`
//! replays exactly that stream.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use stocksync_core::scenario::run_backed;
use stocksync_core::{
    wire, AdjustRef, AdjustmentRecord, BackupLine, Channel, ChannelId, Event, Hub, ItemBody,
    ItemRecord, ListingId, ListingKey, ListingRecord, LocationId, Mapping, MemStore, Order,
    OrderLineIn, OrderRef, Outcome, PlaceOrder, Pooling, Qty, RuleOverrides, Rules, Sku, Snapshot,
    Store, Target,
};

const LOCATIONS: [&str; 3] = ["L0", "L1", "L2"];
const STOCK_SKUS: [&str; 4] = ["S0", "S1", "S2", "S3"];
const CHANNELS: [&str; 3] = ["C0", "C1", "C2"];
const LISTINGS_PER_CHANNEL: usize = 5;

/// A small deterministic PRNG (SplitMix64): the whole simulation follows from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}
fn loc(s: &str) -> LocationId {
    LocationId::new(s).unwrap()
}
fn ch(s: &str) -> ChannelId {
    ChannelId::new(s).unwrap()
}
fn q(v: i64) -> Qty {
    Qty::new(v).unwrap()
}
fn listing_id(i: usize) -> ListingId {
    ListingId::new(format!("LST-{i}")).unwrap()
}

/// An acknowledgement on its way back from a channel.
#[derive(Clone, Debug)]
enum Ack {
    Delivered {
        key: ListingKey,
        seq: u64,
        quantity: i64,
    },
    Failed {
        key: ListingKey,
        seq: u64,
        attempt: u32,
    },
}

impl Ack {
    fn event(&self) -> Event {
        match self.clone() {
            Ack::Delivered { key, seq, quantity } => Event::PushDelivered {
                channel: key.channel,
                listing: key.listing,
                seq,
                quantity: q(quantity),
            },
            Ack::Failed { key, seq, attempt } => Event::PushFailed {
                channel: key.channel,
                listing: key.listing,
                seq,
                attempt,
                error: "simulated failure".into(),
            },
        }
    }
}

/// A channel's own copy of a listing: what it shows and the newest seq it applied.
#[derive(Clone, Copy, Debug, Default)]
struct ChannelCopy {
    shows: i64,
    seq: u64,
}

struct Sim {
    rng: Rng,
    hub: Hub,
    /// The same events on a storage-backed hub whose working set is evicted, and which is
    /// restarted, at random steps (its own rng, so the event stream is the seed's): outcomes and
    /// stored state must equal the whole hub's after every step (SPEC §7.10).
    backed: Backed,
    /// On hand per (sku, location) as sets, adjustments and shipments say (invariant 1).
    ledger: BTreeMap<(Sku, LocationId), i64>,
    channels: BTreeMap<ListingKey, ChannelCopy>,
    acks: VecDeque<Ack>,
    /// Every event the hub accepted, for the determinism replay.
    accepted: Vec<Event>,
    pushes: Vec<(ListingKey, u64, i64)>,
    next_adjust: u64,
    next_order: u64,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut sim = Sim {
            rng: Rng(seed),
            hub: Hub::new(),
            backed: Backed::new(seed),
            ledger: BTreeMap::new(),
            channels: BTreeMap::new(),
            acks: VecDeque::new(),
            accepted: Vec::new(),
            pushes: Vec::new(),
            next_adjust: 0,
            next_order: 0,
        };
        for l in LOCATIONS {
            sim.step(Event::LocationPut {
                id: loc(l),
                location: Default::default(),
            });
        }
        for s in STOCK_SKUS {
            let levels = LOCATIONS
                .iter()
                .map(|l| (loc(l), q(sim.rng.below(8) as i64)))
                .collect();
            sim.step(Event::ItemPut {
                sku: sku(s),
                item: ItemBody {
                    levels: Some(levels),
                    components: None,
                },
            });
        }
        let kit = ItemBody {
            levels: None,
            components: Some(vec![
                stocksync_core::Component {
                    sku: sku("S0"),
                    qty: q(1),
                },
                stocksync_core::Component {
                    sku: sku("S1"),
                    qty: q(2),
                },
            ]),
        };
        sim.step(Event::ItemPut {
            sku: sku("KIT"),
            item: kit,
        });
        for c in CHANNELS {
            let channel = sim.random_channel();
            sim.step(Event::ChannelPut { id: ch(c), channel });
        }
        for c in CHANNELS {
            for i in 0..LISTINGS_PER_CHANNEL {
                let m = sim.random_mapping(c, i);
                sim.step(Event::MappingsPut { mappings: vec![m] });
            }
        }
        sim
    }

    fn all_skus() -> Vec<&'static str> {
        let mut v: Vec<&str> = STOCK_SKUS.to_vec();
        v.push("KIT");
        v
    }

    fn random_channel(&mut self) -> Channel {
        let locations = LOCATIONS
            .iter()
            .filter(|_| self.rng.chance(60))
            .map(|l| loc(l))
            .collect();
        let rules = Rules {
            buffer: q(self.rng.pick(&[0, 0, 1, 3])),
            end_when: q(self.rng.pick(&[0, 0, 1, 2])),
            percent: q(self.rng.pick(&[100, 100, 50, 80])),
            max_listed: self.rng.pick(&[None, None, Some(q(5))]),
            bundle_pooling: self
                .rng
                .pick(&[Pooling::PerLocation, Pooling::AcrossLocations]),
        };
        Channel {
            name: String::new(),
            enabled: self.rng.chance(85),
            locations,
            rules,
            target: Target::Demo,
        }
    }

    fn random_mapping(&mut self, c: &str, i: usize) -> Mapping {
        let rules = if self.rng.chance(20) {
            RuleOverrides {
                buffer: Some(q(1)),
                ..Default::default()
            }
        } else {
            RuleOverrides::default()
        };
        Mapping {
            channel: ch(c),
            listing: listing_id(i),
            sku: sku(self.rng.pick(&Self::all_skus())),
            pack: Some(q(self.rng.pick(&[1, 1, 1, 2, 3]))),
            ignore_sync: self.rng.chance(10),
            rules,
        }
    }

    /// Applies an event, checking everything that must hold after it.
    fn step(&mut self, event: Event) {
        let before = self.hub.clone();
        let result = self.hub.apply(event.clone());
        self.backed.step(&event, &result, &self.hub);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                assert_eq!(self.hub, before, "a rejected event ({e}) changed the hub");
                return;
            }
        };
        self.accepted.push(event.clone());
        // 5. Push bound.
        for p in &outcome.pushes {
            assert!(p.quantity >= 0, "negative push {p:?}");
            assert!(
                p.quantity <= p.explain.pool.max(0),
                "push {} above its pool {}",
                p.quantity,
                p.explain.pool
            );
            assert_eq!(p.quantity, p.explain.quantity);
            self.pushes.push((
                ListingKey::new(p.channel.clone(), p.listing.clone()),
                p.seq,
                p.quantity,
            ));
        }
        // 1. Conservation: mirror what may change on hand.
        match &event {
            Event::ItemPut {
                sku,
                item:
                    ItemBody {
                        levels: Some(levels),
                        ..
                    },
            } => {
                for (l, v) in levels {
                    self.ledger.insert((sku.clone(), l.clone()), v.get());
                }
            }
            Event::StockAdjusted { sku, adjust } => {
                *self
                    .ledger
                    .entry((sku.clone(), adjust.location.clone()))
                    .or_default() += adjust.delta.get();
            }
            Event::OrderShipped { channel, order }
                if before
                    .order(channel, order)
                    .is_some_and(|o| o.status == stocksync_core::OrderStatus::Open) =>
            {
                let o = before.order(channel, order).unwrap();
                for r in o.lines.iter().flat_map(|l| &l.reservations) {
                    *self
                        .ledger
                        .entry((r.sku.clone(), o.location.clone()))
                        .or_default() -= r.qty.get();
                }
            }
            _ => {}
        }
        for ((s, l), v) in &self.ledger {
            assert_eq!(
                self.hub.stock(s, l).on_hand,
                *v,
                "on hand of {s} at {l} drifted from the ledger"
            );
        }
        // 2 (and the core's own consistency checks).
        self.hub
            .check_invariants()
            .unwrap_or_else(|e| panic!("after {event:?}: {e}"));
        // 3. Idempotency. A resync is a command to resend (its second run plans new pushes by
        // design), so it is the one event outside this check.
        if !matches!(event, Event::Resync { .. }) {
            let mut again = self.hub.clone();
            let second = again.apply(event.clone());
            assert!(
                second.as_ref().is_ok_and(|o| o.pushes.is_empty()),
                "{event:?} applied twice planned more: {second:?}"
            );
            assert_eq!(
                again.snapshot(),
                self.hub.snapshot(),
                "{event:?} applied twice changed the state"
            );
        }
    }

    fn random_event(&mut self) -> Event {
        let c = ch(self.rng.pick(&CHANNELS));
        match self.rng.below(100) {
            0..=29 => {
                self.next_order += 1;
                let lines = (0..1 + self.rng.below(2))
                    .map(|_| {
                        let qty = q(1 + self.rng.below(3) as i64);
                        if self.rng.chance(80) {
                            OrderLineIn {
                                listing: Some(listing_id(
                                    self.rng.below(LISTINGS_PER_CHANNEL as u64 + 1) as usize,
                                )),
                                sku: None,
                                qty,
                            }
                        } else {
                            OrderLineIn {
                                listing: None,
                                sku: Some(sku(self.rng.pick(&Self::all_skus()))),
                                qty,
                            }
                        }
                    })
                    .collect();
                let location = if self.rng.chance(50) {
                    Some(loc(self.rng.pick(&LOCATIONS)))
                } else {
                    None
                };
                // Sometimes a channel resends an old order (a duplicate).
                let n = if self.rng.chance(15) && self.next_order > 1 {
                    self.rng.below(self.next_order)
                } else {
                    self.next_order
                };
                Event::OrderPlaced {
                    order: PlaceOrder {
                        channel: c,
                        order: OrderRef::new(format!("O-{n}")).unwrap(),
                        location,
                        lines,
                    },
                }
            }
            30..=41 => {
                let order =
                    OrderRef::new(format!("O-{}", self.rng.below(self.next_order + 1))).unwrap();
                if self.rng.chance(50) {
                    Event::OrderCancelled { channel: c, order }
                } else {
                    Event::OrderShipped { channel: c, order }
                }
            }
            42..=53 => {
                self.next_adjust += 1;
                let delta = self.rng.pick(&[-3, -1, 1, 2, 5]);
                Event::StockAdjusted {
                    sku: sku(self.rng.pick(&STOCK_SKUS)),
                    adjust: stocksync_core::Adjust {
                        location: loc(self.rng.pick(&LOCATIONS)),
                        delta: q(delta),
                        reason: None,
                        reference: Some(
                            AdjustRef::new(format!("ADJ-{}", self.next_adjust)).unwrap(),
                        ),
                    },
                }
            }
            54..=63 => {
                let levels = [(loc(self.rng.pick(&LOCATIONS)), q(self.rng.below(10) as i64))]
                    .into_iter()
                    .collect();
                Event::ItemPut {
                    sku: sku(self.rng.pick(&STOCK_SKUS)),
                    item: ItemBody {
                        levels: Some(levels),
                        components: None,
                    },
                }
            }
            64..=71 => Event::ChannelPut {
                id: c,
                channel: self.random_channel(),
            },
            72..=81 => {
                let i = self.rng.below(LISTINGS_PER_CHANNEL as u64) as usize;
                if self.rng.chance(30) {
                    Event::MappingDeleted {
                        channel: c,
                        listing: listing_id(i),
                    }
                } else {
                    let m = self.random_mapping(c.as_str(), i);
                    Event::MappingsPut { mappings: vec![m] }
                }
            }
            82..=85 => Event::Resync {
                channel: if self.rng.chance(50) { Some(c) } else { None },
            },
            _ => {
                let components = vec![
                    stocksync_core::Component {
                        sku: sku(self.rng.pick(&["S0", "S2"])),
                        qty: q(1 + self.rng.below(2) as i64),
                    },
                    stocksync_core::Component {
                        sku: sku("S1"),
                        qty: q(2),
                    },
                ];
                Event::ItemPut {
                    sku: sku("KIT"),
                    item: ItemBody {
                        levels: None,
                        components: Some(components),
                    },
                }
            }
        }
    }

    /// The delivery loop sends one waiting push; the network decides what comes back.
    fn deliver_one(&mut self, always_succeed: bool) {
        let outbox = self.hub.outbox();
        if outbox.is_empty() {
            return;
        }
        let (key, pending, attempts) = outbox[self.rng.below(outbox.len() as u64) as usize].clone();
        let reached = always_succeed || self.rng.chance(75);
        if reached {
            let copy = self.channels.entry(key.clone()).or_default();
            assert!(
                pending.seq >= copy.seq,
                "{key} would apply seq {} after seq {}",
                pending.seq,
                copy.seq
            );
            *copy = ChannelCopy {
                shows: pending.quantity.get(),
                seq: pending.seq,
            };
        }
        // The answer: a success only if the push arrived and its answer is not lost.
        let ack = if reached && (always_succeed || self.rng.chance(80)) {
            Ack::Delivered {
                key,
                seq: pending.seq,
                quantity: pending.quantity.get(),
            }
        } else {
            Ack::Failed {
                key,
                seq: pending.seq,
                attempt: attempts + 1,
            }
        };
        if always_succeed {
            self.step(ack.event());
            return;
        }
        self.acks.push_back(ack.clone());
        if self.rng.chance(15) {
            self.acks.push_back(ack); // duplicated
        }
    }

    /// An acknowledgement arrives: any of those in flight (reordering), possibly late.
    fn receive_ack(&mut self) {
        if self.acks.is_empty() {
            return;
        }
        let i = self.rng.below(self.acks.len() as u64) as usize;
        if let Some(ack) = self.acks.remove(i) {
            self.step(ack.event());
        }
    }

    fn run(mut self, steps: usize) {
        for _ in 0..steps {
            match self.rng.below(10) {
                0..=4 => {
                    let e = self.random_event();
                    self.step(e);
                }
                5 | 6 => self.deliver_one(false),
                7 | 8 => self.receive_ack(),
                _ => {
                    // Someone edits a listing directly on the channel.
                    let key = ListingKey::new(
                        ch(self.rng.pick(&CHANNELS)),
                        listing_id(self.rng.below(LISTINGS_PER_CHANNEL as u64) as usize),
                    );
                    let seq = self.channels.get(&key).map_or(0, |c| c.seq);
                    self.channels.insert(key, ChannelCopy { shows: 1000, seq });
                }
            }
        }
        // 6. Convergence: late acknowledgements arrive, a resync repairs direct edits, and
        // deliveries succeed from now on.
        while !self.acks.is_empty() {
            self.receive_ack();
        }
        self.step(Event::Resync { channel: None });
        let mut rounds = 0;
        while !self.hub.outbox().is_empty() {
            self.deliver_one(true);
            rounds += 1;
            assert!(rounds < 10_000, "the outbox does not drain");
        }
        for key in self.hub.listing_keys().cloned().collect::<Vec<_>>() {
            if let Ok(e) = self.hub.wanted(&key) {
                assert_eq!(
                    self.hub.last_sent(&key),
                    Some(e.quantity),
                    "{key}: last sent is not the hub's number after convergence"
                );
                assert_eq!(
                    self.channels.get(&key).map(|c| c.shows),
                    Some(e.quantity),
                    "{key}: the channel does not show the hub's number"
                );
            }
        }
        // 4. Determinism: the same accepted events from the same start give the same state and
        // pushes. (Rejected events changed nothing, so they need no replay.)
        let mut replay = Hub::new();
        let mut pushes = Vec::new();
        for e in &self.accepted {
            let out = replay
                .apply(e.clone())
                .expect("an accepted event is accepted again on replay");
            pushes.extend(out.pushes.iter().map(|p| {
                (
                    ListingKey::new(p.channel.clone(), p.listing.clone()),
                    p.seq,
                    p.quantity,
                )
            }));
        }
        assert_eq!(
            replay.snapshot(),
            self.hub.snapshot(),
            "replay gave another state"
        );
        assert_eq!(pushes, self.pushes, "replay planned other pushes");
        // The snapshot round-trips through JSON and reloads to the same hub.
        let json = wire::to_json(&self.hub.snapshot());
        let back = Hub::from_snapshot(wire::from_json::<Snapshot>(&json).unwrap()).unwrap();
        assert_eq!(back.snapshot(), self.hub.snapshot(), "snapshot round trip");
        // And the stored rows a backed hub keeps are the whole hub's.
        self.backed.same_state(&self.hub);
        // A backup streamed as lines and restored, record by record, into an empty backed
        // hub with a tiny working set, gives what importing the snapshot gives.
        let snapshot = self.hub.snapshot();
        let mut imported = Hub::new();
        imported
            .import(snapshot.clone())
            .expect("the snapshot imports");
        let mut restored = Backed::new(0);
        let lines: Vec<BackupLine> = snapshot.into_lines();
        // In chunks of random size, each prefetched whole through a store that reads the
        // announced keys ahead (as the worker's bulk loads do), then restored line by line.
        let mut rest = &lines[..];
        while !rest.is_empty() {
            let n = (1 + self.rng.below(7) as usize).min(rest.len());
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            restored
                .hub
                .prefetch_lines(chunk, &mut Warmed::new(&mut restored.store))
                .expect("prefetch");
            for line in chunk {
                let out = restored
                    .hub
                    .restore_line(line.clone())
                    .unwrap_or_else(|e| panic!("restoring {line:?}: {e}"));
                restored.store.write(restored.hub.rows(&out.dirty));
            }
            restored.hub.evict(5);
        }
        restored.same_state(&imported);
    }
}

/// A store that, told what is coming ([`Store::warm`]), reads it all at once and answers each
/// of those reads once from what it read then, as the worker's bulk loads do over SQLite.
struct Warmed<'a> {
    inner: &'a mut MemStore,
    items: BTreeMap<Sku, Option<ItemRecord>>,
    parents: BTreeMap<Sku, Vec<Sku>>,
    listings_of: BTreeMap<Sku, Vec<ListingRecord>>,
    listing: BTreeMap<ListingKey, Option<ListingRecord>>,
}

impl<'a> Warmed<'a> {
    fn new(inner: &'a mut MemStore) -> Self {
        Warmed {
            inner,
            items: BTreeMap::new(),
            parents: BTreeMap::new(),
            listings_of: BTreeMap::new(),
            listing: BTreeMap::new(),
        }
    }
}

impl Store for Warmed<'_> {
    fn item(&mut self, sku: &Sku) -> Result<Option<ItemRecord>, stocksync_core::Error> {
        match self.items.remove(sku) {
            Some(v) => Ok(v),
            None => self.inner.item(sku),
        }
    }
    fn parents(&mut self, sku: &Sku) -> Result<Vec<Sku>, stocksync_core::Error> {
        match self.parents.remove(sku) {
            Some(v) => Ok(v),
            None => self.inner.parents(sku),
        }
    }
    fn listings_of(&mut self, sku: &Sku) -> Result<Vec<ListingRecord>, stocksync_core::Error> {
        match self.listings_of.remove(sku) {
            Some(v) => Ok(v),
            None => self.inner.listings_of(sku),
        }
    }
    fn listing(
        &mut self,
        key: &ListingKey,
    ) -> Result<Option<ListingRecord>, stocksync_core::Error> {
        match self.listing.remove(key) {
            Some(v) => Ok(v),
            None => self.inner.listing(key),
        }
    }
    fn order(
        &mut self,
        channel: &ChannelId,
        order: &OrderRef,
    ) -> Result<Option<Order>, stocksync_core::Error> {
        self.inner.order(channel, order)
    }
    fn adjustment(
        &mut self,
        reference: &AdjustRef,
    ) -> Result<Option<AdjustmentRecord>, stocksync_core::Error> {
        self.inner.adjustment(reference)
    }
    fn warm(&mut self, skus: &[Sku], listings: &[ListingKey]) -> Result<(), stocksync_core::Error> {
        for s in skus {
            self.items.insert(s.clone(), self.inner.item(s)?);
            self.parents.insert(s.clone(), self.inner.parents(s)?);
            self.listings_of
                .insert(s.clone(), self.inner.listings_of(s)?);
        }
        for k in listings {
            self.listing.insert(k.clone(), self.inner.listing(k)?);
        }
        Ok(())
    }
}

struct Backed {
    rng: Rng,
    hub: Hub,
    store: MemStore,
}

impl Backed {
    fn new(seed: u64) -> Backed {
        let store = MemStore {
            next_seq: 1,
            ..MemStore::default()
        };
        Backed {
            rng: Rng(seed ^ 0x9e37_79b9_7f4a_7c15),
            hub: store.open().unwrap(),
            store,
        }
    }

    fn step(&mut self, event: &Event, whole: &Result<Outcome, stocksync_core::Error>, hub: &Hub) {
        if self.rng.chance(5) {
            self.hub = self.store.open().expect("the store reopens"); // a restart
        }
        let page = 1 + self.rng.below(3) as usize;
        let got = run_backed(&mut self.hub, &mut self.store, event.clone(), page);
        match (whole, &got) {
            (Ok(w), Ok(g)) => {
                assert_eq!(g.pushes, w.pushes, "backed pushes differ on {event:?}");
                assert_eq!(g.skipped, w.skipped, "backed skips differ on {event:?}");
                assert_eq!(g.receipt, w.receipt, "backed receipt differs on {event:?}");
                assert_eq!(
                    g.oversold_stock, w.oversold_stock,
                    "backed oversold differs"
                );
            }
            (Err(w), Err(g)) => {
                assert_eq!(g.code, w.code, "backed error differs on {event:?}");
                self.hub = self.store.open().unwrap();
            }
            _ => panic!("whole {whole:?} but backed {got:?} on {event:?}"),
        }
        // Evict at random: everything, or only past a small budget.
        let max = if self.rng.chance(30) { 0 } else { 40 };
        self.hub.evict(max);
        if self.rng.chance(10) {
            self.same_state(hub);
        }
    }

    fn same_state(&self, hub: &Hub) {
        let mut whole = MemStore::default();
        whole.write(hub.all_rows());
        let mut mine = self.store.clone();
        mine.reads = 0;
        assert_eq!(mine, whole, "the backed store differs from the whole hub");
    }
}

fn run_seed(seed: u64, steps: usize) {
    let result = std::panic::catch_unwind(|| Sim::new(seed).run(steps));
    if let Err(e) = result {
        eprintln!("simulation failed; replay with SIM_SEED={seed} SIM_STEPS={steps}");
        std::panic::resume_unwind(e);
    }
}

#[test]
fn seeded_simulations_hold_every_invariant() {
    let steps = std::env::var("SIM_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run_seed(seed, steps);
        return;
    }
    let seeds = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64u64);
    for seed in 0..seeds {
        run_seed(seed, steps);
    }
}

proptest! {
    #![proptest_config(Config { cases: 48, failure_persistence: Some(Box::new(FileFailurePersistence::Off)), ..Config::default() })]

    /// proptest picks the seeds and the lengths, and shrinks a failure to the shortest run.
    #[test]
    fn random_streams_hold_every_invariant(seed in any::<u64>(), steps in 1usize..300) {
        run_seed(seed, steps);
    }
}
