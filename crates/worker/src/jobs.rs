//! Channel-wide recomputes (a channel's rules, locations or enabled flag; a resync) in bounded
//! steps. The change itself commits at once; the core left its planning to us as a
//! [`Recompute`]. Up to `RECOMPUTE_INLINE_MAX` listings it runs inside the request, page by
//! page; beyond that it becomes a job in the `jobs` table that the alarm advances one page per
//! transaction, with orders answered in between. Every page is planned from the state at that
//! moment, so the job converges (SPEC §7.6) when it ends; a restart resumes it from its stored
//! cursor.
//!
//! Two jobs may walk the same channel (a second rule change while the first still runs): both
//! plan from the current state, so the later one's pushes are the ones that count and the
//! earlier one's are superseded by the coalescing outbox. Nothing is cancelled.

use serde::{Deserialize, Serialize};
use stocksync_core::{ChannelId, Event, Hub, Outcome, PreviewSummary, Recompute};
use worker::SqlStorage;

use crate::discover::Progress;
use crate::http::ApiError;
use crate::ledger::Limits;
use crate::store::{self, JobRow, SqlStore, WarmStore};

/// What [`plan_recompute`] did.
pub enum Recomputed {
    /// Planned inside the request: its pushes and rows join the event's.
    Inline(Outcome),
    /// Too big: this job (stored with the event) does it in the background.
    Job(JobRow),
}

fn channels_of(hub: &Hub, rc: &Recompute) -> Vec<ChannelId> {
    match &rc.channel {
        Some(c) => vec![c.clone()],
        None => hub.channels().map(|(c, _)| c.clone()).collect(),
    }
}

/// Runs a recompute inline when it is small, or makes the job that will.
pub fn plan_recompute(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    rc: &Recompute,
    limits: &Limits,
    now: i64,
) -> Result<Recomputed, ApiError> {
    let channels = channels_of(hub, rc);
    let mut total = 0;
    for c in &channels {
        total += store::channel_listing_count(sql, Some(c))?;
    }
    if total > limits.inline_max {
        return Ok(Recomputed::Job(JobRow {
            id: store::next_job_id(sql)?,
            kind: if rc.resync { "resync" } else { "recompute" }.into(),
            state: "running".into(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            resync: rc.resync,
            at_channel: 0,
            after: None,
            done: 0,
            total,
            error: None,
            created_ms: now,
            wake_ms: 0,
        }));
    }
    // Inline: the hub stays ahead of the store until the request commits, so nothing is
    // evicted in between (at most `inline_max` listings and what they touch).
    let mut out = Outcome::default();
    for c in channels {
        let mut after: Option<String> = None;
        loop {
            let records = store::channel_page(sql, &c, after.as_deref(), limits.page)?;
            if records.is_empty() {
                break;
            }
            let keys = hub.prefetch_listings(records, st)?;
            after = keys.last().map(|k| k.listing.to_string());
            let step = hub.replan(keys, rc.resync);
            out.pushes.extend(step.pushes);
            out.skipped.extend(step.skipped);
            out.dirty.merge(step.dirty);
        }
    }
    Ok(Recomputed::Inline(out))
}

/// Loads every listing of `channel` into the working set for a preview, refusing a channel
/// of more than `max` listings (its what-if is the summary of [`crate::views`]).
pub fn prefetch_channel(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    channel: &ChannelId,
    max: i64,
) -> Result<(), ApiError> {
    let n = store::channel_listing_count(sql, Some(channel))?;
    if n > max {
        return Err(ApiError::new(
            413,
            "too_many",
            format!(
                "channel {channel:?} has {n} listings; a listing-by-listing preview takes at most {max} \
                 (POST /v1/preview?summary=true gives counts for any size)"
            ),
        ));
    }
    let records = store::channel_page(sql, channel, None, max.max(1) as usize)?;
    hub.prefetch_listings(records, st)?;
    Ok(())
}

/// One step of a job: the next page of its current channel, planned. Moves the cursor (and
/// marks the job done after its last page).
pub fn step(
    hub: &mut Hub,
    sql: &SqlStorage,
    job: &mut JobRow,
    limits: &Limits,
) -> Result<Outcome, ApiError> {
    loop {
        let Some(channel) = job.channels.get(job.at_channel as usize) else {
            job.state = "done".into();
            return Ok(Outcome::default());
        };
        let channel = ChannelId::new(channel.as_str())?;
        if hub.channel(&channel).is_none() {
            job.at_channel += 1;
            job.after = None;
            continue;
        }
        let records = store::channel_page(sql, &channel, job.after.as_deref(), limits.page)?;
        if records.is_empty() {
            job.at_channel += 1;
            job.after = None;
            continue;
        }
        // The page's skus are read ahead in one query per table.
        let keys = hub.prefetch_listings(records, &mut WarmStore::new(sql))?;
        job.after = keys.last().map(|k| k.listing.to_string());
        job.done += keys.len() as i64;
        // Listings added since the job started count too.
        job.total = job.total.max(job.done);
        return Ok(hub.replan(keys, job.resync));
    }
}

// ----- summary previews (`POST /v1/preview?summary=true`) -------------------------------------
//
// A channel-wide what-if on a channel of any size: the affected channels' listings are walked
// page by page, as a recompute walks them, and the core says what each listing's number would
// be under the hypothetical configuration ([`Hub::what_if`]); the answers are only counted.
// Nothing is written but the job's own progress: no listing, schedule or KV row.

/// The answer of a summary preview (and a done preview job's `result`).
#[derive(Debug, Serialize)]
pub struct SummaryAnswer<'a> {
    pub summary: &'a PreviewSummary,
}

