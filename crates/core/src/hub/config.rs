//! Configuration: locations, items and composites, stock adjustments, channels and mappings.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::*;
use crate::error::{err, Error, ErrorCode};
use crate::ids::{check_text, ChannelId, ListingKey, LocationId, Sku};
use crate::limits;
use crate::model::{
    Adjust, Channel, Component, ItemBody, Link, Listing, Location, Mapping, SyncState, Target,
};
use crate::plan::{Outcome, SkipReason, Skipped};
use crate::qty::{Qty, MAX_QTY};
use crate::rules;

impl Hub {
    pub(super) fn put_location(
        &mut self,
        id: LocationId,
        location: Location,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        check_text("location name", &location.name)?;
        self.locations.insert(id.clone(), location);
        out.dirty.locations.push(id);
        Ok(())
    }

    /// The hub's own copy of a location id, so a million levels share one allocation of
    /// "LONDON" instead of holding a million.
    pub(crate) fn location_id(&self, id: &LocationId) -> LocationId {
        self.locations
            .get_key_value(id)
            .map_or_else(|| id.clone(), |(k, _)| k.clone())
    }

    /// The hub's own copy of a listing key's channel id, shared the same way.
    pub(super) fn interned(&self, key: ListingKey) -> ListingKey {
        match self.channels.get_key_value(&key.channel) {
            Some((c, _)) => ListingKey {
                channel: c.clone(),
                listing: key.listing,
            },
            None => key,
        }
    }

    pub(crate) fn check_location(&self, id: &LocationId) -> Result<(), Error> {
        if !self.locations.contains_key(id) {
            return err(
                ErrorCode::UnknownLocation,
                alloc::format!("no location \"{id}\"; create it with PUT /v1/locations/{id}"),
            );
        }
        Ok(())
    }

    pub(super) fn put_item(
        &mut self,
        sku: Sku,
        body: ItemBody,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        match (body.levels, body.components) {
            (Some(levels), None) => self.set_levels(sku, levels, out),
            (None, Some(components)) => self.set_components(sku, components, out),
            _ => err(
                ErrorCode::InvalidRequest,
                "an item body names exactly one of \"levels\" (on hand per location) or \"components\" (a composite)",
            ),
        }
    }

