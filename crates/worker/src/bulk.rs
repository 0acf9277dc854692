//! `PUT /v1/items` (SPEC §5.1): bulk stock as `text/csv` (`sku,location,on_hand`, the layout of
//! Linnworks' stock-level import) or as a JSON array of `{"sku", "levels"}` /
//! `{"sku", "components"}`, parsed into one [`ItemBody`] per sku. Pure: no storage, no hub.
//!
//! All or nothing: the first bad row refuses the whole body, and the error names where it is,
//! as a spreadsheet shows it: `CSV line N` (1-based, the header is line 1; blank lines and
//! line breaks inside quoted cells count) or `items[i]` (the 0-based JSON array index).
//!
//! - CSV: the header names `sku`, `location` and `on_hand` once each, in any order, matched
//!   without regard to case or surrounding spaces; any other column is refused by name. Quoting,
//!   a UTF-8 byte order mark, CRLF or LF line ends and blank lines all work. Rows of one sku are
//!   grouped into one `levels` map; locations a body does not name keep their level. A number
//!   cell may carry surrounding spaces; id cells are taken as they are (the core's id rules).
//! - The same sku and location twice is refused naming both lines, whether the two levels differ
//!   (which one is meant?) or not (a row pasted twice is nearly always a copy-paste slip that
//!   hides a missing row).
//! - JSON: each element names a sku once in the array and exactly one of `levels` or
//!   `components`; a key named twice anywhere is `malformed_json` (the core's parser).
//! - At most [`MAX_BULK_ROWS`] rows: CSV data rows, or in JSON one per level plus one per
//!   composite. More is `413 too_many`, found without reading the rest.
//!
//! The body is read where it lies: CSV records stream from the byte slice into one reused
//! record, JSON is parsed once into a value whose elements are taken apart one by one.

// Only the tests call this until the ledger applies `PUT /v1/items` (routes::items_bulk);
// remove this when it is wired.
#![cfg_attr(not(test), allow(dead_code))]

use std::collections::BTreeMap;

use stocksync_core::limits::{MAX_BULK_ROWS, MAX_LEVELS_PER_REQUEST};
use stocksync_core::{
    wire, Component, Error as CoreError, ErrorCode, ItemBody, LocationId, Qty, Sku, MAX_QTY,
};

use crate::http::{ApiError, Body};

