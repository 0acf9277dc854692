// The preview page end to end, in Debian's headless Chromium (playwright-core), checked against
// the same wasm package loaded into Node: what the page shows is what the core answers.
//
//   BASE_URL=http://127.0.0.1:8787 [API_KEY=…] node --test tests/web/page.e2e.test.mjs
//
// BASE_URL is where the page is served: `wrangler dev` (the worker serves www/ at /), or any
// static server of www/ (scripts/test-web.sh starts `python3 -m http.server` when BASE_URL is
// not set). With API_KEY the page loads the live state (GET /v1/export); without it, the
// built-in example. Screenshots: out/screenshots/preview.png (desktop, after two what-if
// edits), preview-explain.png (an explanation open), preview-phone.png (390 px wide); the same
// names with -live on a live state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Hub, exampleHub, root, seedStory } from "./pkg.mjs";

const BASE_URL = process.env.BASE_URL;
const API_KEY = process.env.API_KEY || null;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(root, "out", "screenshots");
// preview.png on the built-in example; preview-live.png on a live state.
const shot = (name) => join(SHOTS, `${name}${API_KEY ? "-live" : ""}.png`);

let ctx;
let page;
let profile;
const pageErrors = [];

before(async () => {
  assert.ok(BASE_URL, "set BASE_URL to where the page is served (e.g. http://127.0.0.1:8787)");
  profile = mkdtempSync(join(tmpdir(), "stocksync-e2e-"));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(new URL("/", BASE_URL).href);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
  if (API_KEY) {
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Load live state" }).click();
    await page.waitForFunction(() => document.querySelector("#source-status").textContent.startsWith("Live state"), null, { timeout: 15_000 });
  }
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The hub the page's what-ifs start from, loaded into Node's copy of the package. */
async function pageHub() {
  return Hub.fromSnapshot(await page.evaluate(() => window.stocksyncPreview.snapshot()));
}

const text = (v) => (v === null || v === undefined ? "—" : String(v));
const cell = (row, col) => page.locator(`${row} [data-col="${col}"]`).first().innerText();

test("the page shows the merchant the core describes", async () => {
  const hub = await pageHub();
  if (API_KEY) {
    const res = await fetch(new URL("/v1/export", BASE_URL), { headers: { Authorization: `Bearer ${API_KEY}` } });
    assert.equal(res.status, 200);
    const live = Hub.fromJson(await res.text());
    assert.deepEqual(hub.snapshot(), live.snapshot(), "the page loaded GET /v1/export");
    live.free();
  } else {
    const example = exampleHub();
    assert.deepEqual(hub.snapshot(), example.snapshot(), "the example is the seed story after its set-up");
    example.free();
    await assert.doesNotReject(page.locator("#story").waitFor({ state: "visible" }));
  }
  const view = hub.view();
  assert.ok(view.listings.length > 0, "the merchant has listings");
  for (const l of view.listings) {
    const row = `#listings tr[data-listing="${l.channel}/${l.listing}"]`;
    assert.equal(await cell(row, "wanted"), text(l.wanted), `${row} hub wants`);
    assert.equal(await cell(row, "last_sent"), text(l.last_sent), `${row} last sent`);
  }
  for (const item of view.items.filter((i) => i.components.length === 0)) {
    for (const [loc, lv] of Object.entries(item.locations)) {
      const row = `#items tr[data-sku="${item.sku}"][data-location="${loc}"]`;
      assert.equal(await page.locator(`${row} input`).inputValue(), String(lv.on_hand), `${row} on hand`);
      assert.equal(await cell(row, "reserved"), text(lv.reserved), `${row} reserved`);
      assert.equal(await cell(row, "available"), text(lv.available), `${row} available`);
    }
  }
  for (const c of view.channels) {
    const card = page.locator(`#channels [data-channel="${c.id}"]`);
    assert.equal(await card.getByRole("checkbox", { name: `${c.name || c.id} enabled` }).isChecked(), c.enabled);
  }
  assert.equal(await page.locator("#location-list li").count(), view.locations.length);
  hub.free();
});

/** Checks the "what would be sent" table against the core's preview of the page's own draft. */
async function checkPreviewMatchesCore(hub) {
  const draft = await page.evaluate(() => window.stocksyncPreview.draft());
  const preview = hub.preview(draft);
  const changed = preview.changes.filter((c) => c.before !== c.after);
  assert.equal(await page.locator("#changes tbody tr").count(), changed.length, "one row per listing whose number changes");
  for (const c of changed) {
    const row = `#changes tr[data-listing="${c.channel}/${c.listing}"]`;
    assert.equal(await cell(row, "before"), text(c.before), `${row} now`);
    assert.equal(await cell(row, "after"), text(c.after), `${row} after`);
    assert.equal(await cell(row, "last_sent"), text(c.last_sent), `${row} last sent`);
  }
  assert.deepEqual(await page.locator("#warnings li").allInnerTexts(), preview.warnings.map((w) => w.message));
  return { draft, preview, changed };
}

test("what-if edits change the previewed numbers exactly as the core says", async () => {
  const hub = await pageHub();
  const view = hub.view();

  // 1. A channel rule: hold back one more unit on the first channel.
  const ch = view.channels[0];
  const buffer = page.getByRole("spinbutton", { name: `Buffer for ${ch.name || ch.id}` });
  await buffer.fill(String(ch.rules.buffer + 1));
  await buffer.press("Tab");
  let got = await checkPreviewMatchesCore(hub);
  assert.equal(got.draft.length, 1);
  assert.equal(got.draft[0].type, "channel_put");
  const sent = got.draft[0].channel;
  assert.deepEqual(
    { ...sent, target: sent.target.kind },
    { name: ch.name, enabled: ch.enabled, locations: ch.locations, rules: { ...ch.rules, buffer: ch.rules.buffer + 1 }, target: ch.target.kind },
    "the edit is the buffer, nothing else",
  );

  // 2. A stock count on top: the first stock item's first level drops to 0 (or rises to 3).
  const item = view.items.find((i) => i.components.length === 0 && Object.keys(i.locations).length > 0);
  const [loc, lv] = Object.entries(item.locations)[0];
  const next = lv.on_hand > 0 ? 0 : 3;
  const onHand = page.getByRole("spinbutton", { name: `On hand of ${item.sku} at ${loc}` });
  await onHand.fill(String(next));
  await onHand.press("Tab");
  got = await checkPreviewMatchesCore(hub);
  assert.deepEqual(got.draft[1], { type: "item_put", sku: item.sku, item: { levels: { [loc]: next } } });
  assert.ok(got.changed.length > 0, "the edits change some listing");

  // The listings table shows the state after the edits: the core's fork of the same draft.
  const after = hub.fork(got.draft).view();
  for (const l of after.listings) {
    const shown = await page.locator(`#listings tr[data-listing="${l.channel}/${l.listing}"] [data-col="wanted"]`).innerText();
    assert.ok(shown.endsWith(text(l.wanted)), `${l.channel}/${l.listing} would want ${l.wanted} (shown: ${shown})`);
  }

  // 3. Invalid input is refused with the API's error code and changes nothing.
  await onHand.fill("-2");
  await onHand.press("Tab");
  await assert.doesNotReject(page.locator("#whatif-error").waitFor({ state: "visible" }));
  assert.match(await page.locator("#whatif-error").innerText(), /invalid_quantity/);
  assert.deepEqual(await page.evaluate(() => window.stocksyncPreview.draft()), got.draft, "the refused edit is not in the draft");

  await page.screenshot({ path: shot("preview"), fullPage: true });
  hub.free();
});

test("clicking a number opens its explanation", async () => {
  const hub = await pageHub();
  const draft = await page.evaluate(() => window.stocksyncPreview.draft());
  const change = hub.preview(draft).changes.find((c) => c.before !== c.after && c.explain);
  assert.ok(change, "a changed listing with an explanation");
  await page.locator(`#changes tr[data-listing="${change.channel}/${change.listing}"] [data-col="after"] button`).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor({ state: "visible" });
  const x = change.explain;
  assert.equal(await dialog.locator("tr[data-rule]").count(), x.steps.length, "every rule step");
  for (const s of x.steps) {
    const cells = await dialog.locator(`tr[data-rule="${s.rule}"] td`).allInnerTexts();
    assert.deepEqual(cells.slice(1), [text(s.before), text(s.after)], `rule ${s.rule}`);
  }
  assert.equal(await dialog.locator(".pool strong").innerText(), text(x.pool));
  assert.equal(await dialog.locator(".result strong").innerText(), text(x.quantity));
  assert.equal(await dialog.locator("caption + thead + tbody tr").first().locator("td").nth(0).innerText(), x.stock[0].location);
  await page.screenshot({ path: shot("preview-explain") });
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  hub.free();
});

test("orders, shipments, channel switches and mappings are previewed as the core says", async () => {
  await page.getByRole("button", { name: "Discard all changes" }).click();
  const hub = await pageHub();
  const view = hub.view();
  const first = view.channels[0];
  const last = view.channels[view.channels.length - 1];
  const linked = view.listings.find((l) => l.sku && l.channel === first.id);

  await page.getByRole("button", { name: "Add order" }).click();
  const [placed] = await page.evaluate(() => window.stocksyncPreview.draft());
  assert.equal(placed.type, "order_placed");
  await page.getByRole("button", { name: `Ship order ${placed.order.order}` }).click();
  await page.getByRole("checkbox", { name: `${last.name || last.id} enabled` }).setChecked(!last.enabled);
  await page.getByRole("combobox", { name: `SKU linked to ${first.name || first.id} · ${linked.listing}` }).selectOption("");
  let got = await checkPreviewMatchesCore(hub);
  assert.deepEqual(got.draft.map((e) => e.type), ["order_placed", "order_shipped", "channel_put", "mapping_deleted"]);
  assert.equal(await page.locator("#whatif-error").isVisible(), false, "every edit was accepted");

  // Removing the order removes its shipment too, and says so.
  await page.getByRole("button", { name: new RegExp(`^Remove: Order ${placed.order.order} `) }).click();
  assert.match(await page.locator("#whatif-error").innerText(), new RegExp(`Also removed.*Ship order ${placed.order.order}`));
  got = await checkPreviewMatchesCore(hub);
  assert.deepEqual(got.draft.map((e) => e.type), ["channel_put", "mapping_deleted"]);

  await page.getByRole("button", { name: "Discard all changes" }).click();
  assert.equal(await page.locator("#changes tbody tr").count(), 0);
  hub.free();
});

test("the story steps through the seed and shows what each step sends", { skip: API_KEY ? "live state has no story" : false }, async () => {
  const story = seedStory();
  const at = story.steps.findIndex((s) => s.event);
  await page.getByRole("button", { name: new RegExp(`^Step ${at + 1}:`) }).click();
  // The core's answer for the same step.
  const hub = new Hub();
  for (const e of story.setup) hub.apply(e);
  hub.deliverAll();
  for (const s of story.steps.slice(0, at)) {
    if (s.event) hub.apply(s.event);
    hub.deliverAll();
  }
  const outcome = hub.apply(story.steps[at].event);
  const rows = page.locator("#story-detail tbody tr");
  assert.equal(await rows.count(), outcome.pushes.length);
  for (const p of outcome.pushes) {
    const cells = await page.locator(`#story-detail tr[data-listing="${p.channel}/${p.listing}"] td`).allInnerTexts();
    assert.deepEqual(cells, [text(p.previous), text(p.quantity)]);
  }
  hub.deliverAll();
  const view = hub.view();
  for (const l of view.listings) {
    assert.equal(await cell(`#listings tr[data-listing="${l.channel}/${l.listing}"]`, "last_sent"), text(l.last_sent));
  }
  // The listing edited directly on the channel shows what the hub overwrote it with.
  const edit = story.steps.find((s) => s.channel_edit)?.channel_edit;
  if (edit) {
    const shows = await cell(`#listings tr[data-listing="${edit.channel}/${edit.listing}"]`, "shows");
    assert.equal(shows, text(view.listings.find((l) => l.channel === edit.channel && l.listing === edit.listing).last_sent));
  }
  hub.free();
});

test("every control has an accessible name, and a phone-sized window does not scroll sideways", async () => {
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, button")]
      .filter((el) => !el.closest("[hidden]"))
      .filter((el) => !(el.getAttribute("aria-label") || el.labels?.length || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unnamed, []);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(100);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await page.screenshot({ path: shot("preview-phone"), fullPage: true });
  assert.deepEqual(pageErrors, [], "no script errors on the page");
});
