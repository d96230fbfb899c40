// piscina worker: the JS NDJSON loop of the json section, on a worker thread (the "just use a worker
// pool" answer). Same filter and projection as benchmark/sections/json.mjs.
export default function ({ text }) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (r.status >= 500 || r.latency_ms > 900) {
      out.push(JSON.stringify({ id: r.id, path: r.path, user: r.user.name, latency_ms: r.latency_ms }));
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}
