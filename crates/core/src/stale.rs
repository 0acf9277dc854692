//! The stale compare (SPEC §9): what to do when a channel with compare-and-swap (Shopify's
//! `changeFromQuantity`) refuses a push because its number is no longer what the hub last
//! delivered — something moved it without the hub: a sale whose webhook has not arrived yet, or
//! a direct edit.
//!
//! **The rule implemented (the simplest safe one).** The shell reads the channel's current
//! number `C` and asks [`on_stale`]: if `C` already equals the hub's number, the push counts as
//! delivered; otherwise the hub's number is sent again with `changeFromQuantity = C`, once. A
//! second stale answer to that resend is a failed attempt under the retry policy (so the
//! listing never loops: at most one read and one resend per push). The hub's number wins at
//! its next change, as the seed says (an edit made directly on the channel is overwritten).
//!
//! **What it does not do yet.** A sale on the channel whose webhook has not arrived when the
//! hub pushes for another reason is overwritten too: for the seconds until that webhook
//! arrives, the channel can list one unit the hub has already promised elsewhere (the hub
//! reserves it as soon as the webhook arrives and pushes the lower number). The conservative
//! rule that closes that window — hold back the units the channel lost that no heard order
//! explains, pay the hold from the channel's own orders, let it lapse after an hour — is
//! written and simulated in `crates/channels/src/stale.rs`; moving it here needs three small
//! numbers of state per listing (`held`, `held_since_ms`, `heard`) and is left for the next
//! step (README, "Left").

/// What the shell does after a stale compare and a read of the channel's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleAction {
    /// The channel already shows the hub's number: record the push as delivered.
    Delivered,
    /// Send `quantity` again, with `change_from` as the compare value.
    Resend { quantity: i64, change_from: i64 },
    /// The channel could not say its number (the item is gone or not stocked at the
    /// location): a failed attempt.
    Unknown,
}

/// The stale rule: `wanted` is the number the push carried (the hub's number now), `channel`
/// what the channel shows, if it said.
pub fn on_stale(wanted: i64, channel: Option<i64>) -> StaleAction {
    match channel {
        None => StaleAction::Unknown,
        Some(c) if c == wanted => StaleAction::Delivered,
        Some(c) => StaleAction::Resend {
            quantity: wanted,
            change_from: c,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_is_overwritten_and_a_match_is_delivered() {
        assert_eq!(
            on_stale(4, Some(10)),
            StaleAction::Resend {
                quantity: 4,
                change_from: 10
            }
        );
        assert_eq!(on_stale(4, Some(4)), StaleAction::Delivered);
        assert_eq!(on_stale(4, None), StaleAction::Unknown);
    }
}
