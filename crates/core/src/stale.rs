//! The stale compare (SPEC §9): what happens when a channel with compare-and-swap (Shopify's
//! `changeFromQuantity`) refuses a push because its number `C` is no longer what the hub last
//! delivered `L` — something moved it without the hub: a sale whose webhook has not arrived
//! yet, or a direct edit. The hub cannot tell which from `C` alone. This is the core's rule
//! (proposed and simulated in `stocksync-channels`, moved here at wiring); the worker keeps
//! each listing's [`Drift`] beside its channel facts and asks this module every time.
//!
//! Orders of this listing the hub has *heard* from this channel since `L` was delivered explain
//! part of `L − C` (their webhooks arrived: the hub's own number already counts them). The
//! rest, `max(0, L − C − heard)`, are sales the hub has not heard of yet — or a direct edit
//! down. The rule **holds those units back**: it sends `max(0, wanted − held)` (never raising
//! the channel over a sale it has not heard of), with `changeFromQuantity = C`. Each later
//! order from this channel for the listing first pays off the hold; a hold that no order pays
//! within [`HOLD_MS`] was an edit, not a sale, and lapses, so the hub's number wins at its next
//! change (the seed: the hub overwrites a direct edit). A channel that went *up* (an edit up,
//! a restock) holds nothing: the hub's number overwrites it at once.
//!
//! It never loops: one stale answer leads to one read and one resend whose compare is the
//! number just read; a resend that is stale again is the channel moving again (a new sale),
//! counted as an attempt under the delivery's retry policy.
//!
//! Limits: an edit *up* followed by a channel sale before the hub's next push masks that sale
//! (`L − C` is negative) until its webhook arrives; the subtraction is exact for the identity,
//! `pack` and `max_listed` rules and conservative for `buffer` and `percent`.

/// How long unexplained channel losses are held back before they are taken for an edit, by
/// default: far longer than a webhook normally takes (seconds), shorter than Shopify's retry
/// window for a failing endpoint (8 retries over 4 hours). A deployment may tune it: the
/// `*_within` methods take the hold as an argument (the worker reads `STALE_HOLD_MS`), and the
/// others use this default.
pub const HOLD_MS: u64 = 60 * 60 * 1000;

/// What a listing remembers for the rule (three small numbers beside its last-sent value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Units the channel lost that no order heard from it explains yet (≥ 0).
    pub held: i64,
    /// When `held` last grew, in ms of the shell's clock.
    pub held_since_ms: u64,
    /// Units of this listing ordered on this channel whose webhooks arrived since the last
    /// delivery (≥ 0): the hub's number already counts them.
    pub heard: i64,
}

/// What to do after a stale compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleDecision {
    /// The channel already shows what the hub would send: record `delivered` as the last
    /// delivered number, send nothing.
    InSync { delivered: i64 },
    /// Send `quantity` compared with `change_from` (the number just read), with a new
    /// idempotency key (the variables changed).
    Resend { quantity: i64, change_from: i64 },
}

impl Drift {
    fn lapse(&mut self, now_ms: u64, hold_ms: u64) {
        if self.held > 0 && now_ms.saturating_sub(self.held_since_ms) >= hold_ms {
            self.held = 0;
        }
    }

    /// The number to send for this listing when the hub's own (rule-shaped) number is
    /// `wanted`: every push to the listing goes through it while a hold is live.
    pub fn shaped(&mut self, wanted: i64, now_ms: u64) -> i64 {
        self.shaped_within(wanted, now_ms, HOLD_MS)
    }

    /// [`Self::shaped`] with a hold of `hold_ms` instead of [`HOLD_MS`].
    pub fn shaped_within(&mut self, wanted: i64, now_ms: u64, hold_ms: u64) -> i64 {
        self.lapse(now_ms, hold_ms);
        (wanted - self.held).max(0)
    }

    /// When the hold lapses, if one is live: the shell arms its alarm then and replans the
    /// listing, so that the hub's number goes out without waiting for another change.
    pub fn lapses_at_ms(&self) -> Option<u64> {
        self.lapses_within(HOLD_MS)
    }

    /// [`Self::lapses_at_ms`] with a hold of `hold_ms`.
    pub fn lapses_within(&self, hold_ms: u64) -> Option<u64> {
        (self.held > 0).then(|| self.held_since_ms.saturating_add(hold_ms))
    }

    /// An order line of `qty` units for this listing arrived from this channel.
    pub fn on_channel_order(&mut self, qty: i64) {
        let paid = qty.min(self.held).max(0);
        self.held -= paid;
        self.heard += qty - paid;
    }

    /// The channel acknowledged a delivery (compare passed or no compare).
    pub fn on_delivered(&mut self) {
        self.heard = 0;
    }

