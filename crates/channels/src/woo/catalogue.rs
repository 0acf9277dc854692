//! Discovery: `GET /products?per_page=100&page=N` (ordered by id, so pages are stable), and for
//! each variable product its `GET /products/{id}/variations?per_page=100&page=N`. The page
//! count comes from the `X-WP-TotalPages` header (the WordPress REST API's paging headers).
//!
//! A small sans-IO walker: [`CatalogueWalk::next_request`] says what to fetch,
//! [`CatalogueWalk::handle`] takes the answer and yields that page's listings. A variable
//! product is not a listing itself (orders name its variations), so it only queues its
//! variations.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::call_failure;
use crate::http::{Headers, Method, Request};
use crate::listing::{sku_of, DiscoveredListing, ListingAddress};
use crate::push::CallFailure;
use crate::target::WooApi;

/// Items per page: the WordPress REST API's maximum `per_page`.
pub const PAGE_SIZE: u32 = 100;

/// Where a walk is: the page to fetch next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Cursor {
    Products { page: u32 },
    Variations { parent: u64, page: u32 },
    Done,
}

/// A walk's whole position, to store between pages (a background discovery resumes from it
/// after a restart): the next page, and the variable products whose variations are still to
/// walk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkPosition {
    pub cursor: Cursor,
    #[serde(default)]
    pub parents: Vec<u64>,
}

/// Walks a shop's whole catalogue, one request at a time.
#[derive(Clone, Debug)]
pub struct CatalogueWalk {
    api: WooApi,
    cursor: Cursor,
    /// Variable products seen and not yet walked (the products' pages come first, then the
    /// variations of each variable product).
    parents: VecDeque<u64>,
}

/// One page's listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WooPage {
    pub listings: Vec<DiscoveredListing>,
    /// Entries that could not be read (no id).
    pub skipped: usize,
}

impl CatalogueWalk {
    pub fn new(api: WooApi) -> CatalogueWalk {
        CatalogueWalk {
            api,
            cursor: Cursor::Products { page: 1 },
            parents: VecDeque::new(),
        }
    }

    /// Resumes a walk at a stored position.
    pub fn resume(api: WooApi, at: WalkPosition) -> CatalogueWalk {
        CatalogueWalk {
            api,
            cursor: at.cursor,
            parents: at.parents.into_iter().collect(),
        }
    }

    /// The position to store; [`Self::resume`] continues from it.
    pub fn position(&self) -> WalkPosition {
        WalkPosition {
            cursor: self.cursor.clone(),
            parents: self.parents.iter().copied().collect(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.cursor == Cursor::Done
    }

    /// The next page to fetch, `None` when the walk is over.
    pub fn next_request(&self) -> Option<Request> {
        let url = match &self.cursor {
            Cursor::Products { page } => format!(
                "{}/products?per_page={PAGE_SIZE}&page={page}&orderby=id&order=asc",
                self.api.base_url
            ),
            Cursor::Variations { parent, page } => format!(
                "{}/products/{parent}/variations?per_page={PAGE_SIZE}&page={page}&orderby=id&order=asc",
                self.api.base_url
            ),
            Cursor::Done => return None,
        };
        Some(Request {
            method: Method::Get,
            url,
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Authorization".into(), self.api.authorization.clone()),
            ],
            body: Vec::new(),
        })
    }

    /// Takes the answer to [`Self::next_request`]. On `Err` the walk stays where it is: the
    /// same request can be sent again after the failure's wait.
    pub fn handle(
        &mut self,
        status: u16,
        headers: &(impl Headers + ?Sized),
        body: &[u8],
    ) -> Result<WooPage, CallFailure> {
        if let Some(f) = call_failure(status, headers, body) {
            return Err(f);
        }
        let total_pages: u32 = headers
            .get("x-wp-totalpages")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let items: Vec<Value> = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .ok_or_else(|| CallFailure::Malformed("a page is not a JSON list".into()))?;
        let mut listings = Vec::with_capacity(items.len());
        let mut skipped = 0;
        for it in &items {
            let Some(id) = it.get("id").and_then(Value::as_u64).filter(|i| *i > 0) else {
                skipped += 1;
                continue;
            };
            let sku = sku_of(it.get("sku").and_then(Value::as_str));
            match &self.cursor {
                Cursor::Products { .. } => {
                    if it.get("type").and_then(Value::as_str) == Some("variable") {
                        self.parents.push_back(id);
                    } else {
                        listings.push(DiscoveredListing {
                            listing: id.to_string(),
                            sku,
                            address: ListingAddress::WooProduct,
                        });
                    }
                }
                Cursor::Variations { parent, .. } => listings.push(DiscoveredListing {
                    listing: id.to_string(),
                    sku,
                    address: ListingAddress::WooVariation { parent_id: *parent },
                }),
                Cursor::Done => {}
            }
        }
        // An empty page ends a listing even if the header promised more (a catalogue that
        // shrank during the walk).
        self.cursor = match self.cursor {
            Cursor::Products { page } if page < total_pages && !items.is_empty() => {
                Cursor::Products { page: page + 1 }
            }
            Cursor::Variations { parent, page } if page < total_pages && !items.is_empty() => {
                Cursor::Variations {
                    parent,
                    page: page + 1,
                }
            }
            _ => match self.parents.pop_front() {
                Some(parent) => Cursor::Variations { parent, page: 1 },
                None => Cursor::Done,
            },
        };
        Ok(WooPage { listings, skipped })
    }
}