/// A parsed bulk body: the items to put, in sku order, and where each level came from. Held
/// compactly (a row per level, not a map per sku: a 100,000-row body is ~10 MB here, not the
/// 36 MB a `BTreeMap` per sku cost); each sku's [`ItemBody`] is built only as it is applied
/// ([`BulkItems::items`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkItems {
    entries: Entries,
    /// Rows read (counted as [`MAX_BULK_ROWS`] counts them), for the bulk answer's summary.
    pub rows: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entries {
    /// CSV rows sorted by (sku, location): on hand and the row's CSV line.
    Csv(Vec<(Sku, LocationId, Qty, u64)>),
    /// JSON items sorted by sku, each with its array index.
    Json(Vec<(Sku, JsonBody, usize)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum JsonBody {
    Levels(Vec<(LocationId, Qty)>),
    Components(Vec<Component>),
}

impl BulkItems {
    /// Each sku's body, in sku order, with where it came from (its first CSV line, or its
    /// array index) to prefix an error the core finds later.
    pub fn items(&self) -> Box<dyn Iterator<Item = (Sku, ItemBody, String)> + '_> {
        match &self.entries {
            Entries::Csv(rows) => Box::new(rows.chunk_by(|a, b| a.0 == b.0).map(|group| {
                let levels = group.iter().map(|(_, l, q, _)| (l.clone(), *q)).collect();
                let first = group.iter().map(|r| r.3).min().unwrap_or_default();
                (
                    group[0].0.clone(),
                    ItemBody {
                        levels: Some(levels),
                        components: None,
                    },
                    format!("CSV line {first}"),
                )
            })),
            Entries::Json(items) => Box::new(items.iter().map(|(sku, body, i)| {
                let body = match body {
                    JsonBody::Levels(l) => ItemBody {
                        levels: Some(l.iter().cloned().collect()),
                        components: None,
                    },
                    JsonBody::Components(c) => ItemBody {
                        levels: None,
                        components: Some(c.clone()),
                    },
                };
                (sku.clone(), body, format!("items[{i}]"))
            })),
        }
    }

    /// Where a sku (and location) came from: `"CSV line 7"`, `"items[3]"` (a scan: for the
    /// tests; a load takes each sku's origin from [`BulkItems::items`]).
    #[cfg(test)]
    pub fn origin(&self, sku: &Sku, location: Option<&LocationId>) -> Option<String> {
        match &self.entries {
            Entries::Csv(rows) => rows
                .iter()
                .filter(|(s, l, ..)| s == sku && location.is_none_or(|want| want == l))
                .map(|r| r.3)
                .min()
                .map(|n| format!("CSV line {n}")),
            Entries::Json(items) => items
                .iter()
                .find(|(s, ..)| s == sku)
                .map(|(.., i)| format!("items[{i}]")),
        }
    }
}

/// Parses a `PUT /v1/items` body: `text/csv`, or `application/json` (an array).
pub fn parse(body: &Body) -> Result<BulkItems, ApiError> {
    match body.media_type().as_deref() {
        Some("text/csv") => parse_csv(&body.bytes),
        Some("application/json") => parse_json(body.text("application/json")?),
        _ => Err(ApiError::unsupported_media_type(
            body.content_type.as_deref(),
            "text/csv (sku,location,on_hand) or application/json",
        )),
    }
}

fn bad(code: ErrorCode, message: String) -> ApiError {
    ApiError::core(code, message)
}

fn too_many(rows: &str) -> ApiError {
    ApiError::new(
        413,
        ErrorCode::TooMany.as_str(),
        format!(
            "the body has more than {MAX_BULK_ROWS} {rows}; split it into requests of at most \
             {MAX_BULK_ROWS}"
        ),
    )
}

const CSV_COLUMNS: [&str; 3] = ["sku", "location", "on_hand"];

/// CSV line numbers as a spreadsheet shows them: 1-based, the header is line 1, and blank lines
/// and line breaks inside quoted cells count. (The csv crate's own `Position::line` skips blank
/// lines and names the line a read started on, before the blank lines it skipped.) Counting
/// is incremental, so a whole body costs one pass over its bytes.
#[derive(Debug)]
pub(crate) struct CsvLines<'a> {
    bytes: &'a [u8],
    counted: usize,
    line: u64,
}

