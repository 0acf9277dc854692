//! Channel-wide what-ifs page by page (`POST /v1/preview?summary=true`): the numbers
//! [`Hub::what_if`] gives on a backed hub, a page of listings at a time, are the ones applying
//! the change to a hub held whole and diffing gives.
#![cfg(feature = "backed")]

use stocksync_core::scenario::run_backed;
use stocksync_core::{
    wire, ChannelId, Event, Hub, ListingKey, MemStore, PreviewSummary, WhatIf, BIGGEST_DROPS,
};

fn ev(json: &str) -> Event {
    wire::from_json(json).unwrap()
}

/// The same merchant held whole and backed by a store: 30 skus with stock varying by sku at
/// two locations, a composite, and a channel `c` with linked, packed, ignored and unlinked
/// listings, some of them already sent a number.
fn merchant() -> (Hub, Hub, MemStore) {
    let mut events = vec![
        ev(r#"{"type":"location_put","id":"L","location":{}}"#),
        ev(r#"{"type":"location_put","id":"M","location":{}}"#),
        ev(
            r#"{"type":"channel_put","id":"c","channel":{"locations":["L","M"],"target":{"kind":"demo"}}}"#,
        ),
        ev(
            r#"{"type":"channel_put","id":"d","channel":{"locations":["L"],"target":{"kind":"demo"}}}"#,
        ),
    ];
    for i in 0..30 {
        events.push(ev(&format!(
            r#"{{"type":"item_put","sku":"S{i:02}","item":{{"levels":{{"L":{},"M":{}}}}}}}"#,
            (i * 7) % 11,
            i % 4
        )));
    }
    events.push(ev(
        r#"{"type":"item_put","sku":"KIT","item":{"components":[{"sku":"S01","qty":1},{"sku":"S02","qty":2}]}}"#,
    ));
    let mut mappings = Vec::new();
    for i in 0..30 {
        let extra = match i % 5 {
            0 => r#","pack":2"#,
            1 => r#","ignore_sync":true"#,
            2 => r#","rules":{"buffer":1}"#,
            _ => "",
        };
        mappings.push(format!(
            r#"{{"channel":"c","listing":"C{i:02}","sku":"S{i:02}"{extra}}}"#
        ));
        mappings.push(format!(
            r#"{{"channel":"d","listing":"D{i:02}","sku":"S{i:02}"}}"#
        ));
    }
    mappings.push(r#"{"channel":"c","listing":"CKIT","sku":"KIT"}"#.to_string());
    events.push(ev(&format!(
        r#"{{"type":"mappings_put","mappings":[{}]}}"#,
        mappings.join(",")
    )));
    // An unlinked listing on c (an order line for an unknown listing makes it known).
    events.push(ev(
        r#"{"type":"order_placed","order":{"channel":"c","order":"O1","lines":[{"listing":"NEW","qty":1}]}}"#,
    ));
    // Some listings were sent their numbers (others still wait).
    let mut whole = Hub::new();
    let mut store = MemStore {
        next_seq: 1,
        ..MemStore::default()
    };
    let mut backed = store.open().unwrap();
    for e in events {
        whole.apply(e.clone()).unwrap();
        run_backed(&mut backed, &mut store, e, 1_000).unwrap();
        backed.evict(0);
    }
    for i in (0..30).step_by(3) {
        let key = ListingKey::new(
            ChannelId::new("c").unwrap(),
            stocksync_core::ListingId::new(format!("C{i:02}")).unwrap(),
        );
        let Some((pending, _)) = whole.pending(&key) else {
            continue;
        };
        let e = ev(&format!(
            r#"{{"type":"push_delivered","channel":"c","listing":"C{i:02}","seq":{},"quantity":{}}}"#,
            pending.seq,
            pending.quantity.get()
        ));
        whole.apply(e.clone()).unwrap();
        run_backed(&mut backed, &mut store, e, 1_000).unwrap();
        backed.evict(0);
    }
    (whole, backed, store)
}

/// Applies `change` to a copy of the whole hub and diffs every listing of channel `c`.
fn applied_and_diffed(whole: &Hub, change: &Event) -> Vec<(ListingKey, Option<i64>, Option<i64>)> {
    let mut after = whole.clone();
    after.apply(change.clone()).unwrap();
    let c = ChannelId::new("c").unwrap();
    let mut keys: Vec<ListingKey> = whole
        .listing_keys()
        .filter(|k| k.channel == c)
        .cloned()
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let now = whole.wanted(&k).ok().map(|e| e.quantity);
            let from = now.or(whole.last_sent(&k));
            let to = after.wanted(&k).ok().map(|e| e.quantity);
            (k, from, to)
        })
        .collect()
}

/// The backed hub's answer, two listings a page, evicting between pages as the worker may.
fn paged(backed: &mut Hub, store: &mut MemStore, change: &Event) -> Vec<WhatIf> {
    let config = backed.config_after(std::slice::from_ref(change)).unwrap();
    let channels = backed.what_if_channels(std::slice::from_ref(change));
    assert_eq!(channels, [ChannelId::new("c").unwrap()]);
    let mut out = Vec::new();
    let mut after: Option<ListingKey> = None;
    loop {
        let records = store.channel_page(&channels[0], after.as_ref(), 2).unwrap();
        if records.is_empty() {
            break;
        }
        let keys = backed.prefetch_listings(records, store).unwrap();
        after = keys.last().cloned();
        out.extend(backed.what_if(&config, &keys));
        backed.evict(0);
    }
    out
}

#[test]
fn a_summary_preview_gives_what_applying_and_diffing_gives() {
    let (whole, mut backed, mut store) = merchant();
    let before = store.clone();
    for change in [
        // rules
        r#"{"type":"channel_put","id":"c","channel":{"locations":["L","M"],"rules":{"buffer":3,"max_listed":6},"target":{"kind":"demo"}}}"#,
        // locations
        r#"{"type":"channel_put","id":"c","channel":{"locations":["M"],"target":{"kind":"demo"}}}"#,
        // disabled
        r#"{"type":"channel_put","id":"c","channel":{"enabled":false,"locations":["L","M"],"target":{"kind":"demo"}}}"#,
        // kits across locations, percent
        r#"{"type":"channel_put","id":"c","channel":{"locations":["L","M"],"rules":{"percent":50,"bundle_pooling":"across_locations"},"target":{"kind":"demo"}}}"#,
        // a resync changes no number
        r#"{"type":"resync","channel":"c"}"#,
    ] {
        let change = ev(change);
        let expected = applied_and_diffed(&whole, &change);
        let got: Vec<(ListingKey, Option<i64>, Option<i64>)> =
            paged(&mut backed, &mut store, &change)
                .into_iter()
                .map(|w| (w.key, w.from, w.to))
                .collect();
        assert_eq!(got, expected, "{change:?}");
        // The whole hub answers the same without paging.
        let config = whole.config_after(std::slice::from_ref(&change)).unwrap();
        let keys: Vec<ListingKey> = expected.iter().map(|(k, ..)| k.clone()).collect();
        let whole_got: Vec<_> = whole
            .what_if(&config, &keys)
            .into_iter()
            .map(|w| (w.key, w.from, w.to))
            .collect();
        assert_eq!(whole_got, expected);
    }
    store.reads = before.reads;
    assert!(store == before, "a what-if wrote nothing");
}

#[test]
fn the_summary_counts_and_ranks_drops() {
    let (whole, mut backed, mut store) = merchant();
    let change = ev(
        r#"{"type":"channel_put","id":"c","channel":{"locations":["L"],"rules":{"buffer":2},"target":{"kind":"demo"}}}"#,
    );
    let mut summary = PreviewSummary::default();
    for w in paged(&mut backed, &mut store, &change) {
        summary.add(&w);
    }
    let diffed = applied_and_diffed(&whole, &change);
    assert_eq!(summary.listings, diffed.len() as u64);
    let drops: Vec<(i64, &ListingKey)> = diffed
        .iter()
        .filter_map(|(k, f, t)| match (f, t) {
            (Some(f), Some(t)) if t < f => Some((f - t, k)),
            _ => None,
        })
        .collect();
    assert_eq!(summary.decreased, drops.len() as u64);
    let mut ranked = drops.clone();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    ranked.truncate(BIGGEST_DROPS);
    let got: Vec<(i64, String)> = summary
        .biggest_drops
        .iter()
        .map(|d| (d.from - d.to, d.listing.to_string()))
        .collect();
    let want: Vec<(i64, String)> = ranked
        .iter()
        .map(|(d, k)| (*d, k.listing.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(summary.biggest_drops.len() <= BIGGEST_DROPS && !summary.biggest_drops.is_empty());
    let zero = diffed
        .iter()
        .filter(|(_, f, t)| *t == Some(0) && f.unwrap_or(0) > 0)
        .count();
    assert_eq!(summary.to_zero, zero as u64);
    let increased = diffed
        .iter()
        .filter(|(_, f, t)| matches!((f, t), (Some(f), Some(t)) if t > f))
        .count();
    assert_eq!(summary.increased, increased as u64);
    // Disabling the channel stops every listing that gets a number now.
    let off = ev(
        r#"{"type":"channel_put","id":"c","channel":{"enabled":false,"locations":["L"],"target":{"kind":"demo"}}}"#,
    );
    let mut s = PreviewSummary::default();
    let ws = paged(&mut backed, &mut store, &off);
    for w in &ws {
        s.add(w);
    }
    let synced = ws.iter().filter(|w| w.synced_now).count() as u64;
    assert!(synced > 0);
    assert_eq!((s.stops_sync, s.changed), (synced, synced));
}

#[test]
fn a_summary_takes_only_channel_wide_events() {
    let (whole, ..) = merchant();
    let e = whole
        .config_after(&[ev(
            r#"{"type":"item_put","sku":"S01","item":{"levels":{"L":1}}}"#,
        )])
        .unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_request");
    let e = whole
        .config_after(&[ev(
            r#"{"type":"channel_put","id":"c","channel":{"locations":["NOWHERE"],"target":{"kind":"demo"}}}"#,
        )])
        .unwrap_err();
    assert!(e.message.starts_with("event 1:"), "{}", e.message);
}
