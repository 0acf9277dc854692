//! Method + path → [`Route`], and a mutating route + its body → the core [`Event`] it stands for.
//! Path ids are percent-decoded and validated with the core's id types, so a bad id in a path
//! answers `invalid_id` exactly as one in a body does.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use stocksync_core::limits::{MAX_BODY_BYTES, MAX_BULK_BODY_BYTES, MAX_MAPPINGS_PER_REQUEST};
use stocksync_core::{
    wire, ChannelId, ErrorCode, Event, ListingId, LocationId, Mapping, OrderRef, ResyncBody, Sku,
};
use worker::Method;

use crate::bulk::{self, BulkItems};
use crate::http::{ApiError, Body};

/// Every route of the v1 API (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    LocationPut(LocationId),
    /// `PUT /v1/items`: bulk stock, CSV or JSON ([`items_bulk`]).
    ItemsBulk,
    ItemPut(Sku),
    ItemGet(Sku),
    ItemAdjust(Sku),
    /// Served by the Worker from KV.
    ChannelsList,
    ChannelPut(ChannelId),
    MappingsPut,
    /// Served by the Worker from KV.
    MappingGet(ChannelId, ListingId),
    MappingDelete(ChannelId, ListingId),
    OrderPlace,
    /// `POST /v1/channels/{id}/inbound`: the channel's own webhooks, signed by the channel.
    ChannelInbound(ChannelId),
    /// `POST /v1/channels/{id}/discover`: read the channel's catalogue, link by SKU.
    ChannelDiscover(ChannelId),
    OrderCancel(ChannelId, OrderRef),
    OrderShip(ChannelId, OrderRef),
    Sync,
    Resync,
    Stats,
    Job(String),
    Preview,
    Export,
    Import,
    DemoGet(ChannelId, ListingId),
    DemoPut(ChannelId, ListingId),
}

impl Route {
    /// The largest body this route reads: [`MAX_BULK_BODY_BYTES`] (64 MiB) on the bulk routes
    /// (`PUT /v1/items`, `PUT /v1/mappings`, `POST /v1/import`), [`MAX_BODY_BYTES`] (1 MiB)
    /// everywhere else.
    pub fn body_cap(&self) -> usize {
        if self.is_bulk() {
            MAX_BULK_BODY_BYTES
        } else {
            MAX_BODY_BYTES
        }
    }

    pub fn is_bulk(&self) -> bool {
        matches!(self, Route::ItemsBulk | Route::MappingsPut | Route::Import)
    }
}

fn decode(segment: &str) -> Result<String, ApiError> {
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::core(ErrorCode::InvalidId, "a path id is not valid UTF-8"))
}

fn id<T>(
    segment: &str,
    make: fn(String) -> Result<T, stocksync_core::Error>,
) -> Result<T, ApiError> {
    Ok(make(decode(segment)?)?)
}

