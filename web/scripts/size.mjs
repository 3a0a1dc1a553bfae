// Prints the initial JavaScript (what index.html loads before any route chunk), gzipped, and fails over budget.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET = 250 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
const gz = (f) => gzipSync(readFileSync(join(dist, f))).length;
const initialBytes = initial.reduce((sum, f) => sum + gz(f), 0);
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const allBytes = all.reduce((sum, f) => sum + gz(join('assets', f)), 0);
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
console.log(`initial JS: ${kb(initialBytes)} gzipped (${initial.join(', ')}); budget ${kb(BUDGET)}; all JS: ${kb(allBytes)} in ${all.length} files`);
if (initialBytes > BUDGET) {
  console.error('initial JavaScript over budget');
  process.exit(1);
}
