// Turns a run's rows into the report a person reads (Markdown) and a chart (SVG, no dependencies).
import { fmt } from './harness.mjs';

const isOurs = (row) => row.impl.startsWith('offloop');

/** Rows grouped in order of first appearance, per section. */
function groups(rows) {
  const map = new Map();
  for (const row of rows) {
    const key = `${row.section}\u0000${row.group}`;
    if (!map.has(key)) map.set(key, { section: row.section, group: row.group, rows: [] });
    map.get(key).rows.push(row);
  }
  return [...map.values()];
}

/** Throughput of the row: ops/s, or a row's own figure (server rows use `opsPerSec` as login/s). */
const speed = (row) => row.opsPerSec ?? 0;

/** offloop's best row against the best peer of the group. */
export function ratioVsBestPeer(group) {
  const ours = group.rows.filter(isOurs);
  // A reference row (e.g. synchronous work shown beside async calls) is drawn but is no peer.
  const peers = group.rows.filter((r) => !isOurs(r) && !r.reference);
  if (!ours.length || !peers.length) return undefined;
  const bestPeer = peers.reduce((a, b) => (speed(b) > speed(a) ? b : a));
  const bestOurs = ours.reduce((a, b) => (speed(b) > speed(a) ? b : a));
  return { ratio: speed(bestOurs) / speed(bestPeer), bestPeer, bestOurs };
}

export function markdown(result) {
  const m = result.machine;
  const out = [
    '# offloop benchmark report',
    '',
    `${result.quick ? '**Quick smoke run (short durations, small sizes): not for quoting.** ' : ''}` +
      `Run ${result.date} on ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB, ${m.platform}, Node ${m.node}; ${result.durationSec} s in all.` +
      (m.loadAverage ? ` Load average (1 min) ${m.loadAverage.start.toFixed(1)} at the start, ${m.loadAverage.end.toFixed(1)} at the end.` : ''),
    '',
    'Every row of a group does the same work with the same parameters, in the same run. ' +
      '**Bold** ratio: offloop against the fastest peer of its group (>1 = offloop faster). ' +
      'Loop delay: how late the event loop ran while the row ran (p99 from `monitorEventLoopDelay`, max from a 1 ms timer probe); ' +
      'near 0 means the server stays responsive. Longest stall outside GC: the longest probe gap less the scavenge and mark-compact pauses V8 reported inside it ' +
      '(incremental marking is counted as outside, so this can only overstate what the code under test did); GC pause: the longest such pause in the row. CPU: % of one core. RSS: peak resident memory of the process during the row.',
    '',
    'Versions: ' + Object.entries(result.versions).map(([k, v]) => `${k} ${v}`).join(', '),
    '',
  ];
  let section = '';
  for (const g of groups(result.rows)) {
    if (g.section !== section) {
      section = g.section;
      out.push(`## ${section}`, '');
      for (const n of result.notes.filter((n) => n.section === section)) out.push(`- ${n.text}`);
      out.push('');
    }
    const r = ratioVsBestPeer(g);
    out.push(`### ${g.group}${r ? ` — offloop **${r.ratio.toFixed(2)}x** vs ${r.bestPeer.impl}` : ''}`, '');
    if (g.rows.some((row) => row.fileP99Ms !== undefined)) {
      out.push(serverTable(g.rows), '');
      continue;
    }
    out.push('| implementation | params | in flight | ops/s | MB/s | p50 ms | p99 ms | loop delay p99 / max ms | longest stall outside GC / GC pause ms | CPU % | RSS MB |');
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of g.rows) {
      const name = isOurs(row) ? `**${row.impl}**` : `${row.impl}${row.reference ? ' (reference)' : ''}`;
      out.push(
        `| ${name} | ${row.params ?? ''} | ${row.inFlight ?? ''} | ${fmt(row.opsPerSec)} | ${fmt(row.mbPerSec)} | ${fmt(row.p50Ms)} | ${fmt(row.p99Ms)} | ${fmt(row.loopDelayP99Ms)} / ${fmt(row.loopDelayMaxMs)} | ${row.loopStallOutsideGcMaxMs === undefined ? '-' : `${fmt(row.loopStallOutsideGcMaxMs)} / ${fmt(row.gcPauseMaxMs)}`} | ${row.cpuPercent === undefined ? '-' : Math.round(row.cpuPercent)} | ${fmt(row.peakRssMb)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

/** Server rows: login throughput and the latency of the probes that ran beside the load. */
function serverTable(rows) {
  const unit = rows[0].unit ?? 'login';
  const lines = [
    `| server variant | ${unit}/s | ${unit} p50 / p99 ms | errors | /health p50 / p99 / max ms | /file p50 / p99 / max ms |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const name = isOurs(row) ? `**${row.impl}**` : `${row.impl}${row.reference ? ' (reference)' : ''}`;
    lines.push(
      `| ${name} | ${fmt(row.opsPerSec)} | ${fmt(row.p50Ms)} / ${fmt(row.p99Ms)} | ${row.errors ?? 0} | ${fmt(row.healthP50Ms)} / ${fmt(row.healthP99Ms)} / ${fmt(row.healthMaxMs)} | ${fmt(row.fileP50Ms)} / ${fmt(row.fileP99Ms)} / ${fmt(row.fileMaxMs)} |`,
    );
  }
  return lines.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * One panel per group that has offloop and a peer: a bar per implementation with its throughput
 * relative to the group's fastest, and its worst event-loop stall written beside it.
 */
export function svg(result) {
  const gs = groups(result.rows).filter((g) => ratioVsBestPeer(g));
  const W = 1150;
  const barH = 16;
  const labelW = 360;
  const barMax = 380;
  let y = 50;
  const parts = [];
  for (const g of gs) {
    const best = Math.max(...g.rows.map(speed));
    const r = ratioVsBestPeer(g);
    parts.push(
      `<text x="10" y="${y}" class="g">${esc(`${g.section}: ${g.group}`)} — offloop ${r.ratio.toFixed(2)}x best peer</text>`,
    );
    y += 8;
    for (const row of g.rows) {
      const w = best > 0 ? Math.max(1, (speed(row) / best) * barMax) : 1;
      const cls = isOurs(row) ? 'ours' : 'peer';
      parts.push(`<text x="${labelW - 6}" y="${y + 12}" class="l">${esc(row.impl)}${row.reference ? ' (reference)' : ''}</text>`);
      parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" class="${cls}"/>`);
      const delay =
        row.fileP99Ms !== undefined
          ? ` ${row.unit ?? 'login'}/s, /file p99 ${fmt(row.fileP99Ms)} ms`
          : ` ops/s${row.loopDelayMaxMs === undefined ? '' : `, loop stall ${fmt(row.loopDelayMaxMs)} ms`}`;
      parts.push(`<text x="${labelW + w + 6}" y="${y + 12}" class="v">${fmt(speed(row))}${esc(delay)}</text>`);
      y += barH;
    }
    y += 22;
  }
  const H = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:18px;font-weight:bold}.g{font-size:13px;font-weight:bold}.l{font-size:12px;text-anchor:end}.v{font-size:11px;fill:#333}.ours{fill:#2b7a3d}.peer{fill:#9aa5b1}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="26" class="t">offloop vs peers: throughput (bar, relative to the fastest) and worst event-loop stall</text>
${parts.join('\n')}
</svg>
`;
}
