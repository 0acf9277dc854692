// stocksync preview page. Every number on this page comes from the wasm core (www/pkg): this
// file only turns what the merchant edits into hypothetical events, asks the core what they
// would send (Hub.preview / Hub.fork), and draws the answer. It decides no quantity itself.
//
// State flow: `base` is the hub the what-ifs start from (a story step, or the live export);
// `draft` is an ordered list of hypothetical events; `preview` and `afterView` are the core's
// answers for base + draft. Nothing is ever sent: the page holds no push target.

import init, { Hub, describeSkipReason } from "./pkg/stocksync_web.js";

const STORY_URL = new URL("./pkg/seed_story.json", import.meta.url);

const state = {
  mode: null, // "example" | "live"
  base: null, // Hub
  baseView: null, // HubView of base
  draft: [], // [{ key, label, events }]: one edit, as the events it stands for
  preview: null, // Preview of base + draft (null when the draft is empty)
  afterView: null, // HubView of base + draft (null when the draft is empty)
  story: null, // { scenario, frames, at }
  apiKey: null, // live mode only; this tab's memory, never stored
  orderSeq: 1,
};

// ----- small DOM helpers ---------------------------------------------------------------------

const $ = (sel) => document.querySelector(sel);

/** Builds an element; children are nodes or strings (always text, never HTML). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const num = (v) => (v === null || v === undefined ? "—" : String(v));
const listingKey = (o) => `${o.channel}/${o.listing}`;
const errorText = (e) => (e && e.code ? `${e.code}: ${e.message}` : String(e && e.message ? e.message : e));

function setStatus(text) {
  $("#source-status").textContent = text;
}

// ----- the views the page draws ---------------------------------------------------------------

/** The state the page shows: after the draft when there is one. */
const current = () => state.afterView ?? state.baseView;

function channelName(view, id) {
  const c = view.channels.find((c) => c.id === id);
  return c && c.name ? c.name : id;
}

function byKey(list, keyOf) {
  return new Map(list.map((x) => [keyOf(x), x]));
}

// ----- loading ----------------------------------------------------------------------------------

function setBase(hub) {
  state.base?.free();
  state.base = hub;
  state.baseView = hub.view();
  state.draft = [];
  state.orderSeq = 1;
  showWhatIfError(null);
  recompute();
}

async function loadExample() {
  const scenario = await (await fetch(STORY_URL)).json();
  const frames = buildStory(scenario);
  leaveBig();
  state.mode = "example";
  state.story = { scenario, frames, at: 0 };
  document.body.classList.add("with-story");
  $("#story").hidden = false;
  showStoryStep(0);
  setStatus("Example: the seed's TEST_SS7052 story, built into this page.");
}

/**
 * Replays the seed story through the core: the set-up, then each step (an edit made directly on
 * the channel, an event, a delivery). Each frame keeps the snapshot after the step, what the
 * step's event planned to send, and what the simulated channel shows.
 */
function buildStory(scenario) {
  const hub = new Hub();
  try {
    for (const e of scenario.setup) hub.apply(e);
    const shows = new Map();
    const deliver = () => {
      for (const d of hub.deliverAll()) shows.set(listingKey(d), d.quantity);
    };
    deliver();
    return scenario.steps.map((step) => {
      let outcome = null;
      let error = null;
      if (step.channel_edit) shows.set(listingKey(step.channel_edit), step.channel_edit.quantity);
      if (step.event) {
        try {
          outcome = hub.apply(step.event);
        } catch (e) {
          error = e;
        }
      }
      if (step.deliver !== false) deliver();
      return { step, outcome, error, snapshot: hub.snapshot(), shows: new Map(shows) };
    });
  } finally {
    hub.free();
  }
}

async function loadLive(key) {
  // The counts first: a big hub is never downloaded whole (SPEC §8), only what the page shows.
  const stats = (await api("/v1/stats", { key })).body;
  if (stats.skus + stats.listings > SMALL_HUB) return loadBig(key, stats);
  const res = await fetch("/v1/export", { headers: { Authorization: `Bearer ${key}` }, cache: "no-store" });
  const text = await res.text();
  if (!res.ok) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not the API's error body */
    }
    const err = new Error(body?.error?.message ?? `HTTP ${res.status} ${text.slice(0, 200)}`);
    err.code = body?.error?.code ?? `http_${res.status}`;
    throw err;
  }
  const hub = Hub.fromJson(text);
  leaveBig();
  state.mode = "live";
  state.story = null;
  document.body.classList.remove("with-story");
  $("#story").hidden = true;
  setBase(hub);
  const v = state.baseView;
  setStatus(`Live state: ${v.items.length} items, ${v.channels.length} channels, ${v.listings.length} listings.`);
}

// ----- a big merchant: only what the page shows ----------------------------------------------------
//
// Past SMALL_HUB skus + listings the page never downloads the export. It reads pages of
// `GET /v1/sync` (the failing listings first, then a channel page by page), one SKU at a time
// (`GET /v1/items/{sku}`, `GET /v1/sync?listing=`), and asks the worker's engine — the same core
// as www/pkg — what a what-if would do: `POST /v1/preview` for an edit (the worker prefetches
// exactly the rows the events touch) and `POST /v1/preview?summary=true` for a channel-wide
// change (counted over every listing; a big channel answers 202 and the page polls the job).

/** Skus + listings up to which a live hub is loaded whole (the export) into the wasm Hub. */
const SMALL_HUB = 5_000;
/** Listings per page. */
const PAGE = 50;

const big = {
  stats: null,
  channels: [], // as GET /v1/stats lists them (secrets redacted)
  channel: "", // the channel browsed ("" = all)
  cursor: null, // the cursor of the page shown (null = first)
  pages: [], // cursors of the pages before, for "Previous"
  next: null,
  whatIf: 0, // the channel-wide what-if in flight (a newer one supersedes it)
};

const fmt = (n) => Number(n).toLocaleString("en-GB");