impl<'a> CsvLines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> CsvLines<'a> {
        CsvLines {
            bytes,
            counted: 0,
            line: 1,
        }
    }

    /// The line of the record a read starting at byte `from` (the reader's position before
    /// it) returns: the first line at or after `from` that is not blank.
    pub(crate) fn record_at(&mut self, from: u64) -> u64 {
        let b = self.bytes;
        let mut start = usize::try_from(from).unwrap_or(usize::MAX).min(b.len());
        while start < b.len() && matches!(b[start], b'\r' | b'\n') {
            start += 1;
        }
        for i in self.counted..start {
            match b[i] {
                b'\n' => self.line += 1,
                b'\r' if b.get(i + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
        }
        self.counted = self.counted.max(start);
        self.line
    }
}

/// A CSV of `sku,location,on_hand` rows.
pub fn parse_csv(bytes: &[u8]) -> Result<BulkItems, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let mut lines = CsvLines::new(bytes);
    let malformed = |e: csv::Error, line: u64| {
        let what = match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("a row has {len} cells but the header has {expected_len}"),
            csv::ErrorKind::Utf8 { .. } => "a cell is not UTF-8".to_string(),
            _ => e.to_string(),
        };
        bad(
            ErrorCode::InvalidRequest,
            format!("CSV line {line}: malformed CSV: {what}"),
        )
    };
    let headers = reader.headers().map_err(|e| malformed(e, 1))?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(bad(
            ErrorCode::InvalidRequest,
            "the CSV is empty: it needs a header line sku,location,on_hand and at least one row"
                .into(),
        ));
    }
    // Column index of sku, location, on_hand.
    let mut index = [usize::MAX; 3];
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().to_ascii_lowercase();
        match CSV_COLUMNS.iter().position(|c| *c == name) {
            Some(c) if index[c] != usize::MAX => {
                return Err(bad(
                    ErrorCode::InvalidRequest,
                    format!("CSV line 1: the column {:?} is named twice", CSV_COLUMNS[c]),
                ))
            }
            Some(c) => index[c] = i,
            None => unknown.push(format!("{h:?}")),
        }
    }
    if !unknown.is_empty() {
        return Err(bad(
            ErrorCode::UnknownField,
            format!(
                "CSV line 1: unknown column{} {}; the columns are sku, location, on_hand",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", ")
            ),
        ));
    }
    if let Some(c) = index.iter().position(|i| *i == usize::MAX) {
        return Err(bad(
            ErrorCode::MissingField,
            format!(
                "CSV line 1: the header has no {:?} column (it needs sku, location, on_hand)",
                CSV_COLUMNS[c]
            ),
        ));
    }
    let [sku_at, location_at, on_hand_at] = index;

    let mut levels: Vec<(Sku, LocationId, Qty, u64)> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    loop {
        let from = reader.position().byte();
        let more = reader.read_record(&mut record);
        let line = lines.record_at(from);
        if !more.map_err(|e| malformed(e, line))? {
            break;
        }
        rows += 1;
        if rows > MAX_BULK_ROWS {
            return Err(too_many("rows"));
        }
        let at = |e: CoreError| bad(e.code, format!("CSV line {line}: {}", e.message));
        let cell = |i: usize| record.get(i).unwrap_or("");
        let sku = Sku::new(cell(sku_at)).map_err(at)?;
        let location = LocationId::new(cell(location_at)).map_err(at)?;
        let on_hand = on_hand(cell(on_hand_at)).map_err(at)?;
        levels.push((sku, location, on_hand, line));
    }
    if rows == 0 {
        return Err(bad(
            ErrorCode::InvalidRequest,
            "the CSV has a header but no rows".into(),
        ));
    }

    // The same sku and location twice: found side by side once sorted (the earlier line
    // first), and named by both lines.
    levels.sort_by(|a, b| (&a.0, &a.1, a.3).cmp(&(&b.0, &b.1, b.3)));
    if let Some(pair) = levels
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1)
        .min_by_key(|w| w[1].3)
    {
        let ((sku, location, was, first), (.., on_hand, line)) = (&pair[0], &pair[1]);
        let why = if was == on_hand {
            "the same row twice (a copy-paste slip?)".to_string()
        } else {
            format!("two levels ({was} and {on_hand})")
        };
        return Err(bad(
            ErrorCode::InvalidRequest,
            format!(
                "CSV lines {first} and {line} both set {sku:?} at {location:?}: {why}; \
                 keep one row per sku and location"
            ),
        ));
    }
    if let Some(group) = levels
        .chunk_by(|a, b| a.0 == b.0)
        .find(|g| g.len() > MAX_LEVELS_PER_REQUEST)
    {
        let line = group[MAX_LEVELS_PER_REQUEST].3;
        return Err(bad(
            ErrorCode::TooMany,
            format!(
                "CSV line {line}: sku {:?} has levels at more than \
                 {MAX_LEVELS_PER_REQUEST} locations",
                group[0].0
            ),
        ));
    }
    levels.shrink_to_fit();
    Ok(BulkItems {
        entries: Entries::Csv(levels),
        rows,
    })
}