/// Picks the route for `method` on `path` (`/v1/...`): 404 when no route has that shape, 405
/// (with `Allow`) when the shape exists for other methods, 400 `invalid_id` for a bad path id.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    use Method::{Delete, Get, Post, Put};
    let Some(rest) = path.strip_prefix("/v1/") else {
        return Err(ApiError::not_found(format!("no route {path}")));
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let m = method.clone();
    let wrong = |allow: &'static str| Err(ApiError::method_not_allowed(method.as_ref(), allow));
    let sku = |s: &str| id(s, Sku::new);
    let channel = |s: &str| id(s, ChannelId::new);
    let listing = |s: &str| id(s, ListingId::new);
    let order = |s: &str| id(s, OrderRef::new);
    match segs.as_slice() {
        ["locations", l] => match m {
            Put => Ok(Route::LocationPut(id(l, LocationId::new)?)),
            _ => wrong("PUT"),
        },
        ["items"] => match m {
            Put => Ok(Route::ItemsBulk),
            _ => wrong("PUT"),
        },
        ["items", s] => match m {
            Put => Ok(Route::ItemPut(sku(s)?)),
            Get => Ok(Route::ItemGet(sku(s)?)),
            _ => wrong("GET, PUT"),
        },
        ["items", s, "adjust"] => match m {
            Post => Ok(Route::ItemAdjust(sku(s)?)),
            _ => wrong("POST"),
        },
        ["channels"] => match m {
            Get => Ok(Route::ChannelsList),
            _ => wrong("GET"),
        },
        ["channels", c] => match m {
            Put => Ok(Route::ChannelPut(channel(c)?)),
            _ => wrong("PUT"),
        },
        ["channels", c, "discover"] => match m {
            Post => Ok(Route::ChannelDiscover(channel(c)?)),
            _ => wrong("POST"),
        },
        ["channels", c, "inbound"] => match m {
            Post => Ok(Route::ChannelInbound(channel(c)?)),
            _ => wrong("POST"),
        },
        ["mappings"] => match m {
            Put => Ok(Route::MappingsPut),
            _ => wrong("PUT"),
        },
        ["mappings", c, l] => match m {
            Get => Ok(Route::MappingGet(channel(c)?, listing(l)?)),
            Delete => Ok(Route::MappingDelete(channel(c)?, listing(l)?)),
            _ => wrong("GET, DELETE"),
        },
        ["orders"] => match m {
            Post => Ok(Route::OrderPlace),
            _ => wrong("POST"),
        },
        ["orders", c, o, action @ ("cancel" | "ship")] => match m {
            Post if *action == "cancel" => Ok(Route::OrderCancel(channel(c)?, order(o)?)),
            Post => Ok(Route::OrderShip(channel(c)?, order(o)?)),
            _ => wrong("POST"),
        },
        ["sync"] => match m {
            Get => Ok(Route::Sync),
            _ => wrong("GET"),
        },
        ["sync", "resync"] => match m {
            Post => Ok(Route::Resync),
            _ => wrong("POST"),
        },
        ["stats"] => match m {
            Get => Ok(Route::Stats),
            _ => wrong("GET"),
        },
        ["jobs", j] => match m {
            Get => Ok(Route::Job(decode(j)?)),
            _ => wrong("GET"),
        },
        ["preview"] => match m {
            Post => Ok(Route::Preview),
            _ => wrong("POST"),
        },
        ["export"] => match m {
            Get => Ok(Route::Export),
            _ => wrong("GET"),
        },
        ["import"] => match m {
            Post => Ok(Route::Import),
            _ => wrong("POST"),
        },
        ["demo", c, l] => match m {
            Get => Ok(Route::DemoGet(channel(c)?, listing(l)?)),
            Put => Ok(Route::DemoPut(channel(c)?, listing(l)?)),
            _ => wrong("GET, PUT"),
        },
        _ => Err(ApiError::not_found(format!("no route {path}"))),
    }
}

/// Routes whose body may be left out (or be `{}`), and the only ones a bodyless POST may use.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// The core event a mutating route stands for. `None` for routes that read, preview or import
/// (the ledger answers those itself).
pub fn event(route: &Route, body: &Body) -> Result<Option<Event>, ApiError> {
    let event = match route.clone() {
        Route::LocationPut(id) => Event::LocationPut {
            id,
            location: body.json()?,
        },
        Route::ItemPut(sku) => Event::ItemPut {
            sku,
            item: body.json()?,
        },
        Route::ItemAdjust(sku) => Event::StockAdjusted {
            sku,
            adjust: body.json()?,
        },
        Route::ChannelPut(id) => Event::ChannelPut {
            id,
            channel: body.json()?,
        },
        Route::MappingsPut => Event::MappingsPut {
            mappings: mappings(body)?,
        },
        Route::MappingDelete(channel, listing) => {
            body.json_or_default::<NoFields>()?;
            Event::MappingDeleted { channel, listing }
        }
        Route::OrderPlace => Event::OrderPlaced {
            order: body.json()?,
        },
        Route::OrderCancel(channel, order) => {
            body.json_or_default::<NoFields>()?;
            Event::OrderCancelled { channel, order }
        }
        Route::OrderShip(channel, order) => {
            body.json_or_default::<NoFields>()?;
            Event::OrderShipped { channel, order }
        }
        Route::Resync => Event::Resync {
            channel: body.json_or_default::<ResyncBody>()?.channel,
        },
        // Parsed by [`items_bulk`]; the ledger applies the rows.
        Route::ItemsBulk
        | Route::ItemGet(_)
        | Route::ChannelsList
        | Route::MappingGet(..)
        | Route::Sync
        | Route::ChannelInbound(_)
        | Route::ChannelDiscover(_)
        | Route::Stats
        | Route::Job(_)
        | Route::Preview
        | Route::Export
        | Route::Import
        | Route::DemoGet(..)
        | Route::DemoPut(..) => return Ok(None),
    };
    Ok(Some(event))
}

