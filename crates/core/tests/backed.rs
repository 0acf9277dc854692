//! The storage-backed hub reads what an event touches: the same number of lookups for an order
//! on a catalogue of 10 skus as on one of 2,000, and nothing stays in memory past its budget.

use stocksync_core::scenario::run_backed;
use stocksync_core::{wire, Event, Hub, MemStore};

fn ev(json: String) -> Event {
    wire::from_json(&json).unwrap()
}

fn catalogue(skus: usize) -> (Hub, MemStore) {
    let mut store = MemStore {
        next_seq: 1,
        ..MemStore::default()
    };
    let mut hub = store.open().unwrap();
    let apply = |hub: &mut Hub, store: &mut MemStore, e: Event| {
        run_backed(hub, store, e, 100).unwrap();
        hub.evict(0);
    };
    apply(
        &mut hub,
        &mut store,
        ev(r#"{"type":"location_put","id":"L","location":{"name":"L"}}"#.into()),
    );
    apply(&mut hub, &mut store, ev(r#"{"type":"channel_put","id":"c","channel":{"locations":["L"],"target":{"kind":"demo"}}}"#.into()));
    for i in 0..skus {
        apply(
            &mut hub,
            &mut store,
            ev(format!(
                r#"{{"type":"item_put","sku":"S{i}","item":{{"levels":{{"L":5}}}}}}"#
            )),
        );
        apply(
            &mut hub,
            &mut store,
            ev(format!(
                r#"{{"type":"mappings_put","mappings":[{{"channel":"c","listing":"P{i}","sku":"S{i}"}}]}}"#
            )),
        );
    }
    (hub, store)
}

#[test]
fn an_order_reads_the_same_on_a_small_and_a_big_catalogue() {
    let mut reads = Vec::new();
    for skus in [10, 2_000] {
        let (mut hub, mut store) = catalogue(skus);
        hub.evict(0);
        let before = store.reads;
        let out = run_backed(
            &mut hub,
            &mut store,
            ev(r#"{"type":"order_placed","order":{"channel":"c","order":"O","lines":[{"listing":"P7","qty":1}]}}"#.into()),
            100,
        )
        .unwrap();
        assert_eq!(out.pushes.len(), 1);
        assert_eq!(out.pushes[0].quantity, 4);
        reads.push(store.reads - before);
        // Only the order's sku (its item and its one listing) and the order are in memory.
        let r = hub.resident();
        assert_eq!((r.items, r.listings, r.orders), (1, 1, 1), "{r:?}");
    }
    assert_eq!(
        reads[0], reads[1],
        "lookups per order grow with the catalogue"
    );
}

#[test]
fn eviction_keeps_the_working_set_within_its_budget() {
    let (mut hub, mut store) = catalogue(50);
    for i in 0..50 {
        run_backed(
            &mut hub,
            &mut store,
            ev(format!(r#"{{"type":"order_placed","order":{{"channel":"c","order":"O{i}","lines":[{{"listing":"P{i}","qty":1}}]}}}}"#)),
            100,
        )
        .unwrap();
        hub.evict(12);
        assert!(hub.resident().rows() <= 12, "{:?}", hub.resident());
    }
}