    /// The channel answered stale to a push compared with `last_delivered`; its number, read
    /// back, is `channel_now`; the hub's number is `wanted`.
    pub fn on_stale(
        &mut self,
        last_delivered: i64,
        wanted: i64,
        channel_now: i64,
        now_ms: u64,
    ) -> StaleDecision {
        self.on_stale_within(last_delivered, wanted, channel_now, now_ms, HOLD_MS)
    }

    /// [`Self::on_stale`] with a hold of `hold_ms`.
    pub fn on_stale_within(
        &mut self,
        last_delivered: i64,
        wanted: i64,
        channel_now: i64,
        now_ms: u64,
        hold_ms: u64,
    ) -> StaleDecision {
        self.lapse(now_ms, hold_ms);
        let unexplained = (last_delivered - channel_now - self.heard).max(0);
        if unexplained > 0 {
            self.held += unexplained;
            self.held_since_ms = now_ms;
        }
        // The heard orders explained what they could; the baseline is now the number read.
        self.heard = 0;
        let target = (wanted - self.held).max(0);
        if target == channel_now {
            StaleDecision::InSync {
                delivered: channel_now,
            }
        } else {
            StaleDecision::Resend {
                quantity: target,
                change_from: channel_now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_issue_story_a_sale_on_shopify_heard_after_a_sale_elsewhere() {
        // Delivered 5. Shopify sells 1 (no webhook yet): it shows 4. eBay sells 1: the hub
        // wants 4 and is refused as stale.
        let mut d = Drift::default();
        let decision = d.on_stale(5, 4, 4, 0);
        // The channel lost 1 unit the hub has not heard of: hold it, send 3, compared with 4.
        // (Sending nothing because "4 is what the hub wants" would list a unit sold twice.)
        assert_eq!(
            decision,
            StaleDecision::Resend {
                quantity: 3,
                change_from: 4
            }
        );
        d.on_delivered();
        // Shopify's webhook arrives: the hub reserves it, wants 3; the hold is paid.
        d.on_channel_order(1);
        assert_eq!(d.held, 0);
        assert_eq!(d.shaped(3, 1_000), 3, "nothing more to send: converged");
    }

    #[test]
    fn a_heard_sale_is_not_held_twice() {
        // Delivered 5; Shopify sells 1 and its webhook arrives first; the hub wants 4 and
        // pushes to Shopify too (SPEC rule 7): stale, the channel shows 4 already.
        let mut d = Drift::default();
        d.on_channel_order(1);
        assert_eq!(
            d.on_stale(5, 4, 4, 0),
            StaleDecision::InSync { delivered: 4 }
        );
        assert_eq!(d.held, 0);
    }

    #[test]
    fn an_edit_up_is_overwritten_at_once() {
        // The seed's TEST_SS7052: delivered 5, edited to 10 on the channel, an order makes the
        // hub want 4: sent 4 compared with 10.
        let mut d = Drift::default();
        assert_eq!(
            d.on_stale(5, 4, 10, 0),
            StaleDecision::Resend {
                quantity: 4,
                change_from: 10
            }
        );
        assert_eq!(d.held, 0);
    }

    #[test]
    fn an_edit_down_is_held_then_overwritten_when_the_hold_lapses() {
        let mut d = Drift::default();
        // Delivered 5; the merchant set 0 on the channel; the hub wants 6 (goods in).
        assert_eq!(
            d.on_stale(5, 6, 0, 0),
            StaleDecision::Resend {
                quantity: 1,
                change_from: 0
            }
        );
        assert_eq!(d.lapses_at_ms(), Some(HOLD_MS));
        assert_eq!(d.shaped(6, HOLD_MS - 1), 1);
        assert_eq!(
            d.shaped(6, HOLD_MS),
            6,
            "no sale explained it: it was an edit; the hub wins"
        );
        assert_eq!(d.lapses_at_ms(), None);
    }

    #[test]
    fn the_hold_is_the_deployment_s_to_tune() {
        let mut d = Drift::default();
        let hold_ms = 5_000;
        assert_eq!(
            d.on_stale_within(5, 6, 0, 1_000, hold_ms),
            StaleDecision::Resend {
                quantity: 1,
                change_from: 0
            }
        );
        assert_eq!(d.lapses_within(hold_ms), Some(6_000));
        assert_eq!(d.shaped_within(6, 5_999, hold_ms), 1);
        assert_eq!(d.shaped_within(6, 6_000, hold_ms), 6);
    }

    /// A deterministic simulation: a listing on a channel that sells on its own, with webhooks
    /// arriving late, sales elsewhere, and pushes compared and retried by the rule. Checks, at
    /// every step, that the hub never sets the channel above what is really left, that each
    /// push takes at most two calls (no loop), and at the end that the channel converges to
    /// the hub's number.
    #[test]
    fn simulation_never_oversells_and_converges() {
        let mut resends = 0;
        for seed in 1..=300u64 {
            resends += simulate(seed, false);
            resends += simulate(seed, true);
        }
        // The stale path is exercised, not just the happy one.
        assert!(resends > 1_000, "{resends}");
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn simulate(seed: u64, with_edits: bool) -> u32 {
        let mut resends = 0;
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut now = 0u64;
        let mut stock = 20 + rng.below(20) as i64; // physical units
        let mut sold_really = 0i64; // every sale, heard or not
        let mut heard_sold = 0i64; // sales the hub has heard of
        let mut channel = 0i64; // what the channel shows
        let mut last: Option<i64> = None; // what the hub last delivered
        let mut drift = Drift::default();
        let mut webhooks: Vec<(u64, i64)> = Vec::new(); // (arrives at, qty)
        let mut edited = false;
        let hub_wants = |stock: i64, heard: i64| (stock - heard).max(0);

        // One delivery: compared with what was last delivered; on stale, read and decide.
        let push = |channel: &mut i64,
                    last: &mut Option<i64>,
                    drift: &mut Drift,
                    wanted: i64,
                    now: u64|
         -> u32 {
            let target = drift.shaped(wanted, now);
            if Some(target) == *last {
                return 0;
            }
            let mut calls = 1;
            if last.is_none_or(|l| l == *channel) {
                *channel = target;
                *last = Some(target);
                drift.on_delivered();
                return calls;
            }
            // Stale: read the channel's number and decide.
            match drift.on_stale(last.unwrap_or(0), wanted, *channel, now) {
                StaleDecision::InSync { delivered } => {
                    *last = Some(delivered);
                    drift.on_delivered();
                }
                StaleDecision::Resend {
                    quantity,
                    change_from,
                } => {
                    calls += 1;
                    assert_eq!(
                        change_from, *channel,
                        "nothing moves between read and resend here"
                    );
                    *channel = quantity;
                    *last = Some(quantity);
                    drift.on_delivered();
                }
            }
            calls
        };

        for _ in 0..200 {
            now += rng.below(2_000);
            // Webhooks due arrive.
            webhooks.sort();
            while webhooks.first().is_some_and(|(at, _)| *at <= now) {
                let (_, qty) = webhooks.remove(0);
                heard_sold += qty;
                drift.on_channel_order(qty);
            }
            match rng.below(10) {
                // A sale on the channel (only of what it shows, like a shop that does not
                // sell out of stock), its webhook arriving up to 30 s later.
                0..=3 if channel > 0 && sold_really < stock => {
                    channel -= 1;
                    sold_really += 1;
                    webhooks.push((now + rng.below(30_000), 1));
                }
                // A sale elsewhere, heard at once.
                4..=5 if sold_really < stock => {
                    sold_really += 1;
                    heard_sold += 1;
                }
                // Goods in.
                6 => stock += rng.below(5) as i64,
                // A direct edit on the channel.
                7 if with_edits => {
                    channel = rng.below(40) as i64;
                    edited = true;
                }
                _ => {}
            }
            let calls = push(
                &mut channel,
                &mut last,
                &mut drift,
                hub_wants(stock, heard_sold),
                now,
            );
            assert!(calls <= 2, "seed {seed}: a push took {calls} calls");
            resends += u32::from(calls == 2);
            if !edited {
                // What the hub set never exceeds what is really left.
                assert!(
                    calls == 0 || channel <= (stock - sold_really).max(0),
                    "seed {seed}: channel shows {channel}, {} really left",
                    stock - sold_really
                );
            }
        }
        // Every webhook arrives, time passes beyond the hold: one more push converges.
        for (_, qty) in webhooks.drain(..) {
            heard_sold += qty;
            drift.on_channel_order(qty);
        }
        now += HOLD_MS + 1;
        // The lapse replans the listing (the shell's alarm): without edits that converges.
        let wanted = hub_wants(stock, heard_sold);
        push(&mut channel, &mut last, &mut drift, wanted, now);
        if !edited {
            assert_eq!(drift.held, 0, "seed {seed}: a hold with every webhook in");
            assert_eq!(channel, wanted, "seed {seed}: no convergence");
            assert_eq!(channel, (stock - sold_really).max(0));
        }
        // A direct edit survives until the hub's number next changes (SPEC rule 6) and is
        // overwritten then: at once if it was up; if it was down, the units it removed are held
        // back as possible sales until the hold lapses, and the lapse sends the hub's number.
        stock += 1;
        let wanted = hub_wants(stock, heard_sold);
        push(&mut channel, &mut last, &mut drift, wanted, now);
        assert!(channel <= wanted);
        now += HOLD_MS + 1;
        push(&mut channel, &mut last, &mut drift, wanted, now);
        assert_eq!(
            channel, wanted,
            "seed {seed} (edits: {with_edits}): no convergence"
        );
        assert_eq!(drift.held, 0);
        resends
    }
}
