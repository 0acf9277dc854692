#!/usr/bin/env node
// A CPU profile of the Worker's isolate (the Ledger Durable Object runs in it) under
// `wrangler dev`, over the V8 inspector that workerd exposes (`--inspector-port`), while a
// shell command makes the load. Prints the functions with the most self time, and writes the
// whole profile (open it in Chrome DevTools' Performance panel) to out/profile-<name>.cpuprofile.
//
//   INSPECTOR_PORT=9229 node scripts/bench/profile.mjs NAME 'LOAD COMMAND'
//
// Start the worker with INSPECTOR_PORT set (scripts/wrangler-dev.sh passes it through).
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
// wrangler's inspector proxy refuses Node's built-in WebSocket client; `ws` (a devDependency) works.
import WebSocket from 'ws';

const [name = 'load', command = 'sleep 5'] = process.argv.slice(2);
const port = process.env.INSPECTOR_PORT ?? '9229';
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
if (!targets.length) throw new Error(`no inspector target on port ${port}`);
const target = targets.find((t) => !/devtools|inspector/i.test(t.title ?? '')) ?? targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((ok, fail) => { ws.on('open', ok); ws.on('error', fail); });
let id = 0;
const waiting = new Map();
ws.on('message', (data) => {
  const msg = JSON.parse(String(data));
  if (msg.id && waiting.has(msg.id)) { waiting.get(msg.id)(msg); waiting.delete(msg.id); }
});
const send = (method, params = {}) => new Promise((ok) => { const n = ++id; waiting.set(n, ok); ws.send(JSON.stringify({ id: n, method, params })); });

await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 200 });
await send('Profiler.start');
const t0 = performance.now();
execSync(command, { stdio: 'inherit', shell: '/bin/bash' });
const wall = performance.now() - t0;
const { result } = await send('Profiler.stop');
ws.close();
const profile = result.profile;
mkdirSync('out', { recursive: true });
writeFileSync(`out/profile-${name}.cpuprofile`, JSON.stringify(profile));

// Self time per function from the samples.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url ? f.url.split('/').pop() : ''}`.trim();
  self.set(key, (self.get(key) ?? 0) + (dt[i + 1] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = (self.get('(idle)') ?? 0) + (self.get('(program)') ?? 0);
console.log(`profile ${name}: ${(wall / 1000).toFixed(1)} s wall, ${(total / 1e6).toFixed(2)} s sampled, of which (idle)+(program) ${(idle / 1e6).toFixed(2)} s`);
for (const [k, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30))) {
  console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
}

// Time spent outside the wasm module (the SQL API, JS glue, the runtime), charged to the
// nearest Rust function up the stack: which of our calls the platform's time is spent for.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const rustName = (n) => n.callFrame.url.includes('.wasm') ? n.callFrame.functionName.replace(/::h[0-9a-f]{16}$/, '') : null;
const outside = new Map();
let outsideTotal = 0;
for (let i = 0; i < profile.samples.length; i++) {
  let n = byId.get(profile.samples[i]);
  if (rustName(n) || ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName)) continue;
  const leaf = n.callFrame.functionName || '(anonymous)';
  while (n && !rustName(n)) n = byId.get(parent.get(n.id));
  const first = n ? rustName(n) : '(no Rust caller)';
  // ... and the nearest of our own functions above it (the platform's and the bindings' own
  // frames say what, ours say why).
  let m = n;
  while (m && !(rustName(m) ?? '').includes('stocksync')) m = byId.get(parent.get(m.id));
  const key = `${leaf} <- ${first}${m && m !== n ? ` <- ${rustName(m)}` : ''}`;
  outside.set(key, (outside.get(key) ?? 0) + (dt[i + 1] ?? 0));
  outsideTotal += dt[i + 1] ?? 0;
}
console.log(`\noutside wasm: ${(outsideTotal / 1e6).toFixed(2)} s, by the Rust function that called it:`);
for (const [k, us] of [...outside.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30))) {
  console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
}