/** A JSON call to this worker's API with the pasted key; errors carry the API's code. */
async function api(path, { key = state.apiKey, method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const err = new Error(json?.error?.message ?? `HTTP ${res.status} ${text.slice(0, 200)}`);
    err.code = json?.error?.code ?? `http_${res.status}`;
    err.status = res.status;
    throw err;
  }
  return { status: res.status, body: json };
}

function leaveBig() {
  document.body.classList.remove("big-mode");
  $("#big").hidden = true;
  $("#big-whatif").hidden = true;
  big.whatIf++;
}

async function loadBig(key, stats) {
  state.mode = "big";
  state.story = null;
  state.base?.free();
  Object.assign(state, { base: null, baseView: null, draft: [], preview: null, afterView: null });
  document.body.classList.remove("with-story");
  document.body.classList.add("big-mode");
  $("#story").hidden = true;
  $("#big").hidden = false;
  $("#big-whatif").hidden = false;
  Object.assign(big, { stats, channels: stats.channels ?? [], channel: "", cursor: null, pages: [], next: null });
  $("#search-result").replaceChildren();
  $("#cw-result").replaceChildren();
  $("#cw-status").textContent = "";
  fillChannels();
  setStatus(`Live state (big merchant): ${fmt(stats.skus)} SKUs, ${fmt(stats.listings)} listings on ${big.channels.length} channels. Only what you look at is loaded.`);
  $("#big-counts").textContent = "Loading the first page…";
  await Promise.all([loadFailing(), loadPage(null)]);
}

const bigView = () => ({ channels: big.channels, holds: [] });
const channelLabel = (id) => channelName(bigView(), id);

function fillChannels() {
  const opts = (selected) => big.channels.map((c) => h("option", { value: c.id, selected: c.id === selected }, c.name && c.name !== c.id ? `${c.name} (${c.id})` : c.id));
  $("#browse-channel").replaceChildren(h("option", { value: "" }, "All channels"), ...opts(big.channel));
  const cw = $("#cw-channel");
  const keep = cw.value || big.channels[0]?.id;
  cw.replaceChildren(...opts(keep));
  fillChannelForm();
}

/** The channel-wide form shows the chosen channel's rules as they are now. */
function fillChannelForm() {
  const form = $("#cw-form");
  const c = big.channels.find((x) => x.id === form.channel.value);
  form.querySelector("button").disabled = !c;
  if (!c) return;
  for (const k of ["buffer", "end_when", "percent", "max_listed"]) form[k].value = c.rules[k] === null || c.rules[k] === undefined ? "" : String(c.rules[k]);
  form.enabled.checked = c.enabled;
}

function syncStatusText(l) {
  if (l.status === "failing") return `failing after ${l.attempts} attempts${l.last_error ? `: ${l.last_error}` : ""}`;
  return statusText({ ...l, reason_text: l.reason ? describeSkipReason(l.reason) : null });
}

/** One row of GET /v1/sync. */
function bigRow(l) {
  return h("tr", { dataset: { listing: listingKey(l), status: l.status }, class: l.status === "failing" ? "failing" : null },
    h("th", { scope: "row" }, `${channelLabel(l.channel)} · ${l.listing}`),
    h("td", { dataset: { col: "sku" } }, l.sku
      ? h("button", { type: "button", class: "small", "aria-label": `Show SKU ${l.sku}`, onclick: () => search(l.sku) }, l.sku)
      : "not linked"),
    h("td", { dataset: { col: "last_sent" } }, num(l.last_sent)),
    h("td", { dataset: { col: "wanted" } }, num(l.wanted)),
    h("td", { dataset: { col: "status" } }, syncStatusText(l)));
}

function syncQuery(extra) {
  const q = new URLSearchParams({ limit: String(PAGE), ...extra });
  if (big.channel) q.set("channel", big.channel);
  return `/v1/sync?${q}`;
}

/** The failing listings (of the channel browsed), above every page. */
async function loadFailing() {
  const { body } = await api(syncQuery({ status: "failing" }));
  const rows = body.listings.map(bigRow);
  const more = (body.counts.failing ?? 0) - body.listings.length;
  if (more > 0) rows.push(h("tr", { class: "failing" }, h("td", { colspan: "5" }, `… and ${fmt(more)} more failing (GET /v1/sync?status=failing pages through them)`)));
  $("#big-failing").replaceChildren(...rows);
}

/** A page of the channel browsed (failing listings are shown above it, not again here). */
async function loadPage(cursor) {
  const { body } = await api(syncQuery(cursor ? { cursor } : {}));
  big.cursor = cursor;
  big.next = body.next_cursor;
  $("#big-page").replaceChildren(...body.listings.filter((l) => l.status !== "failing").map(bigRow));
  const counts = body.counts;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const where = big.channel ? ` on ${channelLabel(big.channel)}` : "";
  $("#big-counts").textContent = `${fmt(total)} listings${where}: ${fmt(counts.in_sync ?? 0)} in sync, ${fmt(counts.pending ?? 0)} waiting to be sent, ${fmt(counts.failing ?? 0)} failing, ${fmt(counts.not_eligible ?? 0)} getting nothing.`;
  $("#page-info").textContent = `Page ${big.pages.length + 1} of ${fmt(Math.max(1, Math.ceil(total / PAGE)))}`;
  $("#page-next").disabled = !big.next;
  $("#page-first").disabled = !cursor;
}

async function browseChannel(channel) {
  big.channel = channel;
  big.pages = [];
  await Promise.all([loadFailing(), loadPage(null)]);
}

async function nextPage() {
  if (!big.next) return;
  big.pages.push(big.cursor);
  await loadPage(big.next);
}

async function firstPage() {
  big.pages = [];
  await loadPage(null);
}

// ----- search and a SKU's what-if ----------------------------------------------------------------

