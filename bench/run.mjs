// `npm run bench`: runs every compiled bench/*.bench.js (each exports `run(): Promise<BenchRow[]>`)
// one after another, then prints one table. `npm run bench -- event-store` runs only matching files.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const distBench = path.join(here, '..', 'dist', 'bench');
const filter = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const files = readdirSync(distBench)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();

const rows = [];
for (const f of files) {
  const mod = await import(pathToFileURL(path.join(distBench, f)).href);
  const started = Date.now();
  process.stderr.write(`running ${f} …\n`);
  try {
    rows.push(...(await mod.run()));
  } catch (err) {
    rows.push({ benchmark: f, metric: 'error', value: NaN, unit: '', note: String(err?.stack ?? err).split('\n')[0] });
  }
  process.stderr.write(`  ${f} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

const tableModule = await import(pathToFileURL(path.join(distBench, 'support', 'table.js')).href);
const meetsGoal = tableModule.meetsGoal ?? tableModule.default.meetsGoal;
const fmt = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : String(v));
const table = rows.map((r) => {
  const ok = meetsGoal(r);
  return [r.benchmark, r.metric, `${fmt(r.value)} ${r.unit}`.trim(), r.goal ?? '', ok === undefined ? '' : ok ? 'yes' : 'NO', r.note ?? ''];
});
const header = ['benchmark', 'metric', 'value', 'goal', 'met', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString()}`);
console.log(line(header));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const row of table) console.log(line(row));