/// An on-hand cell: a whole number from 0 to 2^53−1, surrounding spaces allowed.
fn on_hand(cell: &str) -> Result<Qty, CoreError> {
    let text = cell.trim();
    let refuse = |why: &str| {
        Err(CoreError::new(
            ErrorCode::InvalidQuantity,
            format!("on_hand {text:?} {why}"),
        ))
    };
    if text.is_empty() {
        return Err(CoreError::new(
            ErrorCode::InvalidQuantity,
            "on_hand is empty",
        ));
    }
    let digits = text.strip_prefix('+').unwrap_or(text);
    let (negative, digits) = match digits.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, digits),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if negative && digits.bytes().any(|b| b != b'0') {
            return refuse("is negative: on hand is at least 0");
        }
        return match digits.parse::<i64>() {
            Ok(n) if n <= MAX_QTY => Qty::new(n),
            _ => refuse("is beyond 2^53−1"),
        };
    }
    if text.parse::<f64>().is_ok_and(f64::is_finite) {
        return refuse("is not a whole number");
    }
    refuse("is not a number")
}

/// One element of the JSON array.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonItem {
    sku: Sku,
    #[serde(default)]
    levels: Option<BTreeMap<LocationId, Qty>>,
    #[serde(default)]
    components: Option<Vec<Component>>,
}