    pub(super) fn set_levels(
        &mut self,
        sku: Sku,
        levels: BTreeMap<LocationId, Qty>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if levels.len() > limits::MAX_LEVELS_PER_REQUEST {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} levels per request",
                    limits::MAX_LEVELS_PER_REQUEST
                ),
            );
        }
        if self.items.get(&sku).is_some_and(Item::is_composite) {
            return err(ErrorCode::ItemKindConflict, alloc::format!("\"{sku}\" is a composite: it holds no stock of its own; set its components' levels"));
        }
        for (loc, q) in &levels {
            self.check_location(loc)?;
            q.at_least(0, &alloc::format!("on hand at {loc}"))?;
        }
        let levels: Vec<(LocationId, i64)> = levels
            .into_iter()
            .map(|(loc, q)| (self.location_id(&loc), q.get()))
            .collect();
        let item = self.items.entry(sku.clone()).or_default();
        for (loc, q) in levels {
            item.levels.get_or_default(loc).on_hand = q;
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    pub(super) fn set_components(
        &mut self,
        sku: Sku,
        components: Vec<Component>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if components.is_empty() {
            return err(
                ErrorCode::InvalidComponent,
                "a composite needs at least one component",
            );
        }
        if components.len() > limits::MAX_COMPONENTS {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} components per composite",
                    limits::MAX_COMPONENTS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for c in &components {
            c.qty
                .at_least(1, &alloc::format!("component {} qty", c.sku))?;
            if c.sku == sku {
                return err(
                    ErrorCode::InvalidComponent,
                    alloc::format!("\"{sku}\" cannot be a component of itself"),
                );
            }
            if !seen.insert(&c.sku) {
                return err(
                    ErrorCode::InvalidComponent,
                    alloc::format!("component \"{}\" is listed twice", c.sku),
                );
            }
            match self.items.get(&c.sku) {
                None => {
                    return err(
                        ErrorCode::UnknownSku,
                        alloc::format!("component \"{}\" is not a hub item", c.sku),
                    )
                }
                Some(i) if i.is_composite() => {
                    return err(
                        ErrorCode::InvalidComponent,
                        alloc::format!(
                            "component \"{}\" is itself a composite; composites do not nest",
                            c.sku
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        if let Some(existing) = self.items.get(&sku) {
            if !existing.is_composite() {
                if existing
                    .levels
                    .values()
                    .any(|l| l.on_hand != 0 || l.reserved != 0)
                {
                    return err(
                        ErrorCode::ItemKindConflict,
                        alloc::format!(
                            "\"{sku}\" holds stock or reservations; it cannot become a composite"
                        ),
                    );
                }
                if self.parents.get(&sku).is_some_and(|p| !p.is_empty()) {
                    return err(
                        ErrorCode::ItemKindConflict,
                        alloc::format!(
                            "\"{sku}\" is a component of another composite; it cannot become one"
                        ),
                    );
                }
            }
        }
        let item = self.items.entry(sku.clone()).or_default();
        for old in core::mem::take(&mut item.components) {
            if let Some(p) = self.parents.get_mut(&old.sku) {
                p.remove(&sku);
            }
        }
        item.levels.clear();
        for c in &components {
            self.parents
                .entry(c.sku.clone())
                .or_default()
                .insert(sku.clone());
        }
        if let Some(item) = self.items.get_mut(&sku) {
            item.components = components;
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    pub(super) fn adjust(
        &mut self,
        sku: Sku,
        adjust: Adjust,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if let Some(r) = &adjust.reference {
            if let Some(prev) = self.adjustments.get(r) {
                if prev.sku == sku && prev.adjust == adjust {
                    return Ok(()); // already applied: a retried request
                }
                return err(
                    ErrorCode::AdjustmentConflict,
                    alloc::format!(
                        "adjustment reference \"{r}\" was already used for a different adjustment"
                    ),
                );
            }
        }
        let Some(item) = self.items.get(&sku) else {
            return err(ErrorCode::UnknownSku, alloc::format!("no item \"{sku}\""));
        };
        if item.is_composite() {
            return err(
                ErrorCode::ItemKindConflict,
                alloc::format!("\"{sku}\" is a composite: adjust its components"),
            );
        }
        self.check_location(&adjust.location)?;
        if let Some(reason) = &adjust.reason {
            check_text("reason", reason)?;
        }
        let delta = adjust.delta.get();
        if delta == 0 {
            return err(ErrorCode::InvalidQuantity, "delta must not be zero");
        }
        let on_hand = item.levels.get(&adjust.location).map_or(0, |l| l.on_hand);
        let after = on_hand + delta; // both within ±2^53: no overflow
        if delta < 0 && after < 0 {
            return err(
                ErrorCode::NegativeStock,
                alloc::format!(
                    "{sku} has {on_hand} on hand at {}; removing {} would leave {after}",
                    adjust.location,
                    -delta
                ),
            );
        }
        if after > MAX_QTY {
            return err(
                ErrorCode::InvalidQuantity,
                alloc::format!("on hand would exceed 2^53−1 ({after})"),
            );
        }
        let location = self.location_id(&adjust.location);
        if let Some(item) = self.items.get_mut(&sku) {
            item.levels.get_or_default(location).on_hand = after;
        }
        if let Some(r) = adjust.reference.clone() {
            self.adjustments.insert(
                r.clone(),
                AdjustRecord {
                    sku: sku.clone(),
                    adjust,
                },
            );
            out.dirty.adjustments.push(r);
        }
        out.dirty.items.push(sku.clone());
        self.plan_skus([sku], out);
        Ok(())
    }

    /// `require_secret` is false only when loading a snapshot, which may be a redacted export.
    pub(crate) fn put_channel(
        &mut self,
        id: ChannelId,
        mut channel: Channel,
        require_secret: bool,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        check_text("channel name", &channel.name)?;
        if channel.locations.len() > limits::MAX_CHANNEL_LOCATIONS {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} locations per channel",
                    limits::MAX_CHANNEL_LOCATIONS
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for loc in &channel.locations {
            self.check_location(loc)?;
            if !seen.insert(loc) {
                return err(
                    ErrorCode::InvalidRequest,
                    alloc::format!("location \"{loc}\" is listed twice"),
                );
            }
        }
        rules::validate(&channel.rules)?;
        // A PUT that leaves a secret out keeps the one the channel has (secrets are never
        // shown, so an edit of a fetched channel could not resend them).
        channel
            .target
            .keep_secrets(self.channels.get(&id).map(|c| &c.target));
        if let Target::Webhook { url, secret, .. } = &mut channel.target {
            check_url(url)?;
            match secret {
                None if !require_secret => {}
                None => {
                    return err(
                        ErrorCode::InvalidRequest,
                        "a webhook target needs a \"secret\" to sign what it sends",
                    )
                }
                Some(s)
                    if s.len() < limits::MIN_SECRET_BYTES || s.len() > limits::MAX_SECRET_BYTES =>
                {
                    return err(
                        ErrorCode::InvalidRequest,
                        alloc::format!(
                            "a webhook secret is {}–{} bytes",
                            limits::MIN_SECRET_BYTES,
                            limits::MAX_SECRET_BYTES
                        ),
                    )
                }
                Some(s) => check_text("secret", s)?,
            }
        }
        channel.locations = channel
            .locations
            .iter()
            .map(|l| self.location_id(l))
            .collect();
        self.channels.insert(id.clone(), channel);
        out.dirty.channels.push(id.clone());
        if self.backed.is_some() {
            // A backed hub holds only some of the channel's listings: the shell pages through
            // all of them (inline, or as a background job for a big channel).
            out.recompute = Some(crate::store::Recompute {
                channel: Some(id),
                resync: false,
            });
            return Ok(());
        }
        let keys = self.channel_listings(&id);
        self.plan(keys, Force::Changed, out);
        Ok(())
    }

    pub(crate) fn channel_listings(&self, channel: &ChannelId) -> Vec<ListingKey> {
        self.by_channel
            .get(channel)
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// Adds a listing the hub did not know, keeping the channel index in step.
    pub(crate) fn insert_listing(
        &mut self,
        key: ListingKey,
        mut listing: Listing,
    ) -> Option<Listing> {
        let key = self.interned(key);
        if let Some(link) = &mut listing.link {
            if let Some((sku, _)) = self.items.get_key_value(&link.sku) {
                link.sku = sku.clone();
            }
        }
        self.by_channel
            .entry(key.channel.clone())
            .or_default()
            .insert(key.clone());
        let previous = self.listings.insert(key.clone(), listing);
        self.index_link(&key);
        previous
    }

    /// Adds a linked listing to its sku's index, sharing the stored key and sku.
    pub(super) fn index_link(&mut self, key: &ListingKey) {
        if let Some((
            key,
            Listing {
                link: Some(link), ..
            },
        )) = self.listings.get_key_value(key)
        {
            self.by_sku
                .entry(link.sku.clone())
                .or_default()
                .insert(key.clone());
        }
    }

    pub(crate) fn check_mapping(&self, m: &Mapping) -> Result<(), Error> {
        if !self.channels.contains_key(&m.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{}\"", m.channel),
            );
        }
        if !self.items.contains_key(&m.sku) {
            return err(
                ErrorCode::UnknownSku,
                alloc::format!("no item \"{}\"", m.sku),
            );
        }
        if let Some(p) = m.pack {
            p.at_least(1, "pack")?;
        }
        rules::validate_overrides(&m.rules)?;
        let key = ListingKey::new(m.channel.clone(), m.listing.clone());
        if let Some(link) = self.listings.get(&key).and_then(|l| l.link.as_ref()) {
            if link.sku != m.sku {
                return err(
                    ErrorCode::MappingConflict,
                    alloc::format!(
                        "listing {key} is linked to \"{}\"; unlink it before linking it to \"{}\"",
                        link.sku,
                        m.sku
                    ),
                );
            }
        }
        Ok(())
    }

    pub(super) fn put_mappings(
        &mut self,
        mappings: Vec<Mapping>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if mappings.len() > limits::MAX_MAPPINGS_PER_REQUEST {
            return err(
                ErrorCode::TooMany,
                alloc::format!(
                    "at most {} mappings per request",
                    limits::MAX_MAPPINGS_PER_REQUEST
                ),
            );
        }
        let mut batch: BTreeMap<ListingKey, &Sku> = BTreeMap::new();
        for (i, m) in mappings.iter().enumerate() {
            self.check_mapping(m).map_err(|e| {
                Error::new(e.code, alloc::format!("mapping {}: {}", i + 1, e.message))
            })?;
            let key = ListingKey::new(m.channel.clone(), m.listing.clone());
            if let Some(other) = batch.insert(key.clone(), &m.sku) {
                if *other != m.sku {
                    return err(
                        ErrorCode::MappingConflict,
                        alloc::format!(
                            "mapping {}: listing {key} is named twice, for \"{other}\" and \"{}\"",
                            i + 1,
                            m.sku
                        ),
                    );
                }
            }
        }
        let mut keys = Vec::with_capacity(mappings.len());
        for m in mappings {
            let key = ListingKey::new(m.channel, m.listing);
            let link = Link {
                sku: m.sku.clone(),
                pack: m.pack.map_or(1, Qty::get),
                ignore_sync: m.ignore_sync,
                rules: m.rules,
            };
            match self.listings.get_mut(&key) {
                Some(l) => {
                    l.link = Some(link);
                    self.index_link(&key);
                }
                None => {
                    self.insert_listing(
                        key.clone(),
                        Listing {
                            link: Some(link),
                            sync: SyncState::default(),
                        },
                    );
                }
            }
            out.dirty.listings.push(key.clone());
            keys.push(key);
        }
        self.plan(keys, Force::Changed, out);
        Ok(())
    }

    /// [`Event::ListingsSeen`]: unknown listings of an existing channel become known and
    /// unlinked (as an order line for an unknown listing makes them); nothing else changes.
    #[cfg(feature = "backed")]
    pub(super) fn see_listings(
        &mut self,
        channel: ChannelId,
        listings: Vec<crate::ids::ListingId>,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if !self.channels.contains_key(&channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{channel}\""),
            );
        }
        for listing in listings {
            let key = ListingKey::new(channel.clone(), listing);
            if !self.listings.contains_key(&key) {
                self.insert_listing(key.clone(), Listing::default());
                out.dirty.listings.push(key);
            }
        }
        Ok(())
    }

    pub(super) fn delete_mapping(
        &mut self,
        key: ListingKey,
        out: &mut Outcome,
    ) -> Result<(), Error> {
        if !self.channels.contains_key(&key.channel) {
            return err(
                ErrorCode::UnknownChannel,
                alloc::format!("no channel \"{}\"", key.channel),
            );
        }
        let Some(listing) = self.listings.get_mut(&key) else {
            return err(
                ErrorCode::UnknownListing,
                alloc::format!("listing {key} is not known to the hub"),
            );
        };
        // Unlinking an unlinked listing succeeds and changes nothing, so a retried DELETE is safe.
        let Some(link) = listing.link.take() else {
            out.skipped.push(Skipped {
                channel: key.channel,
                listing: key.listing,
                sku: None,
                reason: SkipReason::Unlinked,
            });
            return Ok(());
        };
        if let Some(set) = self.by_sku.get_mut(&link.sku) {
            set.remove(&key);
            if set.is_empty() {
                self.by_sku.remove(&link.sku);
            }
        }
        out.dirty.listings.push(key.clone());
        self.plan([key], Force::Changed, out);
        Ok(())
    }
}
