// The dashboard's time to interactive against the demo data: `imprint serve --demo` on a fresh
// SQLite database, log in as the demo label, and time a cold load of the dashboard until its
// figures are on screen. `IMPRINT_BIN=… node scripts/measure-dashboard.mjs`
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startBrowser, webDir } from '../e2e/harness.mjs';

const dir = mkdtempSync(join(tmpdir(), 'imprint-demo-'));
const port = await freePort();
const child = spawn(process.env.IMPRINT_BIN, ['serve', '--demo'], {
  cwd: dir,
  stdio: 'ignore',
  env: { PATH: process.env.PATH, IMPRINT_DATA_DIR: dir, IMPRINT_LISTEN: `127.0.0.1:${port}`, IMPRINT_WEB_DIR: join(webDir, 'dist'), RUST_LOG: 'warn' },
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 200));
}
const login = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: 'mutation { login(input: {email: "demo@imprint.test", password: "imprint-demo-2026"}) { token } }' }),
}).then((r) => r.json());
const token = login.data.login.token;
const browser = await startBrowser();
const page = await browser.newPage();
await page.goto(`${base}/`);
await page.evaluate((t) => sessionStorage.setItem('imprint.token', t), token);
const times = [];
for (let i = 0; i < 5; i++) {
  const started = Date.now();
  await page.reload();
  await page.getByTestId('total-earnings').waitFor();
  await page.locator('.chart canvas').waitFor();
  times.push(Date.now() - started);
}
const nav = await page.evaluate(() => JSON.stringify(performance.getEntriesByType('navigation')[0]?.toJSON?.() ?? {}));
console.log(`dashboard interactive after reload (ms): ${times.join(', ')}; median ${times.sort((a, b) => a - b)[2]}`);
console.log(`navigation timing: domInteractive ${JSON.parse(nav).domInteractive?.toFixed?.(0)} ms`);
await browser.close();
child.kill('SIGTERM');
