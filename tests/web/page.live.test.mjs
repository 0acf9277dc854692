// The page on a big merchant (SPEC §8, issue 9), in Debian's headless Chromium: a worker loaded
// with scripts/page/load-big.mjs (SKUS skus, default 100,000; 200,000+ listings). The page must
// load only what it shows — never GET /v1/export — and still show the first listing at once,
// find a sku or a listing, page through a channel, show the failing listings first, preview an
// edit and a channel-wide change (inline, and as a background job it polls).
//
//   BASE_URL=http://127.0.0.1:8787 API_KEY=… [SKUS=100000] node --test tests/web/page.live.test.mjs
//
// Prints the time from "Load live state" to the first listing shown (the issue asks for 2 s;
// only a 20 s failure guard is asserted, so a busy machine does not make it flaky).
// Screenshots: out/screenshots/preview-big.png (desktop, whole page), preview-big-phone*.png
// (390 px: the top, the channel-wide what-if, the listings).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root } from "./pkg.mjs";
import { pad, skuOf } from "../../scripts/page/merchant.mjs";

const BASE_URL = process.env.BASE_URL;
const API_KEY = process.env.API_KEY;
const SKUS = Number(process.env.SKUS ?? 100_000);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(root, "out", "screenshots");

let ctx;
let page;
let profile;
const pageErrors = [];
const requests = [];

