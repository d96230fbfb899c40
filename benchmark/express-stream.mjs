// Research script (benchmark/NOTES.md, "Express: streamed responses"): the JS thread's CPU time per
// request of an Express app that streams ~115 KB of JSON in ~1 KB `res.write()` calls through a
// compressing middleware, interleaved between middlewares in one run.
//
//   node benchmark/express-stream.mjs [ROOT | compression]...
//
// Each ROOT is an offloop checkout (its `express.js` is used; default: this one); `compression` is
// the `compression` package. CPU time is the server's main thread's (/proc/<pid>/task/<pid>/stat),
// which other processes on the machine move far less than they move latency.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

if (process.argv[2] === '--serve') {
  const express = require('express');
  const middleware = process.argv[3];
  const app = express();
  app.use(middleware === 'compression' ? require('compression')() : require(`${middleware}/express.js`)());
  const rows = Array.from({ length: 1200 }, (_, i) =>
    JSON.stringify({ id: i, name: `alpha beta ${i}`, email: `user${i}@example.com`, active: i % 2 === 0, balance: i * 1.5 }) + '\n');
  app.get('/data', (req, res) => {
    res.type('application/json');
    let chunk = '';
    for (const row of rows) {
      chunk += row;
      if (chunk.length >= 1024) {
        res.write(chunk);
        chunk = '';
      }
    }
    res.end(chunk);
  });
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
} else {
  const autocannon = require('autocannon');
  const variants = process.argv.length > 2 ? process.argv.slice(2) : [root];
  const threadMs = (pid) => {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const rows = {};
  for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
    for (const variant of variants) {
      for (const encoding of ['gzip', 'br']) {
        const child = fork(fileURLToPath(import.meta.url), ['--serve', variant], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        const { port } = await new Promise((resolve) => child.once('message', resolve));
        const load = { url: `http://127.0.0.1:${port}/data`, headers: { 'accept-encoding': encoding } };
        await autocannon({ ...load, connections: 2, amount: 100 });
        const [before, load1] = [threadMs(child.pid), loadavg()[0]];
        const result = await autocannon({ ...load, connections: 8, amount: 1500 });
        const spent = threadMs(child.pid) - before;
        child.kill();
        (rows[`${variant} ${encoding}`] ??= []).push(
          `JS thread ${Math.round((spent / result.requests.total) * 1000)} µs/request, ${Math.round(result.requests.total / result.duration)} requests/s, ` +
            `p99 ${result.latency.p99} ms, ${Math.round(result.throughput.average / result.requests.average)} B/response (load ${load1.toFixed(1)})`,
        );
      }
    }
  }
  for (const [row, runs] of Object.entries(rows)) console.log(`${row}\n  ${runs.join('\n  ')}`);
}