/// `PUT /v1/items`: bulk stock levels and composites, one [`stocksync_core::ItemBody`] per sku
/// (`bulk.rs`), all or nothing; errors name the CSV line or JSON array index.
pub fn items_bulk(body: &Body) -> Result<BulkItems, ApiError> {
    bulk::parse(body)
}

/// More rows than one request may carry: `413 too_many`, before any row is checked.
fn too_many_mappings() -> ApiError {
    ApiError::new(
        413,
        ErrorCode::TooMany.as_str(),
        format!(
            "the body has more than {MAX_MAPPINGS_PER_REQUEST} mappings; split it into requests \
             of at most {MAX_MAPPINGS_PER_REQUEST}"
        ),
    )
}

/// `PUT /v1/mappings`: a JSON array, or `text/csv` with a header row naming the columns.
fn mappings(body: &Body) -> Result<Vec<Mapping>, ApiError> {
    let mut out = Vec::new();
    each_mapping(body, |_, m| {
        out.push(m);
        Ok(())
    })?;
    Ok(out)
}

/// Where a bulk mapping row is, for its error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The 0-based JSON array index, shown 1-based as "row N".
    Element(usize),
    /// The CSV line as a spreadsheet shows it.
    Line(u64),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Element(i) => write!(f, "row {}", i + 1),
            Place::Line(l) => write!(f, "CSV line {l}"),
        }
    }
}

/// The mappings of a `PUT /v1/mappings` body, one row at a time as it is read (a 100,000-row
/// body is never held as a parsed document, only as its text and the current row): each is
/// handed to `each` with its place, and an error names it. More than
/// [`MAX_MAPPINGS_PER_REQUEST`] rows is `413 too_many`. Answers the number of rows.
pub fn each_mapping(
    body: &Body,
    mut each: impl FnMut(Place, Mapping) -> Result<(), ApiError>,
) -> Result<usize, ApiError> {
    if body.media_type().as_deref() == Some("text/csv") {
        return csv_mappings(body.text("text/csv")?, |line, m| each(Place::Line(line), m));
    }
    let text = body.text("application/json")?;
    wire::each_element(text, |i, m: Result<Mapping, _>| {
        if i >= MAX_MAPPINGS_PER_REQUEST {
            return Err(too_many_mappings());
        }
        let m = m.map_err(|e| ApiError::core(e.code, format!("row {}: {}", i + 1, e.message)))?;
        each(Place::Element(i), m)
    })
}

/// Columns a CSV of mappings may have; the rule columns become the row's rule overrides.
const CSV_COLUMNS: [&str; 9] = [
    "channel",
    "listing",
    "sku",
    "pack",
    "ignore_sync",
    "buffer",
    "end_when",
    "percent",
    "max_listed",
];
const RULE_COLUMNS: [&str; 4] = ["buffer", "end_when", "percent", "max_listed"];