/// A preview job's own state, kept in `meta` under [`preview_key`] and written in the same
/// transaction as its job row.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PreviewState {
    pub events: Vec<Event>,
    pub summary: PreviewSummary,
}

pub fn preview_key(job: &str) -> String {
    format!("preview:{job}")
}

/// What [`plan_summary`] did.
pub enum Summarised {
    /// Small enough: the summary, computed inside the request.
    Inline(PreviewSummary),
    /// Too big: this job (and its state, to store with it) computes it in the background.
    Job(JobRow, PreviewState),
}

/// Counts one page of `channel` after `after` into `summary`, moving `after`; the listings
/// in the page (0 when the channel has no more).
#[allow(clippy::too_many_arguments)] // the walk's inputs, each used once; a struct would only rename them
fn summary_page(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    config: &Hub,
    channel: &ChannelId,
    after: &mut Option<String>,
    page: usize,
    summary: &mut PreviewSummary,
) -> Result<i64, ApiError> {
    let records = store::channel_page(sql, channel, after.as_deref(), page)?;
    if records.is_empty() {
        return Ok(0);
    }
    let keys = hub.prefetch_listings(records, st)?;
    *after = keys.last().map(|k| k.listing.to_string());
    for w in hub.what_if(config, &keys) {
        summary.add(&w);
    }
    Ok(keys.len() as i64)
}

/// Validates the events (the core refuses any that is not channel-wide) and summarises them
/// inline when the affected channels hold at most `inline_max` listings, or makes the job.
pub fn plan_summary(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    events: Vec<Event>,
    limits: &Limits,
    now: i64,
) -> Result<Summarised, ApiError> {
    let config = hub.config_after(&events)?;
    let channels = hub.what_if_channels(&events);
    let mut total = 0;
    for c in &channels {
        total += store::channel_listing_count(sql, Some(c))?;
    }
    if total > limits.inline_max {
        let job = JobRow {
            id: store::next_job_id(sql)?,
            kind: "preview".into(),
            state: "running".into(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            resync: false,
            at_channel: 0,
            after: None,
            done: 0,
            total,
            error: None,
            created_ms: now,
            wake_ms: 0,
        };
        let state = PreviewState {
            events,
            summary: PreviewSummary::default(),
        };
        return Ok(Summarised::Job(job, state));
    }
    let mut summary = PreviewSummary::default();
    for c in &channels {
        let mut after = None;
        while summary_page(
            hub,
            st,
            sql,
            &config,
            c,
            &mut after,
            limits.page,
            &mut summary,
        )? > 0
        {
            // Only reads: memory and store agree, so the working set may go at any page.
            hub.evict(limits.max_rows);
        }
    }
    Ok(Summarised::Inline(summary))
}

/// One step of a preview job: the next page of its current channel, counted into `state`.
/// Marks the job done after its last page. Plans and writes nothing.
pub fn preview_step(
    hub: &mut Hub,
    st: &mut SqlStore<'_>,
    sql: &SqlStorage,
    job: &mut JobRow,
    state: &mut PreviewState,
    limits: &Limits,
) -> Result<(), ApiError> {
    // The hypothetical configuration over the configuration of now (which may have changed
    // since the job started: every page is counted against the hub as it is then).
    let config = hub.config_after(&state.events)?;
    loop {
        let Some(channel) = job.channels.get(job.at_channel as usize) else {
            job.state = "done".into();
            return Ok(());
        };
        let channel = ChannelId::new(channel.as_str())?;
        let n = summary_page(
            hub,
            st,
            sql,
            &config,
            &channel,
            &mut job.after,
            limits.page,
            &mut state.summary,
        )?;
        if n == 0 {
            job.at_channel += 1;
            job.after = None;
            continue;
        }
        job.done += n;
        job.total = job.total.max(job.done);
        return Ok(());
    }
}

/// `GET /v1/jobs/{id}`.
#[derive(Debug, Serialize)]
pub struct JobView<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub state: &'a str,
    pub done: i64,
    pub total: i64,
    pub error: Option<&'a str>,
    /// A discovery's counters so far (pages and listings read, linked, unlinked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<&'a Progress>,
    /// A done job's answer, as the route answers inline: a preview's `{"summary": …}`, a
    /// discovery's summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum JobResult<'a> {
    Preview(SummaryAnswer<'a>),
    Discovery(&'a Progress),
}

/// A job's own state beside its row, by kind.
pub enum JobState {
    None,
    Preview(PreviewState),
    Discovery(Progress),
}

pub fn view<'a>(job: &'a JobRow, state: &'a JobState) -> JobView<'a> {
    let done = job.state == "done";
    let (progress, result) = match state {
        JobState::Preview(p) => (
            None,
            done.then_some(JobResult::Preview(SummaryAnswer {
                summary: &p.summary,
            })),
        ),
        JobState::Discovery(p) => (Some(p), done.then_some(JobResult::Discovery(p))),
        JobState::None => (None, None),
    };
    JobView {
        id: &job.id,
        kind: &job.kind,
        state: &job.state,
        done: job.done,
        total: job.total,
        error: job.error.as_deref(),
        progress,
        result,
    }
}
