// The benchmark's results as a terminal table and as an SVG bar chart.
import { PEERS, PEER_LABELS } from './workloads.mjs';
import { renderProgramsTable } from './programs.mjs';

const seconds = (s) => (s >= 10 ? s.toFixed(2) : s >= 1 ? s.toFixed(3) : s >= 0.001 ? `${(s * 1000).toFixed(1)} m` : `${(s * 1e6).toFixed(0)} µ`) + 's';
const ratio = (r) => (r === null || r === undefined ? '-' : r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)) + (r == null ? '' : '×');
const round = (x, digits = 0) => (x === null || x === undefined ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ').trimEnd()).join('\n');
}

function peerCell(e) {
  if (!e) return '-';
  if (e.missing) return 'missing';
  if (e.notApplicable) return 'n/a';
  if (e.failed) return 'FAILED';
  const warn = e.startupShare > 0.05 ? '!' : '';
  return `${seconds(e.seconds)} ±${(e.spread * 100).toFixed(0)}%${warn}`;
}

export function renderTable(results) {
  const out = [];
  const o = results.options;
  out.push(`ringvisor benchmark, ${results.date.slice(0, 16).replace('T', ' ')} UTC, commit ${results.commit ?? '?'}${results.partial ? ' (partial run)' : ''}`);
  out.push(`${results.host.cpu}, ${results.host.cores} cores, ${results.host.node}; load average ${results.host.loadavg.before[0]} -> ${results.host.loadavg.after[0]}; medians of ${o.reps}${o.quick ? ', quick sizes' : ''}`);
  // Other work on the machine slows every peer and widens the spread.
  if (Math.max(results.host.loadavg.before[0], results.host.loadavg.after[0]) > results.host.cores / 2) out.push('note: the machine was busy with other work; expect noisy figures');
  if (results.workloads.length) {
    const rows = [['workload', 'size', ...PEERS.map((p) => PEER_LABELS[p]), 'x native', 'x qemu', 'x JS', 'MIPS', 'checksum']];
    for (const w of results.workloads) {
      rows.push([
        w.title, `${w.size} ${w.unit}`, ...PEERS.map((p) => peerCell(w.peers[p])),
        ratio(w.ratios.native), ratio(w.ratios.qemu), ratio(w.ratios.js),
        round(w.peers.ringvisor?.mips, 1), w.agreed ? 'agree' : 'DIFFER',
      ]);
    }
    out.push('', table(rows));
    out.push('(time of each peer: median ± median absolute deviation; x P: ringvisor\'s time / P\'s time, lower is better; ! start-up over 5% of the time)');
    const startups = PEERS.map((p) => {
      const s = results.workloads.map((w) => w.peers[p]?.startup).filter((x) => x !== undefined);
      return s.length ? `${PEER_LABELS[p]} ${seconds(Math.max(...s))}` : undefined;
    }).filter(Boolean);
    out.push(`start-up (size 0, worst workload): ${startups.join(', ')}`);
    const over = results.workloads.flatMap((w) => PEERS.filter((p) => w.peers[p]?.startupShare > 0.05).map((p) => `${w.name}/${p} ${(w.peers[p].startupShare * 100).toFixed(0)}%`));
    if (over.length) out.push(`start-up over 5% of the time: ${over.join(', ')}`);
    for (const w of results.workloads) {
      for (const p of PEERS) if (w.peers[p]?.notApplicable) out.push(`${w.name}: ${PEER_LABELS[p]} n/a: ${w.peers[p].notApplicable}`);
    }
  }
  const h = results.headline;
  const lines = [];
  if (h.mips) lines.push(['guest MIPS (integer workload)', round(h.mips.ringvisor, 1), `qemu-riscv64 ${round(h.mips.qemu, 0)}`]);
  if (h.tightLoopMips !== undefined) lines.push(['guest MIPS (two-instruction loop)', round(h.tightLoopMips, 1), '']);
  if (h.iterationsPerSecond) {
    const ips = h.iterationsPerSecond;
    lines.push(['CoreMark-style iterations/s', round(ips.ringvisor), `qemu-riscv64 ${round(ips.qemu)}, native ${round(ips.native)}, JS ${round(ips.js)}`]);
  }
  if (h.exitRoundTripNs !== undefined) lines.push(['exit round trip (ns)', round(h.exitRoundTripNs), '']);
  if (h.writeSyscallNs !== undefined) lines.push(['write system call (ns, micro)', round(h.writeSyscallNs), '']);
  if (h.syscallNs) {
    const s = h.syscallNs;
    lines.push(['write system call (ns, workload)', round(s.ringvisor), `qemu-riscv64 ${round(s.qemu)}, native ${round(s.native)}, JS ${round(s.js)}`]);
  }
  if (h.boot) lines.push(['boot to the init prompt (s)', h.boot.ringvisor?.toFixed(2) ?? '-', `qemu-system-riscv64 ${h.boot.qemu?.toFixed(2) ?? 'missing'}${h.boot.ringvisor && h.boot.qemu ? ` (${(h.boot.ringvisor / h.boot.qemu).toFixed(2)}x)` : ''}`]);
  if (h.consoleMs) lines.push(['console round trip, idle guest (ms)', h.consoleMs.ringvisor?.toFixed(1) ?? '-', `qemu-system-riscv64 ${h.consoleMs.qemu?.toFixed(1) ?? 'missing'}${h.consoleMs.ringvisor && h.consoleMs.qemu ? ` (${(h.consoleMs.ringvisor / h.consoleMs.qemu).toFixed(2)}x)` : ''}`]);
  if (h.consoleOutputSeconds) {
    const c = h.consoleOutputSeconds;
    lines.push(['console output, cat /proc/kallsyms (s)', c.ringvisor?.toFixed(2) ?? '-', `qemu-system-riscv64 ${c.qemu?.toFixed(2) ?? 'missing'}${c.ringvisor && c.qemu ? ` (${(c.ringvisor / c.qemu).toFixed(2)}x)` : ''}`]);
  }
  if (h.shellSeconds) {
    const sh = h.shellSeconds;
    lines.push(['shell script, dash (s)', sh.ringvisor?.toFixed(2) ?? '-', `qemu-riscv64 ${sh.qemu?.toFixed(2) ?? 'missing'}${sh.ringvisor && sh.qemu ? ` (${(sh.ringvisor / sh.qemu).toFixed(2)}x)` : ''}, native ${sh.native?.toFixed(2) ?? 'missing'}${sh.ringvisor && sh.native ? ` (${(sh.ringvisor / sh.native).toFixed(1)}x)` : ''}`]);
  }
  if (lines.length) out.push('', 'headline', table(lines.map((l) => [`  ${l[0]}`, l[1], l[2]])));
  if (results.boot?.missing) out.push(`boot: missing: ${results.boot.missing}`);
  if (results.console?.missing) out.push(`console round trip: missing: ${results.console.missing}`);
  if (results.shell?.missing) out.push(`shell script: missing: ${results.shell.missing}`);
  if (results.programs) out.push('', renderProgramsTable(results.programs));
  if (results.micro) {
    out.push('', 'micro-benchmarks (benchmark package; median of samples)');
    out.push(table(results.micro.rows.map((r) => [`  ${r.name}`, `${round(r.nsPerOp)} ns/op`, r.rme === undefined ? '(by hand)' : `±${r.rme.toFixed(1)}%`, `${r.samples} samples`])));
    const d = results.micro.derived;
    out.push(`  -> exit ${round(d.exitRoundTripNs)} ns, write ${round(d.writeNs)} ns, callSync ${round(d.vmcallSyncNs)} ns, call ${round(d.vmcallAsyncNs)} ns, create ${round(d.createNs / 1e6, 2)} ms (on a recycled CPU ${round(d.createRecycledNs / 1e6, 2)} ms, dispose ${round(d.disposeNs / 1e6, 2)} ms), tight loop ${round(d.tightLoopMips, 1)} MIPS`);
  }
  if (results.failures.length) out.push('', `FAILED: ${results.failures.length} problem(s), see below and "failures" in the JSON`);
  return out.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Grouped bars per workload: ringvisor's time as a multiple of native's and of qemu-riscv64's, on a log scale. */
export function renderSvg(results) {
  const series = [
    { peer: 'native', label: 'ringvisor time / native (gcc -O2)', color: '#c0392b' },
    { peer: 'qemu', label: 'ringvisor time / qemu-riscv64', color: '#2471a3' },
  ];
  const ws = results.workloads;
  const W = 860, H = 460, left = 70, right = 20, top = 78, bottom = 96;
  const plotW = W - left - right, plotH = H - top - bottom;
  const values = ws.flatMap((w) => series.map((s) => w.ratios[s.peer])).filter((r) => r > 0);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(1, ...values))));
  // Room above the tallest bar for its label; at least up to 10x.
  const hi = Math.max(10, Math.max(1, ...values) * 1.4);
  const y = (v) => top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">ringvisor's time as a multiple of native and of qemu-riscv64 (lower is better)</text>`);
  const o = results.options;
  parts.push(`<text x="${left}" y="44" fill="#555">${esc(`${results.date.slice(0, 10)}, commit ${results.commit ?? '?'}, ${results.host.cpu} (${results.host.cores} cores), ${results.host.node}; medians of ${o.reps}${results.partial ? '; partial run' : ''}; log scale`)}</text>`);
  // Legend.
  series.forEach((s, i) => {
    const x = left + i * 260;
    parts.push(`<rect x="${x}" y="54" width="12" height="12" fill="${s.color}"/><text x="${x + 18}" y="64">${esc(s.label)}</text>`);
  });
  // Grid: each power of ten, and 2x and 5x between.
  for (let d = lo; d <= hi; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi) break;
      const yy = y(v).toFixed(1);
      parts.push(`<line x1="${left}" x2="${W - right}" y1="${yy}" y2="${yy}" stroke="${m === 1 ? '#bbb' : '#eee'}"/>`);
      if (m === 1 || plotH / Math.log10(hi / lo) > 120) parts.push(`<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end" fill="#555">${v}×</text>`);
    }
  }
  const groupW = plotW / Math.max(1, ws.length);
  const barW = Math.min(48, (groupW * 0.7) / series.length);
  ws.forEach((w, gi) => {
    const gx = left + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const x = gx + si * barW;
      const r = w.ratios[s.peer];
      const peer = w.peers[s.peer];
      if (!w.agreed) {
        if (si === 0) parts.push(`<text x="${(gx + barW).toFixed(1)}" y="${(y(1) - 8).toFixed(1)}" text-anchor="middle" fill="#c00" font-weight="bold">checksums differ</text>`);
        return;
      }
      if (!(r > 0)) {
        const why = peer?.missing ? 'missing' : peer?.notApplicable ? 'n/a' : 'failed';
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(1) - 6).toFixed(1)}" text-anchor="middle" fill="#888" font-size="10">${why}</text>`);
        return;
      }
      const y0 = y(1), y1 = y(r);
      parts.push(`<rect x="${(x + 1).toFixed(1)}" y="${Math.min(y0, y1).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.abs(y0 - y1).toFixed(1)}" fill="${s.color}"><title>${esc(`${w.title}: ${r.toFixed(2)}× ${PEER_LABELS[s.peer]}`)}</title></rect>`);
      parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(Math.min(y0, y1) - 4).toFixed(1)}" text-anchor="middle" font-size="11">${r >= 10 ? r.toFixed(0) : r.toFixed(1)}×</text>`);
    });
    const cx = left + gi * groupW + groupW / 2;
    parts.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" font-weight="bold">${esc(w.title)}</text>`);
    parts.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 33}" text-anchor="middle" fill="#555" font-size="10">${esc(`${w.size} ${w.unit}`)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#333"/>`);
  const h = results.headline;
  const facts = [];
  if (h.mips?.ringvisor) facts.push(`guest ${h.mips.ringvisor.toFixed(0)} MIPS (qemu-riscv64 ${h.mips.qemu ? h.mips.qemu.toFixed(0) : '-'})`);
  if (h.iterationsPerSecond?.ringvisor) facts.push(`${Math.round(h.iterationsPerSecond.ringvisor)} integer iterations/s`);
  if (h.exitRoundTripNs !== undefined) facts.push(`exit round trip ${h.exitRoundTripNs.toFixed(0)} ns`);
  if (h.writeSyscallNs !== undefined) facts.push(`write(2) ${h.writeSyscallNs.toFixed(0)} ns`);
  if (facts.length) parts.push(`<text x="${left}" y="${H - 30}" fill="#333">${esc(`ringvisor: ${facts.join(' · ')}`)}</text>`);
  parts.push(`<text x="${left}" y="${H - 12}" fill="#888" font-size="10">${esc('npm run bench (bench/run.mjs); each bar: median time under ringvisor ÷ median time of the peer, same workload, same run')}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