/// Turns each CSV row into the JSON object of a [`Mapping`] and parses that with the core, so
/// a bad cell answers the same code as the same value in JSON would (a fractional pack →
/// `invalid_quantity`, an empty sku → `invalid_id`, …). Errors name the CSV line as a
/// spreadsheet shows it (the header is line 1; blank lines and quoted line breaks count).
fn csv_mappings(
    text: &str,
    mut each: impl FnMut(u64, Mapping) -> Result<(), ApiError>,
) -> Result<usize, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::core(ErrorCode::InvalidRequest, format!("malformed CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(h) = headers.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        return Err(ApiError::core(
            ErrorCode::UnknownField,
            format!(
                "unknown CSV column {h:?}, expected some of {}",
                CSV_COLUMNS.join(", ")
            ),
        ));
    }
    for required in ["channel", "listing", "sku"] {
        if !headers.iter().any(|h| h == required) {
            return Err(ApiError::core(
                ErrorCode::MissingField,
                format!("the CSV has no {required:?} column"),
            ));
        }
    }
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    let mut lines = bulk::CsvLines::new(text.as_bytes());
    loop {
        let from = reader.position().byte();
        let more = reader.read_record(&mut record);
        let line = lines.record_at(from);
        let more = more.map_err(|e| {
            let what = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => format!("a row has {len} cells but the header has {expected_len}"),
                _ => e.to_string(),
            };
            ApiError::core(
                ErrorCode::InvalidRequest,
                format!("CSV line {line}: malformed CSV: {what}"),
            )
        })?;
        if !more {
            break;
        }
        if rows == MAX_MAPPINGS_PER_REQUEST {
            return Err(too_many_mappings());
        }
        let mut obj = serde_json::Map::new();
        let mut rules = serde_json::Map::new();
        for (h, cell) in headers.iter().zip(record.iter()) {
            let value = match h.as_str() {
                "channel" | "listing" | "sku" => serde_json::Value::String(cell.to_string()),
                _ if cell.trim().is_empty() => continue,
                "ignore_sync" => match cell.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" => serde_json::Value::Bool(true),
                    "false" | "0" | "no" => serde_json::Value::Bool(false),
                    other => serde_json::Value::String(other.to_string()),
                },
                // A number cell is handed over as a JSON number (so 1.5 is fractional and
                // 1e400 is out of range), anything else as the string it is.
                _ => serde_json::from_str::<serde_json::Value>(cell.trim())
                    .ok()
                    .filter(serde_json::Value::is_number)
                    .unwrap_or_else(|| serde_json::Value::String(cell.to_string())),
            };
            if RULE_COLUMNS.contains(&h.as_str()) {
                rules.insert(h.clone(), value);
            } else {
                obj.insert(h.clone(), value);
            }
        }
        if !rules.is_empty() {
            obj.insert("rules".to_string(), serde_json::Value::Object(rules));
        }
        let mapping = wire::from_value::<Mapping>(serde_json::Value::Object(obj))
            .map_err(|e| ApiError::core(e.code, format!("CSV line {line}: {}", e.message)))?;
        each(line, mapping)?;
        rows += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ct: &str, text: &str) -> Body {
        Body {
            content_type: Some(ct.to_string()),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn paths_pick_routes_and_refuse_what_is_not_one() {
        let sku = |s: &str| Sku::new(s).unwrap();
        assert_eq!(
            route(&Method::Get, "/v1/items/A%20B"),
            Ok(Route::ItemGet(sku("A B")))
        );
        assert_eq!(
            route(&Method::Post, "/v1/orders/c/o%2F1/ship"),
            Ok(Route::OrderShip(
                ChannelId::new("c").unwrap(),
                OrderRef::new("o/1").unwrap()
            ))
        );
        let e = route(&Method::Delete, "/v1/items/A").unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.allow),
            (405, "method_not_allowed", Some("GET, PUT"))
        );
        assert_eq!(route(&Method::Get, "/v1/nope").unwrap_err().status, 404);
        assert_eq!(
            route(&Method::Get, "/v1/items/").unwrap_err().code,
            "invalid_id"
        );
        assert_eq!(
            route(&Method::Get, "/v1/items/%FF").unwrap_err().code,
            "invalid_id"
        );
        assert_eq!(
            route(&Method::Get, "/v1/items/a%00b").unwrap_err().code,
            "invalid_id"
        );
    }

    #[test]
    fn bulk_routes_take_64_mib_and_the_rest_1_mib() {
        assert_eq!(route(&Method::Put, "/v1/items"), Ok(Route::ItemsBulk));
        let e = route(&Method::Post, "/v1/items").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("PUT")));
        for (m, p) in [
            (Method::Put, "/v1/items"),
            (Method::Put, "/v1/mappings"),
            (Method::Post, "/v1/import"),
        ] {
            assert_eq!(route(&m, p).unwrap().body_cap(), 64 << 20, "{p}");
        }
        for (m, p) in [
            (Method::Put, "/v1/items/A"),
            (Method::Post, "/v1/orders"),
            (Method::Post, "/v1/preview"),
        ] {
            assert_eq!(route(&m, p).unwrap().body_cap(), 1 << 20, "{p}");
        }
        let rows = items_bulk(&body("text/csv", "sku,location,on_hand\nA,L,1\n")).unwrap();
        assert_eq!((rows.rows, rows.items().count()), (1, 1));
        assert_eq!(
            event(&Route::ItemsBulk, &body("text/csv", "")).unwrap(),
            None
        );
    }

    #[test]
    fn mapping_rows_over_the_cap_are_413_too_many() {
        let mut csv = String::from("channel,listing,sku\n");
        for i in 0..=MAX_MAPPINGS_PER_REQUEST {
            csv.push_str(&format!("c,L{i},A\n"));
        }
        let e = event(&Route::MappingsPut, &body("text/csv", &csv)).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (413, "too_many"),
            "{}",
            e.message
        );
        let one = r#"{"channel":"c","listing":"L","sku":"A"}"#;
        let json = format!("[{}]", vec![one; MAX_MAPPINGS_PER_REQUEST + 1].join(","));
        let e = event(&Route::MappingsPut, &body("application/json", &json)).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (413, "too_many"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bodies_become_core_events() {
        let r = Route::ItemAdjust(Sku::new("A").unwrap());
        let e = event(
            &r,
            &body(
                "application/json; charset=utf-8",
                r#"{"location":"L","delta":-1}"#,
            ),
        )
        .unwrap();
        assert!(matches!(e, Some(Event::StockAdjusted { .. })));
        assert_eq!(
            event(&r, &body("text/plain", "{}")).unwrap_err().status,
            415
        );
        let cancel = Route::OrderCancel(ChannelId::new("c").unwrap(), OrderRef::new("o").unwrap());
        assert!(
            event(&cancel, &body("", "")).unwrap().is_some(),
            "no body needed"
        );
        assert_eq!(
            event(&cancel, &body("application/json", r#"{"x":1}"#))
                .unwrap_err()
                .code,
            "unknown_field"
        );
        assert_eq!(
            event(&Route::Resync, &body("", " ")).unwrap(),
            Some(Event::Resync { channel: None })
        );
    }

    #[test]
    fn csv_rows_parse_like_json_mappings() {
        let csv = "channel, listing ,sku,pack,ignore_sync,buffer,max_listed\nebay,E-1,A,2,yes,1,\nebay,E-2,B,,,,5\n";
        let Some(Event::MappingsPut { mappings }) =
            event(&Route::MappingsPut, &body("text/csv", csv)).unwrap()
        else {
            panic!("a mappings event")
        };
        assert_eq!(mappings.len(), 2);
        assert_eq!(
            (mappings[0].pack.map(|p| p.get()), mappings[0].ignore_sync),
            (Some(2), true)
        );
        assert_eq!(mappings[0].rules.buffer.map(|b| b.get()), Some(1));
        assert_eq!(mappings[1].rules.max_listed.map(|b| b.get()), Some(5));
        let bad = |csv: &str| {
            event(&Route::MappingsPut, &body("text/csv", csv))
                .unwrap_err()
                .code
        };
        assert_eq!(
            bad("channel,listing,sku,pack\nebay,E-1,A,x\n"),
            "invalid_quantity"
        );
        assert_eq!(bad("channel,listing,sku\nebay,,A\n"), "invalid_id");
        assert_eq!(
            bad("channel,listing,sku,ignore_sync\nebay,E,A,maybe\n"),
            "invalid_type"
        );
        assert_eq!(bad("channel,listing,sku\nebay,E\n"), "invalid_request");
        // Errors name the line a spreadsheet shows: blank lines and CRLF count.
        let message = |csv: &str| {
            event(&Route::MappingsPut, &body("text/csv", csv))
                .unwrap_err()
                .message
        };
        let m = message("\u{feff}channel,listing,sku\r\nebay,E-1,A\r\n\r\nebay,,B\r\n");
        assert!(m.starts_with("CSV line 4:"), "{m}");
        let m = message("channel,listing,sku\nebay,E-1,A\n\nebay,E\n");
        assert!(m.contains("line 4"), "{m}");
        let dup = event(
            &Route::MappingsPut,
            &body(
                "application/json",
                r#"[{"channel":"c","listing":"L","sku":"A","sku":"B"}]"#,
            ),
        )
        .unwrap_err();
        assert_eq!(dup.code, "malformed_json", "{}", dup.message);
    }
}

#[cfg(test)]
mod csv_lines {
    use super::*;

    #[test]
    fn csv_rows_know_their_spreadsheet_lines() {
        let text = "\u{feff}channel,listing,sku\r\ndemo,\"X,1\",S001\r\n\r\ndemo,X2,NOPE\r\n";
        let lines_of = |text: &str| {
            let mut lines = Vec::new();
            csv_mappings(text, |line, _| {
                lines.push(line);
                Ok(())
            })
            .unwrap();
            lines
        };
        assert_eq!(lines_of(text), [2, 4]);
        assert_eq!(lines_of("channel,listing,sku\n\na,b,S\n\n\nb,c,S"), [3, 6]);
    }
}