/// A JSON array of `{"sku", "levels"}` / `{"sku", "components"}`, read an element at a time
/// (never as one parsed document).
pub fn parse_json(text: &str) -> Result<BulkItems, ApiError> {
    let mut items: Vec<(Sku, JsonBody, usize)> = Vec::new();
    let mut rows = 0usize;
    let read = wire::each_element(text, |i, item: Result<JsonItem, CoreError>| {
        let at = |e: CoreError| bad(e.code, format!("items[{i}]: {}", e.message));
        let item = item.map_err(at)?;
        rows += match (&item.levels, &item.components) {
            (Some(levels), None) => levels.len().max(1),
            (None, Some(_)) => 1,
            _ => {
                return Err(at(CoreError::new(
                    ErrorCode::InvalidRequest,
                    "an item names exactly one of \"levels\" (on hand per location) or \
                     \"components\" (a composite)",
                )))
            }
        };
        if rows > MAX_BULK_ROWS {
            return Err(too_many("rows (levels, and composites)"));
        }
        if let Some((location, q)) = item.levels.iter().flatten().find(|(_, q)| q.get() < 0) {
            return Err(at(CoreError::new(
                ErrorCode::InvalidQuantity,
                format!("on hand at {location} must not be negative (got {q})"),
            )));
        }
        let body = match (item.levels, item.components) {
            (Some(levels), _) => JsonBody::Levels(levels.into_iter().collect()),
            (_, components) => JsonBody::Components(components.unwrap_or_default()),
        };
        items.push((item.sku, body, i));
        Ok(())
    });
    match read {
        Ok(_) => {}
        // Not an array at all: say what the route takes.
        Err(e) if e.code == ErrorCode::InvalidType.as_str() && !e.message.starts_with("items[") => {
            return Err(bad(
                ErrorCode::InvalidType,
                "PUT /v1/items takes a JSON array of {\"sku\", \"levels\"} or {\"sku\", \"components\"}"
                    .into(),
            ))
        }
        Err(e) => return Err(e),
    }
    if items.is_empty() {
        return Err(bad(ErrorCode::InvalidRequest, "the array is empty".into()));
    }
    items.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    if let Some(w) = items
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .min_by_key(|w| w[1].2)
    {
        return Err(bad(
            ErrorCode::InvalidRequest,
            format!(
                "items[{}] and items[{}] both name sku {:?}; name each sku once",
                w[0].2, w[1].2, w[0].0
            ),
        ));
    }
    items.shrink_to_fit();
    Ok(BulkItems {
        entries: Entries::Json(items),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<BulkItems, ApiError> {
        parse(&Body {
            content_type: Some("text/csv; charset=utf-8".into()),
            bytes: text.as_bytes().to_vec(),
        })
    }

    fn json(text: &str) -> Result<BulkItems, ApiError> {
        parse(&Body {
            content_type: Some("application/json".into()),
            bytes: text.as_bytes().to_vec(),
        })
    }

    /// (sku, [(location, on hand)]) per item.
    fn levels(b: &BulkItems) -> Vec<(String, Vec<(String, i64)>)> {
        b.items()
            .map(|(s, body, _)| {
                let l = body.levels.as_ref().expect("levels");
                (
                    s.to_string(),
                    l.iter().map(|(k, q)| (k.to_string(), q.get())).collect(),
                )
            })
            .collect()
    }

    fn err(r: Result<BulkItems, ApiError>) -> (u16, String, String) {
        let e = r.expect_err("refused");
        (e.status, e.code, e.message)
    }

    #[track_caller]
    fn refused(r: Result<BulkItems, ApiError>, code: &str, says: &[&str]) {
        let (status, got, message) = err(r);
        assert_eq!(got, code, "{message}");
        assert_eq!(
            status,
            if code == "too_many" { 413 } else { 400 },
            "{message}"
        );
        for s in says {
            assert!(message.contains(s), "{message:?} should say {s:?}");
        }
    }

    #[test]
    fn csv_rows_group_by_sku_in_any_column_order() {
        let b = csv("location,on_hand,sku\nLONDON,5,A\nLEEDS,0,B\nLEEDS, 2 ,A\n").unwrap();
        assert_eq!(
            levels(&b),
            [
                ("A".into(), vec![("LEEDS".into(), 2), ("LONDON".into(), 5)]),
                ("B".into(), vec![("LEEDS".into(), 0)]),
            ]
        );
        assert_eq!(b.rows, 3);
        let a = Sku::new("A").unwrap();
        assert_eq!(
            b.origin(&a, Some(&LocationId::new("LEEDS").unwrap())),
            Some("CSV line 4".into())
        );
        assert_eq!(b.origin(&a, None), Some("CSV line 2".into()));
    }

    #[test]
    fn csv_quoting_bom_crlf_blank_lines_and_header_case_all_work() {
        let text = "\u{feff}SKU , Location,on_hand\r\n\r\n\"MUG, BLUE\",\"LONDON \"\"A\"\"\",3\r\n\r\n\r\nB,L,\"1\"\nA,L,4\r\n\n";
        let b = csv(text).unwrap();
        assert_eq!(
            levels(&b),
            [
                ("A".into(), vec![("L".into(), 4)]),
                ("B".into(), vec![("L".into(), 1)]),
                ("MUG, BLUE".into(), vec![("LONDON \"A\"".into(), 3)]),
            ]
        );
        // Line numbers count blank lines (CRLF or LF).
        let sku = |s: &str| Sku::new(s).unwrap();
        assert_eq!(b.origin(&sku("MUG, BLUE"), None), Some("CSV line 3".into()));
        assert_eq!(b.origin(&sku("B"), None), Some("CSV line 6".into()));
        assert_eq!(b.origin(&sku("A"), None), Some("CSV line 7".into()));
        // A line break inside a quoted cell counts too. Ids may not hold one, so that row is
        // refused at the line it starts on, and a row after it at the line a spreadsheet shows.
        refused(
            csv("sku,location,on_hand\n\n\"A\nB\",L,1\n"),
            "invalid_id",
            &["CSV line 3", "control"],
        );
        refused(
            csv("sku,location,on_hand\nA,L,1\nB,L,\"2\n\"\n\nC,L,x\n"),
            "invalid_quantity",
            &["CSV line 6", "\"x\""],
        );
        refused(
            csv("sku,location,on_hand\nA,L,1\nB,L,\" 2\r\n\"\r\n\r\nC,L,x\r\n"),
            "invalid_quantity",
            &["CSV line 6"],
        );
        refused(
            csv("sku,location,on_hand\nA,\"L\n\",1\n\nC,L,x\n"),
            "invalid_id",
            &["CSV line 2"],
        );
        refused(
            csv("sku,location,on_hand\nA,L,\"1\"\nB,\"L\nM\",1\n"),
            "invalid_id",
            &["CSV line 3"],
        );
        refused(
            csv("sku,location,on_hand\n\"A\",L,\"1\"\n\"x\ny\",\"L\",3\n\nC,L,z\n"),
            "invalid_id",
            &["CSV line 3"],
        );
        // Old Mac line ends (CR alone) count as line ends.
        refused(
            csv("sku,location,on_hand\rA,L,1\r\rB,L,-1\r"),
            "invalid_quantity",
            &["CSV line 4"],
        );
        // A last line without a line end.
        assert_eq!(csv("sku,location,on_hand\nA,L,1").unwrap().rows, 1);
    }

    #[test]
    fn csv_columns_missing_unknown_or_twice_are_refused() {
        refused(
            csv("sku,on_hand\nA,1\n"),
            "missing_field",
            &["line 1", "\"location\""],
        );
        refused(
            csv("sku,location,on_hand,colour,bin\nA,L,1,red,3\n"),
            "unknown_field",
            &["line 1", "\"colour\"", "\"bin\""],
        );
        refused(
            csv("sku,location,on_hand,SKU\nA,L,1,B\n"),
            "invalid_request",
            &["line 1", "\"sku\" is named twice"],
        );
        refused(
            csv("sku,location,on_hand\nA,L,1\nB,L\n"),
            "invalid_request",
            &["line 3", "2 cells", "header has 3"],
        );
    }

    #[test]
    fn csv_bad_numbers_name_their_line() {
        for (cell, why) in [
            ("1.5", "not a whole number"),
            ("1e3", "not a whole number"),
            ("-2", "negative"),
            ("five", "not a number"),
            ("", "empty"),
            ("9007199254740992", "2^53"),
            ("99999999999999999999999", "2^53"),
        ] {
            let text = format!("sku,location,on_hand\nA,L,1\n\nB,L,{cell}\n");
            refused(csv(&text), "invalid_quantity", &["CSV line 4", why]);
        }
        let max = csv("sku,location,on_hand\nA,L,9007199254740991\nB,L,-0\nC,L,+7\n").unwrap();
        assert_eq!(
            levels(&max).iter().map(|(_, l)| l[0].1).collect::<Vec<_>>(),
            [9007199254740991, 0, 7]
        );
    }

    #[test]
    fn csv_bad_ids_name_their_line() {
        refused(
            csv("sku,location,on_hand\nA,L,1\n,L,1\n"),
            "invalid_id",
            &["CSV line 3", "empty"],
        );
        refused(
            csv("sku,location,on_hand\nA, L,1\n"),
            "invalid_id",
            &["CSV line 2", "whitespace"],
        );
        let long = "x".repeat(256);
        refused(
            csv(&format!("sku,location,on_hand\n{long},L,1\n")),
            "invalid_id",
            &["CSV line 2", "255"],
        );
        refused(
            csv("sku,location,on_hand\n\"A\u{7}\",L,1\n"),
            "invalid_id",
            &["CSV line 2", "control"],
        );
        let not_utf8 = Body {
            content_type: Some("text/csv".into()),
            bytes: b"sku,location,on_hand\nA,L,1\nB\xff,L,1\n".to_vec(),
        };
        refused(parse(&not_utf8), "invalid_request", &["line 3", "UTF-8"]);
    }

    #[test]
    fn csv_the_same_sku_and_location_twice_names_both_lines() {
        refused(
            csv("sku,location,on_hand\nA,L,1\nB,L,1\nA,L,2\n"),
            "invalid_request",
            &["lines 2 and 4", "two levels (1 and 2)"],
        );
        refused(
            csv("sku,location,on_hand\nA,L,1\nA,L,1\n"),
            "invalid_request",
            &["lines 2 and 3", "the same row twice"],
        );
    }

    #[test]
    fn csv_empty_or_header_only_is_refused() {
        refused(csv(""), "invalid_request", &["empty"]);
        refused(csv("\n\n"), "invalid_request", &["empty"]);
        refused(
            csv("sku,location,on_hand\n"),
            "invalid_request",
            &["no rows"],
        );
        refused(
            csv("sku,location,on_hand\r\n\r\n"),
            "invalid_request",
            &["no rows"],
        );
    }

    #[test]
    fn at_most_max_bulk_rows() {
        let mut text = String::from("sku,location,on_hand\n");
        for i in 0..MAX_BULK_ROWS {
            text.push_str(&format!("S{i},L,1\n"));
        }
        assert_eq!(csv(&text).unwrap().rows, MAX_BULK_ROWS);
        text.push_str("ONE-MORE,L,1\n");
        refused(csv(&text), "too_many", &["100000"]);

        let level = |i: usize| format!(r#"{{"sku":"S{i}","levels":{{"L":1}}}}"#);
        let mut array: Vec<String> = (0..MAX_BULK_ROWS).map(level).collect();
        assert_eq!(
            json(&format!("[{}]", array.join(","))).unwrap().rows,
            MAX_BULK_ROWS
        );
        array.push(level(MAX_BULK_ROWS));
        refused(
            json(&format!("[{}]", array.join(","))),
            "too_many",
            &["100000"],
        );
    }

    #[test]
    fn json_levels_and_components() {
        let b = json(
            r#"[{"sku":"B","levels":{"LONDON":5,"LEEDS":0}},
                {"sku":"KIT","components":[{"sku":"B","qty":2}]}]"#,
        )
        .unwrap();
        let items: Vec<_> = b.items().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(b.rows, 3);
        assert_eq!(items[1].0.as_str(), "KIT");
        assert_eq!(items[1].1.components.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            b.origin(&Sku::new("KIT").unwrap(), None),
            Some("items[1]".into())
        );
    }

    #[test]
    fn json_errors_name_the_index() {
        let two = |second: &str| json(&format!(r#"[{{"sku":"A","levels":{{"L":1}}}},{second}]"#));
        refused(
            two(r#"{"sku":"B","levels":{"L":1.5}}"#),
            "invalid_quantity",
            &["items[1]"],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":-1}}"#),
            "invalid_quantity",
            &["items[1]", "negative"],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":"3"}}"#),
            "invalid_quantity",
            &["items[1]"],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":9007199254740992}}"#),
            "invalid_quantity",
            &["items[1]", "2^53"],
        );
        refused(
            two(r#"{"sku":"","levels":{"L":1}}"#),
            "invalid_id",
            &["items[1]"],
        );
        refused(
            two(r#"{"sku":"B","levels":{" L":1}}"#),
            "invalid_id",
            &["items[1]"],
        );
        refused(
            two(r#"{"levels":{"L":1}}"#),
            "missing_field",
            &["items[1]", "sku"],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":1},"colour":1}"#),
            "unknown_field",
            &["items[1]", "colour"],
        );
        refused(
            two(r#"{"sku":"B"}"#),
            "invalid_request",
            &["items[1]", "exactly one"],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":1},"components":[]}"#),
            "invalid_request",
            &["items[1]"],
        );
        refused(
            two(r#"{"sku":"A","levels":{"M":1}}"#),
            "invalid_request",
            &["items[0] and items[1]", "\"A\""],
        );
        refused(
            two(r#"{"sku":"B","levels":{"L":1,"L":2}}"#),
            "malformed_json",
            &["duplicate key \"L\""],
        );
        refused(json("[]"), "invalid_request", &["empty"]);
        refused(json(r#"{"sku":"A"}"#), "invalid_type", &["array"]);
        refused(json("[{"), "malformed_json", &["line 1"]);
        refused(json(""), "malformed_json", &[]);
    }

    #[test]
    fn other_media_types_are_refused() {
        let r = parse(&Body {
            content_type: Some("text/plain".into()),
            bytes: b"sku,location,on_hand\nA,L,1\n".to_vec(),
        });
        assert_eq!(r.unwrap_err().status, 415);
    }
}