async function search(q) {
  q = q.trim();
  if (!q) return;
  $("#search").value = q;
  const out = $("#search-result");
  out.replaceChildren(h("p", { class: "help" }, `Looking for ${q}…`));
  const missing = (e) => (e.status === 404 || e.status === 400 ? null : Promise.reject(e));
  const [item, byListing] = await Promise.all([
    api(`/v1/items/${encodeURIComponent(q)}`).then((r) => r.body, missing),
    api(`/v1/sync?${new URLSearchParams({ listing: q, limit: "20" })}`).then((r) => r.body.listings, (e) => missing(e) ?? []),
  ]);
  const parts = [];
  if (item) parts.push(itemCard(item));
  if (byListing?.length) {
    parts.push(h("div", { class: "table-wrap", role: "region", "aria-label": `Listings named ${q}`, tabindex: "0" }, h("table", { id: "search-listings" },
      h("caption", {}, `Listings named ${q}`),
      h("thead", {}, h("tr", {}, ["Listing", "SKU", "Last sent", "Hub wants", "Status"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, byListing.map(bigRow)))));
  }
  if (!parts.length) parts.push(h("p", { class: "help", dataset: { found: "none" } }, `No SKU or listing is called ${q}.`));
  out.replaceChildren(...parts);
}

/** A SKU: its stock per location (editable as a what-if) and its listings with their numbers. */
function itemCard(item) {
  const composite = item.components.length > 0;
  const locs = Object.keys(item.locations);
  const inputs = new Map();
  const result = h("div", { class: "item-whatif", "aria-live": "polite" });
  const levelRows = locs.map((loc) => {
    const lv = item.locations[loc];
    const input = composite ? null : h("input", {
      type: "number", inputmode: "numeric", step: "1", min: "0", class: "qty", placeholder: String(lv.on_hand),
      "aria-label": `What if on hand of ${item.sku} at ${loc} were`,
    });
    if (input) inputs.set(loc, input);
    return h("tr", { dataset: { location: loc } }, h("th", { scope: "row" }, loc),
      h("td", { dataset: { col: "on_hand" } }, num(lv.on_hand)), h("td", { dataset: { col: "reserved" } }, num(lv.reserved)),
      h("td", { dataset: { col: "available" } }, num(lv.available)), h("td", {}, input ?? "kits"));
  });
  const preview = async () => {
    const levels = {};
    for (const [loc, input] of inputs) if (input.value !== "") levels[loc] = quantityOf(input);
    if (!Object.keys(levels).length) return result.replaceChildren(h("p", { class: "help" }, "Type a hypothetical on-hand number first."));
    result.replaceChildren(h("p", { class: "help" }, "Asking the engine…"));
    try {
      const { body } = await api("/v1/preview", { method: "POST", body: { events: [{ type: "item_put", sku: item.sku, item: { levels } }] } });
      result.replaceChildren(...previewResult(body));
    } catch (e) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(e)));
    }
  };
  return h("article", { class: "item-card", dataset: { sku: item.sku }, "aria-labelledby": `item-${item.sku}` },
    h("h3", { id: `item-${item.sku}` }, item.sku, composite ? h("span", { class: "help" }, ` kit of ${item.components.map((c) => `${c.qty} × ${c.sku}`).join(" + ")}`) : null),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Stock"),
      h("thead", {}, h("tr", {}, ["Location", "On hand", "Reserved", "Available", composite ? "" : "What if on hand were"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, levelRows))),
    composite ? null : h("button", { type: "button", class: "preview-item", onclick: preview }, "Preview this change"),
    result,
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Its listings"),
      h("thead", {}, h("tr", {}, ["Listing", "Last sent", "Hub wants", "Why nothing"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, item.listings.map((l) => {
        const name = `${channelLabel(l.channel)} · ${l.listing}`;
        return h("tr", { dataset: { listing: listingKey(l) } }, h("th", { scope: "row" }, name),
          h("td", { dataset: { col: "last_sent" } }, num(l.last_sent)),
          h("td", { dataset: { col: "wanted" } }, explainButton(l.quantity, l.explain, `${name} wants`, bigView())),
          h("td", {}, l.reason ? describeSkipReason(l.reason) : ""));
      })))));
}

