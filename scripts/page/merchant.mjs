// The big test merchant's names, shared by the loader (scripts/page/load-big.mjs) and the
// page's live test (tests/web/page.live.test.mjs).
export const pad = (i) => String(i).padStart(6, "0");
export const skuOf = (i) => `BIG-${pad(i)}`;