before(async () => {
  assert.ok(BASE_URL && API_KEY, "set BASE_URL and API_KEY (a worker loaded by scripts/page/load-big.mjs)");
  profile = mkdtempSync(join(tmpdir(), "stocksync-big-"));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => requests.push({ method: r.method(), url: new URL(r.url()) }));
  await page.goto(new URL("/", BASE_URL).href);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const rows = (sel) => page.locator(`${sel} tr[data-listing]`);
const cell = (row, col) => row.locator(`[data-col="${col}"]`).innerText();

test("the first listing shows at once, the failing ones first", async () => {
  await page.getByLabel("API key").fill(API_KEY);
  const t0 = performance.now();
  await page.getByRole("button", { name: "Load live state" }).click();
  await page.locator("#big-listings tbody tr[data-listing]").first().waitFor({ timeout: 20_000 });
  const ms = Math.round(performance.now() - t0);
  console.log(`first listing shown ${ms} ms after "Load live state" (${SKUS} skus; the issue asks for 2,000 ms)`);
  assert.ok(ms < 20_000);
  assert.match(await page.locator("#source-status").innerText(), /^Live state \(big merchant\): /);
  assert.match(await page.locator("#source-status").innerText(), new RegExp(`${SKUS.toLocaleString("en-GB")} SKUs`));
  // The wholesale channel's pushes all fail: its listings come first, marked failing.
  const first = page.locator("#big-listings tbody tr[data-listing]").first();
  assert.equal(await first.getAttribute("data-status"), "failing");
  assert.equal(await first.getAttribute("data-listing"), `wholesale/WS-${pad(1)}`);
  assert.match(await cell(first, "status"), /^failing after \d+ attempts/);
  // Then the first page of every channel, in (channel, listing) order. (Right after a fresh
  // load the Ledger is still writing 200,000 mappings to the KV mirror from its alarm, and
  // locally a page can then take tens of seconds: a generous guard, and the time printed.)
  const firstOfPage = rows("#big-page").first();
  await firstOfPage.waitFor({ timeout: 120_000 });
  console.log(`first page of listings shown ${Math.round(performance.now() - t0)} ms after "Load live state"`);
  assert.equal(await firstOfPage.getAttribute("data-listing"), `ebay-uk/EB-${pad(1)}`);
  assert.equal(await cell(firstOfPage, "wanted"), "1");
  assert.match(await page.locator("#big-counts").innerText(), /failing/);
  // What-if sections built from the whole export are not shown.
  assert.equal(await page.locator("#listings").isVisible(), false);
});

/** A sku in the middle of the catalogue (12,345 on 100,000 skus: on hand 4 at LONDON, 0 at MANCHESTER). */
const MID = Math.min(12_345, SKUS - 1);
const LAST = SKUS - 1;

test("a search finds a sku and a listing", async () => {
  const i = MID;
  await page.getByLabel("Find a SKU or listing").fill(skuOf(i));
  await page.getByRole("button", { name: "Search" }).click();
  const card = page.locator(`.item-card[data-sku="${skuOf(i)}"]`);
  await card.waitFor({ timeout: 10_000 });
  assert.equal(await card.locator('tr[data-location="LONDON"] [data-col="on_hand"]').innerText(), String(i % 7));
  assert.equal(await cell(card.locator(`tr[data-listing="ebay-uk/EB-${pad(i)}"]`), "wanted"), String(i % 7));
  assert.equal(await cell(card.locator(`tr[data-listing="shop/SH-${pad(i)}"]`), "wanted"), String(Math.min(20, (i % 7) + (i % 5))));

  await page.getByLabel("Find a SKU or listing").fill(`SH-${pad(LAST)}`);
  await page.getByRole("button", { name: "Search" }).click();
  const hit = page.locator(`#search-listings tr[data-listing="shop/SH-${pad(LAST)}"]`);
  await hit.waitFor({ timeout: 10_000 });
  assert.equal(await cell(hit, "wanted"), String(Math.min(20, (LAST % 7) + (LAST % 5))));

  await page.getByLabel("Find a SKU or listing").fill("NO-SUCH-THING");
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator('#search-result [data-found="none"]').waitFor({ timeout: 10_000 });
});

test("a channel pages forwards and back to its start", async () => {
  await page.locator("#browse-channel").selectOption("shop");
  await page.waitForFunction(() => document.querySelector("#big-page tr[data-listing]")?.dataset.listing.startsWith("shop/"));
  assert.equal(await rows("#big-page").first().getAttribute("data-listing"), `shop/SH-${pad(1)}`);
  assert.equal(await rows("#big-page").count(), 50);
  assert.equal(await rows("#big-failing").count(), 0, "no shop listing fails");
  await page.getByRole("button", { name: "Next page" }).click();
  await page.waitForFunction((want) => document.querySelector("#big-page tr[data-listing]")?.dataset.listing === want, `shop/SH-${pad(51)}`);
  assert.match(await page.locator("#page-info").innerText(), /^Page 2 of /);
  await page.getByRole("button", { name: "Next page" }).click();
  await page.waitForFunction((want) => document.querySelector("#big-page tr[data-listing]")?.dataset.listing === want, `shop/SH-${pad(101)}`);
  await page.getByRole("button", { name: "First page" }).click();
  await page.waitForFunction((want) => document.querySelector("#big-page tr[data-listing]")?.dataset.listing === want, `shop/SH-${pad(1)}`);
  assert.match(await page.locator("#big-counts").innerText(), new RegExp(`^${SKUS.toLocaleString("en-GB")} listings on Own shop`));
});

test("an edit previews on the rows it touches", async () => {
  const i = MID;
  const london = i % 7;
  const manchester = i % 5;
  await page.getByLabel("Find a SKU or listing").fill(skuOf(i));
  await page.getByRole("button", { name: "Search" }).click();
  const card = page.locator(`.item-card[data-sku="${skuOf(i)}"]`);
  await card.waitFor({ timeout: 10_000 });
  await card.getByLabel(`What if on hand of ${skuOf(i)} at LONDON were`).fill("0");
  await card.getByRole("button", { name: "Preview this change" }).click();
  const changes = card.locator(".item-changes tr[data-listing]");
  await changes.first().waitFor({ timeout: 10_000 });
  const got = {};
  for (const r of await changes.all()) got[await r.getAttribute("data-listing")] = [await cell(r, "before"), await cell(r, "after")];
  // LONDON to 0: eBay (LONDON) goes to 0, the shop (both, max 20) to what MANCHESTER has.
  const want = {};
  if (london !== 0) want[`ebay-uk/EB-${pad(i)}`] = [String(london), "0"];
  const shopNow = Math.min(20, london + manchester);
  if (shopNow !== manchester) want[`shop/SH-${pad(i)}`] = [String(shopNow), String(manchester)];
  assert.deepEqual(got, want);
  if (london > 0) await card.locator('.warnings li[data-code="sends_zero"]').waitFor();
});

/** Sets the channel-wide form and runs it; the summary's counts. */
async function channelWide(channel, buffer) {
  await page.locator("#cw-channel").selectOption(channel);
  await page.locator('#cw-form input[name="buffer"]').fill(String(buffer));
  await page.getByRole("button", { name: "Preview on every listing" }).click();
  await page.locator('#cw-result [data-count="listings"]').waitFor({ timeout: 120_000 });
  const counts = {};
  for (const k of ["listings", "changed", "to_zero", "decreased", "increased", "stops_sync"]) {
    counts[k] = Number((await page.locator(`#cw-result [data-count="${k}"] dd`).innerText()).replace(/,/g, ""));
  }
  return counts;
}

test("a channel-wide what-if shows its summary, inline or from a background job", async () => {
  // wholesale: 400 listings (MANCHESTER, i % 5), counted inside the request.
  const ws = Math.min(400, SKUS);
  let t0 = performance.now();
  let counts = await channelWide("wholesale", 2);
  console.log(`wholesale (${ws} listings) summarised in ${Math.round(performance.now() - t0)} ms`);
  const wsFrom = Array.from({ length: ws }, (_, k) => (k + 1) % 5);
  assert.deepEqual(counts, {
    listings: ws,
    changed: wsFrom.filter((n) => n > 0).length,
    to_zero: wsFrom.filter((n) => n > 0 && n <= 2).length,
    decreased: wsFrom.filter((n) => n > 0).length,
    increased: 0,
    stops_sync: 0,
  });

  // ebay-uk: every sku (LONDON, i % 7): more than RECOMPUTE_INLINE_MAX, so a job the page polls.
  t0 = performance.now();
  counts = await channelWide("ebay-uk", 3);
  console.log(`ebay-uk (${SKUS} listings) summarised in ${Math.round(performance.now() - t0)} ms (a background job)`);
  const from = (k) => k % 7;
  let changed = 0;
  let zero = 0;
  for (let k = 1; k <= SKUS; k++) {
    if (from(k) > 0) changed++;
    if (from(k) > 0 && from(k) <= 3) zero++;
  }
  assert.deepEqual(counts, { listings: SKUS, changed, to_zero: zero, decreased: changed, increased: 0, stops_sync: 0 });
  // The biggest drop is 3 (from 3..6), the first of them in listing order.
  const drops = page.locator("#cw-drops tr[data-listing]");
  assert.equal(await drops.count(), 10);
  assert.equal(await drops.first().getAttribute("data-listing"), `ebay-uk/EB-${pad(3)}`);
  assert.match(await page.locator("#cw-status").innerText(), /^If eBay UK had these rules/);
  await page.screenshot({ path: join(SHOTS, "preview-big.png"), fullPage: true });
});

test("a phone-sized window does not scroll sideways", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, "preview-big-phone.png") });
  await page.locator("#big-whatif").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, "preview-big-phone-whatif.png") });
  await page.locator("#big-listings").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, "preview-big-phone-listings.png") });
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("the page never downloaded the export, and threw nothing", () => {
  const api = requests.filter((r) => r.url.pathname.startsWith("/v1/"));
  const byRoute = {};
  for (const r of api) {
    const route = `${r.method} ${r.url.pathname.replace(/\/v1\/(items|jobs)\/.*/, "/v1/$1/…")}`;
    byRoute[route] = (byRoute[route] ?? 0) + 1;
  }
  console.log(`the page's API requests: ${JSON.stringify(byRoute)}`);
  assert.equal(requests.filter((r) => r.url.pathname === "/v1/export").length, 0, "GET /v1/export was requested");
  assert.ok(byRoute["GET /v1/jobs/…"] >= 1, "the channel-wide what-if polled its job");
  assert.deepEqual(pageErrors, []);
});