/** What POST /v1/preview answered: warnings and the listings whose number would change. */
function previewResult(p) {
  const changes = p.changes.filter((c) => c.before !== c.after);
  return [
    h("ul", { class: "warnings" }, p.warnings.map((w) => h("li", { dataset: { code: w.code } }, w.message))),
    changes.length === 0
      ? h("p", { class: "help", dataset: { changes: "0" } }, "No listing would change.")
      : h("div", { class: "table-wrap" }, h("table", { class: "item-changes" },
        h("caption", {}, "Listings whose number would change"),
        h("thead", {}, h("tr", {}, ["Listing", "Last sent", "Wants now", "Would send", "Why nothing"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, changes.map((c) => {
          const name = `${channelLabel(c.channel)} · ${c.listing}`;
          return h("tr", { dataset: { listing: listingKey(c) } }, h("th", { scope: "row" }, name),
            h("td", { dataset: { col: "last_sent" } }, num(c.last_sent)),
            h("td", { dataset: { col: "before" } }, num(c.before)),
            h("td", { dataset: { col: "after" } }, explainButton(c.after, c.explain, `${name} would be sent`, bigView())),
            h("td", {}, c.reason ? describeSkipReason(c.reason) : ""));
        })))),
  ];
}

// ----- a channel-wide what-if ----------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function channelWhatIf(form) {
  const c = big.channels.find((x) => x.id === form.channel.value);
  if (!c) return;
  const token = ++big.whatIf;
  const rules = { ...c.rules };
  for (const k of ["buffer", "end_when", "percent"]) if (form[k].value !== "") rules[k] = quantityOf(form[k]);
  rules.max_listed = form.max_listed.value === "" ? null : quantityOf(form.max_listed);
  const channel = { name: c.name, enabled: form.enabled.checked, locations: c.locations, rules, target: c.target };
  const status = $("#cw-status");
  const button = form.querySelector("button");
  $("#cw-result").replaceChildren();
  status.textContent = `Counting every listing of ${channelLabel(c.id)}…`;
  button.disabled = true;
  try {
    const res = await api("/v1/preview?summary=true", { method: "POST", body: { events: [{ type: "channel_put", id: c.id, channel }] } });
    let summary = res.body?.summary;
    if (res.status === 202) {
      const { job, listings } = res.body;
      const bar = h("progress", { max: String(listings), value: "0" });
      const label = h("span", {}, ` 0 of ${fmt(listings)} listings counted (background job ${job})`);
      status.replaceChildren(bar, label);
      for (;;) {
        await sleep(400);
        if (token !== big.whatIf) return;
        const j = (await api(`/v1/jobs/${encodeURIComponent(job)}`)).body;
        bar.max = j.total;
        bar.value = j.done;
        label.textContent = ` ${fmt(j.done)} of ${fmt(j.total)} listings counted (background job ${job})`;
        if (j.state === "failed") throw Object.assign(new Error(j.error ?? "the job failed"), { code: "job_failed" });
        if (j.state === "done") {
          summary = j.result.summary;
          break;
        }
      }
    }
    if (token !== big.whatIf) return;
    status.textContent = `If ${channelLabel(c.id)} had these rules:`;
    $("#cw-result").replaceChildren(...summaryView(summary));
  } catch (e) {
    if (token === big.whatIf) status.replaceChildren(h("span", { class: "error" }, `Could not preview: ${errorText(e)}`));
  } finally {
    if (token === big.whatIf) button.disabled = false;
  }
}

function summaryView(s) {
  const count = (key, label) => h("div", { dataset: { count: key } }, h("dt", {}, label), h("dd", {}, fmt(s[key])));
  return [
    h("dl", { class: "counts" },
      count("listings", "Listings"),
      count("changed", "Would change"),
      count("to_zero", "Would go to 0"),
      count("decreased", "Would go down"),
      count("increased", "Would go up"),
      count("stops_sync", "Would stop syncing")),
    s.biggest_drops.length === 0
      ? h("p", { class: "help" }, "No listing would go down.")
      : h("div", { class: "table-wrap" }, h("table", { id: "cw-drops" },
        h("caption", {}, "The biggest drops"),
        h("thead", {}, h("tr", {}, ["Listing", "SKU", "Has now", "Would send"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, s.biggest_drops.map((d) => h("tr", { dataset: { listing: listingKey(d) } },
          h("th", { scope: "row" }, `${channelLabel(d.channel)} · ${d.listing}`),
          h("td", {}, d.sku ?? "—"), h("td", {}, num(d.from)), h("td", {}, num(d.to))))))),
  ];
}

// ----- the story --------------------------------------------------------------------------------

function showStoryStep(at) {
  const story = state.story;
  story.at = Math.max(0, Math.min(at, story.frames.length - 1));
  setBase(Hub.fromSnapshot(story.frames[story.at].snapshot));
}

function renderStory() {
  const story = state.story;
  if (!story) return;
  const steps = $("#story-steps");
  steps.replaceChildren(
    ...story.frames.map((f, i) =>
      h("li", {}, h("button", {
        type: "button",
        "aria-current": i === story.at ? "step" : null,
        "aria-label": `Step ${i + 1}: ${f.step.note}`,
        onclick: () => showStoryStep(i),
      }, String(i + 1))),
    ),
  );
  $("#story-prev").disabled = story.at === 0;
  $("#story-next").disabled = story.at === story.frames.length - 1;

  const frame = story.frames[story.at];
  const parts = [h("p", { class: "note" }, h("strong", {}, `Step ${story.at + 1} of ${story.frames.length}: `), frame.step.note)];
  const view = state.baseView;
  if (frame.step.channel_edit) {
    const e = frame.step.channel_edit;
    parts.push(h("p", {}, `Edited directly on ${channelName(view, e.channel)}: ${e.listing} set to ${e.quantity}. The hub does not see this.`));
  }
  if (frame.step.event) parts.push(h("p", {}, "Event: ", describeEvent(frame.step.event, view)));
  if (frame.error) parts.push(h("p", { class: "error" }, `Rejected: ${errorText(frame.error)}`));
  if (frame.outcome) {
    const pushes = frame.outcome.pushes;
    parts.push(
      pushes.length === 0
        ? h("p", {}, "This step sends nothing.")
        : h("div", { class: "table-wrap", role: "region", "aria-label": "What this step sends", tabindex: "0" },
          h("table", {},
            h("caption", {}, "What this step sends"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Listing"), h("th", { scope: "col" }, "Had"), h("th", { scope: "col" }, "Sent"))),
            h("tbody", {}, pushes.map((p) => h("tr", { dataset: { listing: listingKey(p) } },
              h("th", { scope: "row" }, `${channelName(view, p.channel)} · ${p.listing}`),
              h("td", {}, num(p.previous)),
              h("td", {}, explainButton(p.quantity, p.explain, `${p.listing} on ${channelName(view, p.channel)}: sent`, view)),
            ))))),
    );
  }
  $("#story-detail").replaceChildren(...parts);
}

function describeEvent(e, view) {
  const ch = (id) => channelName(view, id);
  switch (e.type) {
    case "item_put":
      if (e.item.levels) return Object.entries(e.item.levels).map(([loc, q]) => `set on hand of ${e.sku} at ${loc} to ${q}`).join("; ");
      return `make ${e.sku} a composite of ${e.item.components.map((c) => `${c.qty} × ${c.sku}`).join(" + ")}`;
    case "stock_adjusted":
      return `adjust ${e.sku} at ${e.adjust.location} by ${e.adjust.delta}`;
    case "channel_put":
      return `configure channel ${ch(e.id)}`;
    case "mappings_put":
      return e.mappings.map((m) => `link ${ch(m.channel)} · ${m.listing} to ${m.sku}`).join("; ");
    case "mapping_deleted":
      return `unlink ${ch(e.channel)} · ${e.listing}`;
    case "order_placed":
      return `order ${e.order.order} on ${ch(e.order.channel)}: ${e.order.lines.map((l) => `${l.qty} × ${l.listing ?? l.sku}`).join(", ")}`;
    case "order_cancelled":
      return `cancel order ${e.order} of ${ch(e.channel)}`;
    case "order_shipped":
      return `ship order ${e.order} of ${ch(e.channel)}`;
    case "resync":
      return e.channel ? `resync ${ch(e.channel)}` : "resync every listing";
    default:
      return e.type;
  }
}

// ----- the what-if draft ------------------------------------------------------------------------

/** Recomputes the core's answers for base + draft. Throws (and changes nothing) if invalid. */
function recompute(draft = state.draft) {
  const events = draft.flatMap((d) => d.events);
  let preview = null;
  let afterView = null;
  if (events.length > 0) {
    preview = state.base.preview(events);
    const after = state.base.fork(events);
    try {
      afterView = after.view();
    } finally {
      after.free();
    }
  }
  state.draft = draft;
  state.preview = preview;
  state.afterView = afterView;
  render();
}

/** Says why an edit was refused (a StocksyncError), or any other notice (a string); null clears. */
function showWhatIfError(e) {
  const p = $("#whatif-error");
  p.hidden = !e;
  p.textContent = !e ? "" : typeof e === "string" ? e : `Not applied — ${errorText(e)}`;
}

/** Adds or replaces a draft entry (by key), or removes it when it has no events. */
function putDraft(entry) {
  const next = state.draft.filter((d) => d.key !== entry.key);
  if (entry.events.length > 0) {
    const at = state.draft.findIndex((d) => d.key === entry.key);
    next.splice(at < 0 ? next.length : at, 0, entry);
  }
  try {
    recompute(next);
    showWhatIfError(null);
  } catch (e) {
    showWhatIfError(e);
    render(); // put the controls back to what the draft says
  }
}

/** Removes an entry; later entries that no longer make sense (a cancel of a removed order) go too. */
function removeDraft(key) {
  const kept = [];
  const dropped = [];
  let hub = state.base.fork([]);
  try {
    for (const d of state.draft.filter((d) => d.key !== key)) {
      try {
        const next = hub.fork(d.events);
        hub.free();
        hub = next;
        kept.push(d);
      } catch (e) {
        dropped.push(`${d.label} (${errorText(e)})`);
      }
    }
  } finally {
    hub.free();
  }
  recompute(kept);
  showWhatIfError(dropped.length ? `Also removed, as it no longer applies: ${dropped.join("; ")}` : null);
}

// ----- edits that become hypothetical events ----------------------------------------------------

/** A number input's value for the core: a number, or the raw text for the core to reject. */
function quantityOf(input) {
  return Number.isFinite(input.valueAsNumber) ? input.valueAsNumber : input.value;
}

function editStock(sku, location, input) {
  const before = state.baseView.items.find((i) => i.sku === sku)?.locations[location]?.on_hand;
  const q = quantityOf(input);
  const unchanged = q === before || (q === "" && before === undefined);
  putDraft({
    key: `stock:${sku}:${location}`,
    label: `On hand of ${sku} at ${location}: ${num(before)} → ${q === "" ? "(empty)" : q}`,
    events: unchanged ? [] : [{ type: "item_put", sku, item: { levels: { [location]: q } } }],
  });
}

/** The body `PUT /v1/channels/{id}` takes, from a channel as the view shows it. */
function channelBody(c) {
  return { name: c.name, enabled: c.enabled, locations: [...c.locations], rules: { ...c.rules }, target: previewTarget(c.target) };
}

// A live export leaves webhook secrets out, and the core refuses a webhook channel without one.
// A preview never signs or sends anything, so a placeholder stands in for the missing secret.
function previewTarget(t) {
  return t.kind === "webhook" && !t.secret ? { ...t, secret: "preview-only-placeholder" } : t;
}

function editChannel(id, change, what) {
  const cur = current().channels.find((c) => c.id === id);
  const base = state.baseView.channels.find((c) => c.id === id);
  const body = channelBody(cur);
  change(body);
  const same = base && JSON.stringify(channelBody(base)) === JSON.stringify(body);
  const prev = state.draft.find((d) => d.key === `channel:${id}`);
  const label = [prev?.label.replace(/^[^:]*: /, ""), what].filter(Boolean).join("; ");
  putDraft({ key: `channel:${id}`, label: `${channelName(state.baseView, id)}: ${label}`, events: same ? [] : [{ type: "channel_put", id, channel: body }] });
}

function editMapping(row, change, what) {
  const key = `map:${listingKey(row)}`;
  const next = { sku: row.sku, pack: row.pack, ignore_sync: row.ignore_sync, rules: row.rules };
  change(next);
  const events = [];
  // A listing names one sku: moving it to another sku is an unlink, then a link.
  const base = state.baseView.listings.find((l) => listingKey(l) === listingKey(row));
  if (base?.sku && base.sku !== next.sku) events.push({ type: "mapping_deleted", channel: row.channel, listing: row.listing });
  if (next.sku) events.push({ type: "mappings_put", mappings: [{ channel: row.channel, listing: row.listing, sku: next.sku, pack: next.pack, ignore_sync: next.ignore_sync, rules: next.rules }] });
  const unchanged = base && base.sku === next.sku && base.pack === next.pack && base.ignore_sync === next.ignore_sync;
  const label = `${channelName(state.baseView, row.channel)} · ${row.listing}: ${what}`;
  putDraft({ key, label, events: unchanged ? [] : events });
}

function addOrder(form) {
  const channel = form.channel.value;
  const listing = form.listing.value;
  const qty = quantityOf(form.qty);
  let ref;
  do ref = `WHAT-IF-${state.orderSeq++}`;
  while (current().orders.some((o) => o.channel === channel && o.order === ref));
  const order = { channel, order: ref, lines: [{ listing, qty }] };
  if (form.location.value) order.location = form.location.value;
  putDraft({ key: `order:${channel}/${ref}`, label: `Order ${ref} on ${channelName(current(), channel)}: ${qty} × ${listing}`, events: [{ type: "order_placed", order }] });
}

function closeOrder(o, how) {
  const type = how === "cancel" ? "order_cancelled" : "order_shipped";
  putDraft({
    key: `close:${o.channel}/${o.order}`,
    label: `${how === "cancel" ? "Cancel" : "Ship"} order ${o.order} of ${channelName(current(), o.channel)}`,
    events: [{ type, channel: o.channel, order: o.order }],
  });
}

// ----- drawing ----------------------------------------------------------------------------------

function render() {
  if (!state.baseView) return;
  renderStory();
  renderDraft();
  renderChanges();
  renderListings();
  renderItems();
  renderChannels();
  renderLocations();
  renderOrders();
}

function renderDraft() {
  $("#draft").replaceChildren(
    ...state.draft.map((d) =>
      h("li", {}, h("span", {}, d.label), " ",
        h("button", { type: "button", class: "small", "aria-label": `Remove: ${d.label}`, onclick: () => removeDraft(d.key) }, "Remove"))),
  );
  $("#draft-empty").hidden = state.draft.length > 0;
  $("#draft-clear").hidden = state.draft.length === 0;
}

/** A number that opens its explanation. */
function explainButton(value, explain, title, view, extra = {}) {
  if (value === null || value === undefined || !explain) return h("span", { class: "num" }, num(value));
  return h("button", {
    type: "button",
    class: "num explain",
    "aria-label": `${title} ${value}: explain`,
    onclick: () => openExplain(`${title} ${value}`, explain, view),
    ...extra,
  }, String(value));
}

function renderChanges() {
  const tbody = $("#changes tbody");
  const warnings = $("#warnings");
  const p = state.preview;
  const changes = p ? p.changes.filter((c) => c.before !== c.after) : [];
  const base = byKey(state.baseView.listings, listingKey);
  const after = current();
  warnings.replaceChildren(...(p ? p.warnings.map((w) => h("li", { dataset: { code: w.code } }, w.message)) : []));
  tbody.replaceChildren(
    ...changes.map((c) => {
      const now = base.get(listingKey(c));
      const name = `${channelName(after, c.channel)} · ${c.listing}`;
      return h("tr", { dataset: { listing: listingKey(c) } },
        h("th", { scope: "row" }, name),
        h("td", {}, c.sku ?? "—"),
        h("td", { dataset: { col: "last_sent" } }, num(c.last_sent)),
        h("td", { dataset: { col: "before" } }, explainButton(c.before, now?.explain, `${name} wants now`, state.baseView)),
        h("td", { dataset: { col: "after" } }, explainButton(c.after, c.explain, `${name} would be sent`, after)),
        h("td", {}, c.reason ? describeSkipReason(c.reason) : ""));
    }),
  );
  const touched = p ? p.changes.length - changes.length : 0;
  $("#changes-empty").textContent = p
    ? changes.length === 0 ? `No listing would change${touched ? ` (${touched} touched, same number)` : ""}.` : touched ? `${touched} more listing(s) touched, same number.` : ""
    : "No hypothetical changes yet.";
  $("#changes-empty").hidden = p && changes.length > 0 && touched === 0;
}

function renderListings() {
  const view = current();
  const base = byKey(state.baseView.listings, listingKey);
  const skus = view.items.map((i) => i.sku);
  const shows = state.story?.frames[state.story.at].shows;
  $("#listings tbody").replaceChildren(
    ...view.listings.map((l) => {
      const name = `${channelName(view, l.channel)} · ${l.listing}`;
      const before = base.get(listingKey(l));
      const changed = state.afterView && before && before.wanted !== l.wanted;
      const skuSelect = h("select", {
        "aria-label": `SKU linked to ${name}`,
        onchange: (ev) => editMapping(l, (m) => (m.sku = ev.target.value || null), ev.target.value ? `link to ${ev.target.value}` : "unlink"),
      }, h("option", { value: "" }, "— not linked —"), skus.map((s) => h("option", { value: s, selected: s === l.sku }, s)));
      const pack = h("input", {
        type: "number", inputmode: "numeric", step: "1", value: String(l.pack), class: "qty", disabled: !l.sku,
        "aria-label": `Pack size of ${name}`,
        onchange: (ev) => editMapping(l, (m) => (m.pack = quantityOf(ev.target)), `pack ${ev.target.value}`),
      });
      const ignore = h("input", {
        type: "checkbox", checked: l.ignore_sync, disabled: !l.sku, "aria-label": `Ignore sync for ${name}`,
        onchange: (ev) => editMapping(l, (m) => (m.ignore_sync = ev.target.checked), ev.target.checked ? "ignore sync" : "sync again"),
      });
      const wants = changed
        ? h("span", { class: "delta" },
          h("s", { "aria-label": `was ${num(before.wanted)}` }, explainButton(before.wanted, before.explain, `${name} wants now`, state.baseView)),
          " → ", explainButton(l.wanted, l.explain, `${name} would want`, view))
        : explainButton(l.wanted, l.explain, `${name} wants`, view);
      return h("tr", { dataset: { listing: listingKey(l) }, class: changed ? "changed" : null },
        h("th", { scope: "row" }, name),
        h("td", {}, skuSelect),
        h("td", {}, pack),
        h("td", {}, ignore),
        h("td", { dataset: { col: "last_sent" } }, num(l.last_sent)),
        h("td", { dataset: { col: "wanted" } }, wants),
        h("td", { class: "story-only", dataset: { col: "shows" } }, shows ? num(shows.get(listingKey(l))) : ""),
        h("td", {}, statusText(l)));
    }),
  );
}

function statusText(l) {
  const labels = { in_sync: "in sync", pending: "would send", failing: "failing", not_eligible: "gets nothing" };
  const s = labels[l.status] ?? l.status;
  return l.reason_text ? `${s}: ${l.reason_text}` : l.pending !== null && l.status !== "in_sync" ? `${s} ${l.pending}` : s;
}

function renderItems() {
  const view = current();
  const base = byKey(state.baseView.items, (i) => i.sku);
  const rows = [];
  for (const item of view.items) {
    const composite = item.components.length > 0;
    const was = base.get(item.sku);
    const locs = composite ? Object.keys(item.locations) : view.locations.map((l) => l.id);
    locs.forEach((loc, i) => {
      const lv = item.locations[loc];
      const old = was?.locations[loc];
      const cell = (k) => {
        const now = lv ? lv[k] : null;
        const then = old ? old[k] : null;
        return state.afterView && then !== now
          ? h("td", { dataset: { col: k }, class: "delta" }, h("s", {}, num(then)), ` → ${num(now)}`)
          : h("td", { dataset: { col: k } }, num(now));
      };
      const skuCell = h("th", { scope: "row" }, i === 0 ? item.sku : h("span", { class: "visually-hidden" }, item.sku),
        i === 0 && composite ? h("div", { class: "help" }, `kit of ${item.components.map((c) => `${c.qty} × ${c.sku}`).join(" + ")}`) : null);
      const onHand = composite
        ? cell("on_hand")
        : h("td", { dataset: { col: "on_hand" } }, h("input", {
          type: "number", inputmode: "numeric", step: "1", class: "qty",
          value: lv ? String(lv.on_hand) : "", placeholder: "none",
          "aria-label": `On hand of ${item.sku} at ${loc}`,
          onchange: (ev) => editStock(item.sku, loc, ev.target),
        }));
      rows.push(h("tr", { dataset: { sku: item.sku, location: loc } }, skuCell, h("td", {}, loc), onHand, cell("reserved"), cell("available")));
    });
  }
  $("#items tbody").replaceChildren(...rows);
}

function renderChannels() {
  const view = current();
  $("#channel-list").replaceChildren(
    ...view.channels.map((c) => {
      const name = c.name || c.id;
      const ruleInput = (rule, label, opts = {}) =>
        h("label", {}, label, h("input", {
          type: "number", inputmode: "numeric", step: "1", class: "qty",
          value: c.rules[rule] === null ? "" : String(c.rules[rule]), placeholder: opts.placeholder,
          "aria-label": `${label} for ${name}`,
          onchange: (ev) => {
            const v = rule === "max_listed" && ev.target.value === "" ? null : quantityOf(ev.target);
            editChannel(c.id, (b) => (b.rules[rule] = v), `${label.toLowerCase()} ${v === null ? "none" : v}`);
          },
        }));
      return h("article", { class: "channel", dataset: { channel: c.id }, "aria-labelledby": `ch-${c.id}` },
        h("h3", { id: `ch-${c.id}` }, name, c.name && c.name !== c.id ? h("span", { class: "help" }, ` (${c.id})`) : null),
        h("label", { class: "inline" }, h("input", {
          type: "checkbox", checked: c.enabled, "aria-label": `${name} enabled`,
          onchange: (ev) => editChannel(c.id, (b) => (b.enabled = ev.target.checked), ev.target.checked ? "enable" : "disable"),
        }), " Enabled"),
        h("fieldset", {}, h("legend", {}, "Sells from"),
          view.locations.map((loc) => h("label", { class: "inline" }, h("input", {
            type: "checkbox", checked: c.locations.includes(loc.id), "aria-label": `${name} sells from ${loc.id}`,
            onchange: (ev) => editChannel(c.id, (b) => {
              // Keep the channel's own order (its first location is an order's default).
              b.locations = ev.target.checked ? [...b.locations, loc.id] : b.locations.filter((x) => x !== loc.id);
            }, `${ev.target.checked ? "sell from" : "stop selling from"} ${loc.id}`),
          }), ` ${loc.id}`))),
        h("fieldset", { class: "rules" }, h("legend", {}, "Rules"),
          ruleInput("buffer", "Buffer"),
          ruleInput("end_when", "End when at most"),
          ruleInput("percent", "Percent"),
          ruleInput("max_listed", "Max listed", { placeholder: "no cap" }),
          h("label", {}, "Kits", h("select", {
            "aria-label": `Kit pooling for ${name}`,
            onchange: (ev) => editChannel(c.id, (b) => (b.rules.bundle_pooling = ev.target.value), `kits ${ev.target.value.replace("_", " ")}`),
          }, ["per_location", "across_locations"].map((p) => h("option", { value: p, selected: c.rules.bundle_pooling === p }, p.replace("_", " ")))))),
        h("p", { class: "help" }, `Pushes to: ${c.target.kind === "webhook" ? `webhook ${c.target.url}` : "the demo channel"}`));
    }),
  );
}

function renderLocations() {
  $("#location-list").replaceChildren(
    ...current().locations.map((l) => h("li", { dataset: { location: l.id } }, h("strong", {}, l.id), l.name && l.name !== l.id ? ` — ${l.name}` : "")),
  );
}

function renderOrders() {
  const view = current();
  const form = $("#order-form");
  const channelSel = $("#order-channel");
  const chosen = channelSel.value || view.channels[0]?.id;
  channelSel.replaceChildren(...view.channels.map((c) => h("option", { value: c.id, selected: c.id === chosen }, c.name || c.id)));
  const listingSel = $("#order-listing");
  const keep = listingSel.value;
  listingSel.replaceChildren(...view.listings.filter((l) => l.channel === chosen).map((l) => h("option", { value: l.listing, selected: l.listing === keep }, `${l.listing}${l.sku ? ` (${l.sku})` : " (not linked)"}`)));
  const locSel = $("#order-location");
  const keepLoc = locSel.value;
  locSel.replaceChildren(h("option", { value: "" }, "the channel's first"), ...view.locations.map((l) => h("option", { value: l.id, selected: l.id === keepLoc }, l.id)));
  form.querySelector("button").disabled = view.channels.length === 0;

  const open = view.orders.filter((o) => o.status === "open");
  $("#open-orders").replaceChildren(
    ...open.map((o) => {
      const what = `${o.order} · ${channelName(view, o.channel)} · ${o.location} · ${o.lines.map((l) => `${l.qty} × ${l.listing ?? l.sku}`).join(", ")}`;
      return h("li", { dataset: { order: `${o.channel}/${o.order}` } }, h("span", {}, what), " ",
        h("button", { type: "button", class: "small", "aria-label": `Cancel order ${o.order}`, onclick: () => closeOrder(o, "cancel") }, "Cancel"), " ",
        h("button", { type: "button", class: "small", "aria-label": `Ship order ${o.order}`, onclick: () => closeOrder(o, "ship") }, "Ship"));
    }),
  );
  $("#open-empty").hidden = open.length > 0;
}

// ----- the explanation --------------------------------------------------------------------------

const RULES = {
  buffer: (v) => `hold back ${v}`,
  end_when: (v) => `end the listing at ${v} or fewer`,
  percent: (v) => `list ${v}%`,
  pack: (v) => `packs of ${v}`,
  max_listed: (v) => (v === null ? "no cap" : `list at most ${v}`),
  clamp: () => "never below 0",
};
const SOURCES = { channel: "channel", listing: "listing", default: "always" };

function openExplain(title, x, view) {
  const holds = (sku, loc) => view.holds.filter((hd) => hd.sku === sku && hd.location === loc);
  const body = [
    h("p", {}, `${x.sku} at ${x.locations.length ? x.locations.join(", ") : "no locations"}`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("caption", {}, "Stock it starts from"),
      h("thead", {}, h("tr", {}, ["SKU", "Location", "On hand", "Reserved", "Available"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, x.stock.map((s) => {
        const hs = holds(s.sku, s.location);
        return h("tr", {},
          h("th", { scope: "row" }, s.sku), h("td", {}, s.location), h("td", {}, num(s.on_hand)),
          h("td", {}, num(s.reserved), hs.length ? h("div", { class: "help" }, hs.map((hd) => `${hd.order} (${channelName(view, hd.channel)}) ${hd.qty}`).join(", ")) : null),
          h("td", {}, num(s.available)));
      })))),
  ];
  if (x.components.length) {
    body.push(h("p", {}, `A kit of ${x.components.map((c) => `${c.qty} × ${c.sku}`).join(" + ")}, counted ${x.pooling === "across_locations" ? "across locations" : "per location"}:`));
    body.push(h("ul", {}, x.kits.map((k) => h("li", {}, k.location ? `${k.location}: ${k.kits} kits` : `${k.component}: ${k.component_pool} units → ${k.kits} kits`))));
  }
  body.push(h("p", { class: "pool" }, "Pool: ", h("strong", {}, num(x.pool))));
  body.push(h("div", { class: "table-wrap" }, h("table", {},
    h("caption", {}, "Rules, in order"),
    h("thead", {}, h("tr", {}, ["Rule", "From", "Before", "After"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, x.steps.map((s) => h("tr", { dataset: { rule: s.rule } },
      h("th", { scope: "row" }, (RULES[s.rule] ?? (() => s.rule))(s.value)),
      h("td", {}, SOURCES[s.source] ?? s.source), h("td", {}, num(s.before)), h("td", {}, num(s.after))))))));
  body.push(h("p", { class: "result" }, "Quantity: ", h("strong", {}, num(x.quantity))));
  $("#explain-h").textContent = title;
  $("#explain-body").replaceChildren(...body);
  $("#explain").showModal();
}

// ----- wiring -----------------------------------------------------------------------------------

function wire() {
  $("#load-example").addEventListener("click", () => run(loadExample));
  $("#live-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const key = $("#api-key").value.trim() || state.apiKey;
    if (!key) return setStatus("Paste the API key first.");
    state.apiKey = key;
    $("#api-key").value = "";
    run(() => loadLive(key));
  });
  $("#forget-key").addEventListener("click", () => {
    state.apiKey = null;
    $("#api-key").value = "";
    setStatus("Key forgotten.");
  });
  $("#story-prev").addEventListener("click", () => showStoryStep(state.story.at - 1));
  $("#story-next").addEventListener("click", () => showStoryStep(state.story.at + 1));
  $("#draft-clear").addEventListener("click", () => {
    recompute([]);
    showWhatIfError(null);
  });
  $("#order-channel").addEventListener("change", () => renderOrders());
  $("#order-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    addOrder(ev.target);
  });
  const guarded = (f) => async (...args) => {
    try {
      await f(...args);
    } catch (e) {
      setStatus(`Could not load: ${errorText(e)}`);
    }
  };
  $("#search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(search)($("#search").value);
  });
  $("#browse-channel").addEventListener("change", (ev) => guarded(browseChannel)(ev.target.value));
  $("#page-next").addEventListener("click", guarded(nextPage));
  $("#page-first").addEventListener("click", guarded(firstPage));
  $("#cw-channel").addEventListener("change", () => fillChannelForm());
  $("#cw-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    channelWhatIf(ev.target);
  });
}

async function run(load) {
  try {
    setStatus("Loading…");
    await load();
    showWhatIfError(null);
  } catch (e) {
    setStatus(`Could not load: ${errorText(e)}`);
  }
}

async function main() {
  wire();
  try {
    await init();
  } catch (e) {
    setStatus(`The preview engine did not load: ${errorText(e)}`);
    return;
  }
  await run(loadExample);
  // For end-to-end tests: the state the what-ifs start from, as a snapshot.
  window.stocksyncPreview = { snapshot: () => state.base.snapshot(), draft: () => state.draft.flatMap((d) => d.events) };
  document.documentElement.dataset.ready = "true";
}

main();
