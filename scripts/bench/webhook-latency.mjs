// Time from an order to its push reaching a webhook receiver, measured from the moment the
// order is sent and from the moment its answer arrives, beside the order's own round trip. (The second can be negative: the
// Durable Object's alarm may deliver before the answer has travelled back through the Worker.)
//   node scripts/bench/webhook-latency.mjs <base url> <api key> [orders=100]
// Starts a receiver on 127.0.0.1, points a webhook channel at it (selling the hot sku
// SKU-0000000 from LOC-0), then places orders one at a time: each lowers the number by one, so
// every push carries a new quantity and is matched to its order by that quantity.
import http from 'node:http';

const [base, key, count = '100'] = process.argv.slice(2);
const orders = Number(count);
const auth = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
const arrivals = new Map(); // quantity -> arrival time (ms)
let waiting = null;

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const at = performance.now();
    const push = JSON.parse(body);
    arrivals.set(push.quantity, at);
    res.writeHead(200).end('ok');
    if (waiting && waiting.quantity === push.quantity) waiting.resolve();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/hook`;

async function call(method, path, body) {
  const res = await fetch(base + path, { method, headers: auth, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

await call('PUT', '/v1/channels/bench-hook', {
  locations: ['LOC-0'],
  target: { kind: 'webhook', url, secret: 'bench-secret-0123456789' },
});
await call('PUT', '/v1/mappings', [{ channel: 'bench-hook', listing: 'HOOK-0', sku: 'SKU-0000000' }]);
await new Promise((r) => setTimeout(r, 500)); // the first push (the mapping's) arrives

const fromAnswer = [];
const fromRequest = [];
const answers = []; // the order's own round trip, for comparison
for (let i = 0; i < orders; i++) {
  const sent = performance.now();
  const out = await call('POST', '/v1/orders', {
    channel: 'bench-hook', order: `LAT-${Date.now()}-${i}`, location: 'LOC-0', lines: [{ sku: 'SKU-0000000', qty: 1 }],
  });
  const answered = performance.now();
  const push = out.pushes.find((p) => p.channel === 'bench-hook');
  if (!push) throw new Error('the order planned no push to the webhook channel');
  if (!arrivals.has(push.quantity)) {
    await new Promise((resolve, reject) => {
      waiting = { quantity: push.quantity, resolve };
      setTimeout(() => reject(new Error(`push of ${push.quantity} did not arrive in 10 s`)), 10000);
    });
  }
  answers.push(answered - sent);
  fromAnswer.push(arrivals.get(push.quantity) - answered);
  fromRequest.push(arrivals.get(push.quantity) - sent);
}
server.close();
const summary = (xs) => {
  xs.sort((a, b) => a - b);
  const q = (p) => +xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(1);
  return { p50_ms: q(0.5), p99_ms: q(0.99), max_ms: +xs.at(-1).toFixed(1) };
};
console.log(JSON.stringify({ orders, from_request: summary(fromRequest), from_answer: summary(fromAnswer), answer: summary(answers) }));
