// Starts what the browser tests need: a real `imprint serve` on a fresh SQLite database in a temp
// dir on a free port, the built portal in front of it, and Debian's Chromium (playwright-core).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const webDir = resolve(new URL('..', import.meta.url).pathname);
export const repoDir = resolve(webDir, '..');
export const screenshotsDir = join(webDir, 'screenshots');

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitFor(url, ms, what) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return r;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready at ${url} within ${ms} ms: ${last}`);
}

/** `imprint serve` from IMPRINT_BIN (cargo builds it) on a fresh SQLite database. */
export async function startServer() {
  const bin = process.env.IMPRINT_BIN;
  if (!bin || !existsSync(bin)) {
    throw new Error(`IMPRINT_BIN must name the imprint binary (cargo build --bin imprint), got ${bin ?? 'nothing'}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'imprint-portal-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? dir,
    IMPRINT_DATA_DIR: dir,
    IMPRINT_DATABASE_URL: `sqlite://${dir}/imprint.db?mode=rwc`,
    IMPRINT_QUEUE_URL: `sqlite://${dir}/imprint-queue.db?mode=rwc`,
    IMPRINT_FILE_STORE: join(dir, 'files'),
    IMPRINT_LISTEN: `127.0.0.1:${port}`,
    IMPRINT_WEB_DIR: join(webDir, 'dist'),
    IMPRINT_LOG_FORMAT: 'json',
    RUST_LOG: 'warn',
  };
  const log = [];
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitFor(`${base}/readyz`, 60_000, 'imprint serve'),
      exited.then((code) => {
        throw new Error(`imprint serve exited (${code}): ${log.join('').slice(-2000)}`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    base,
    dir,
    log,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * The portal's address: `imprint serve` itself when it serves the built app at `/`, else
 * `vite preview` of `web/dist` proxying `/graphql` to it.
 */
export async function startPortal(apiBase) {
  if (!existsSync(join(webDir, 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  const home = await fetch(`${apiBase}/`).then((r) => (r.ok ? r.text() : ''), () => '');
  if (home.includes('id="root"')) return { url: apiBase, served: 'imprint serve', async stop() {} };
  process.env.IMPRINT_API = apiBase;
  const { preview } = await import('vite');
  const port = await freePort();
  const server = await preview({ root: webDir, logLevel: 'warn', preview: { host: '127.0.0.1', port, strictPort: true } });
  return {
    url: `http://127.0.0.1:${port}`,
    served: 'vite preview',
    async stop() {
      await new Promise((r) => server.httpServer.close(r));
    },
  };
}

export async function startBrowser() {
  const executablePath = process.env.IMPRINT_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium is missing at ${executablePath}: apt-get install chromium (.ci/run does it when missing)`);
  }
  mkdirSync(screenshotsDir, { recursive: true });
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

const axeSource = readFileSync(join(webDir, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core in the page: the WCAG 2.1 A/AA violations of serious or critical impact. */
export async function axe(page) {
  // Evaluated over the DevTools protocol: the portal's Content-Security-Policy allows no inline script.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A DistroKid bank export: 13 tab-separated columns, CRLF, like the real ones. */
export function distroKid(rows) {
  const header = 'Reporting Date\tSale Month\tStore\tArtist\tTitle\tISRC\tUPC\tQuantity\tTeam Percentage\tSong/Album\tCountry of Sale\tSongwriter Royalties Withheld\tEarnings (USD)';
  const lines = rows.map((r) => ['2025-02-28', r.month, r.store, r.artist, r.title, r.isrc, '', String(r.quantity), '100', 'Song', r.country, '0', r.amount].join('\t'));
  return Buffer.from([header, ...lines].join('\r\n') + '\r\n', 'utf8');
}
