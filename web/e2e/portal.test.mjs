// The portal in a real browser against a real `imprint serve`: a label from zero, a statement
// upload with live progress, matching, a payout run to paid, and the artist watching it live.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { axe, distroKid, repoDir, screenshotsDir, startBrowser, startPortal, startServer } from './harness.mjs';

const PASSWORD = 'correct-horse-battery-9';
const STEP = Number(process.env.E2E_STEP_MS ?? 45_000);
let broken = false;
let server, portal, browser, label, artist;
const wsFrames = { label: [], artist: [] };
const a11y = [];
const cspViolations = [];

async function newPage(who, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.on('pageerror', (e) => console.error(`[${who}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspViolations.push(`[${who}] ${m.text()}`);
  });
  page.on('websocket', (ws) => ws.on('framereceived', (f) => wsFrames[who].push(String(f.payload))));
  return page;
}

async function shoot(page, name) {
  await page.screenshot({ path: join(screenshotsDir, `${name}.png`), fullPage: true });
}

async function check(page, screen) {
  const violations = await axe(page);
  a11y.push({ screen, violations });
  assert.deepEqual(violations, [], `axe on ${screen}: ${JSON.stringify(violations, null, 1)}`);
}

async function go(page, nav) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: nav }).click();
  await page.getByRole('heading', { level: 1, name: nav === 'My music' ? undefined : nav }).first().waitFor();
}

/** A GraphQL request from inside the page, with the page's own session. */
async function gql(page, query, variables = {}) {
  return page.evaluate(
    async ([query, variables]) => {
      const token = sessionStorage.getItem('imprint.token');
      const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return r.json();
    },
    [query, variables],
  );
}

async function signUp(page, name, email) {
  await page.goto(portal.url);
  await page.getByRole('button', { name: 'New here? Create an account' }).click();
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor();
}

/** A step of the story: later steps are skipped once one fails; a failure leaves a screenshot. */
function step(name, body) {
  test(name, async (t) => {
    if (broken) return t.skip('an earlier step failed');
    try {
      await body(t);
    } catch (e) {
      broken = true;
      for (const [who, page] of [['label', label], ['artist', artist]]) {
        if (page) await page.screenshot({ path: join(screenshotsDir, `failure-${who}.png`), fullPage: true }).catch(() => {});
      }
      throw e;
    }
  });
}

before(async () => {
  server = await startServer();
  portal = await startPortal(server.base);
  browser = await startBrowser();
  console.log(`portal at ${portal.url} (${portal.served}), API at ${server.base}`);
});

after(async () => {
  await browser?.close();
  await portal?.stop();
  await server?.stop();
});

step('a label from zero: sign up, organisation, artists, agreement, release, tracks, split', async () => {
  label = await newPage('label');
  await signUp(label, 'Mara Quinn', 'mara@tern.test');
  await check(label, 'onboarding');
  await label.getByLabel('Organisation name').fill('Tern Records');
  await label.getByRole('button', { name: 'Create organisation' }).click();
  await label.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();

  await go(label, 'Roster');
  for (const [name, spotify] of [['Ada Vesper', 'ada-spotify-1'], ['Bo Lind', '']]) {
    await label.getByLabel('Artist name').fill(name);
    if (spotify) await label.getByLabel('Spotify artist id (optional)').fill(spotify);
    await label.getByRole('button', { name: 'Add artist' }).click();
    await label.getByRole('heading', { level: 3, name }).waitFor();
  }
  // A mutation's userErrors show next to its field: an empty name is refused by the API.
  await label.getByLabel('Artist name').fill('   ');
  await label.getByRole('button', { name: 'Add artist' }).click();
  await label.locator('.field-error, .form-errors').first().waitFor();

  const ada = label.getByRole('article', { name: 'Ada Vesper' });
  // Not live until one of her releases is: the label sees the state, only she can claim.
  await ada.getByText('Spotify: not live yet').waitFor();
  await ada.getByLabel("Artist's share of revenue (%)").fill('50');
  await ada.getByRole('button', { name: 'Save agreement' }).click();
  await ada.getByText('The artist receives 50 % and the label 50 %', { exact: false }).waitFor();
  await ada.getByText('The label owns the masters.').waitFor();
  await check(label, 'roster');
  await shoot(label, 'roster');

  await go(label, 'Catalogue');
  const releases = [
    { artist: 'Ada Vesper', title: 'Harbour Lights', upc: '036000291452', date: '2024-06-01', track: 'Harbour Lights', isrc: 'QZAAA2500001' },
    { artist: 'Bo Lind', title: 'Night Ferry', upc: '', date: '', track: 'Night Ferry', isrc: 'QZBBB2500001' },
  ];
  for (const r of releases) {
    await label.getByLabel('Artist', { exact: true }).selectOption({ label: r.artist });
    await label.getByLabel('Title', { exact: true }).fill(r.title);
    if (r.upc) {
      // Validated as you type: a wrong check digit is named before anything is sent.
      await label.getByLabel('UPC (optional)').fill('036000291453');
      await label.getByText('UPC check digit is 3, expected 2').waitFor();
      assert.equal(await label.getByRole('button', { name: 'Add release' }).isDisabled(), true);
      await label.getByLabel('UPC (optional)').fill(r.upc);
      await label.getByText('Valid UPC').waitFor();
    }
    if (r.date) await label.getByLabel('Release date (optional)').fill(r.date);
    await label.getByRole('button', { name: 'Add release' }).click();
    const card = label.getByRole('article', { name: r.title });
    await card.waitFor();
    await card.getByLabel('Track title').fill(r.track);
    await card.getByLabel('ISRC').fill('QZ-AAA-25-0000');
    await card.getByText('ISRC must be 12 characters (without hyphens or spaces), got 11').waitFor();
    await card.getByLabel('ISRC').fill(r.isrc);
    await card.getByText('Valid ISRC').waitFor();
    await card.getByRole('button', { name: 'Add track' }).click();
    await card.getByText(r.isrc).waitFor();
  }

  // Ada's split: her payee and Bo's (a feature), summed live, 100.00 shown shared out.
  const split = label.getByRole('form', { name: 'Split of Harbour Lights' });
  await split.getByLabel('Payee 1', { exact: true }).selectOption({ label: 'Ada Vesper' });
  await split.getByLabel('Share of payee 1 in percent').fill('70');
  await split.getByTestId('split-total').filter({ hasText: '70 %' }).waitFor();
  await split.getByText('30 % left to assign').waitFor();
  assert.equal(await split.getByRole('button', { name: 'Save split' }).isDisabled(), true);
  await split.getByRole('button', { name: 'Add payee' }).click();
  await split.getByLabel('Payee 2', { exact: true }).selectOption({ label: 'Bo Lind' });
  await split.getByLabel('Share of payee 2 in percent').fill('30');
  await split.getByTestId('split-total').filter({ hasText: '100 %' }).waitFor();
  await split.getByRole('cell', { name: '$70.00' }).waitFor();
  await split.getByRole('cell', { name: '$30.00' }).waitFor();
  await split.getByRole('button', { name: 'Save split' }).click();
  await split.getByText('Split saved.').waitFor();

  const boSplit = label.getByRole('form', { name: 'Split of Night Ferry' });
  await boSplit.getByLabel('Payee 1', { exact: true }).selectOption({ label: 'Bo Lind' });
  await boSplit.getByRole('button', { name: 'Save split' }).click();
  await boSplit.getByText('Split saved.').waitFor();

  // The status lifecycle, with the API's reasons shown beside the buttons when a move is refused.
  const ferry = label.getByRole('article', { name: 'Night Ferry' });
  await ferry.getByRole('button', { name: 'Mark live' }).click();
  await ferry.getByText('a release needs a UPC before it is delivered').waitFor();
  const harbour = label.getByRole('article', { name: 'Harbour Lights' });
  await harbour.getByRole('button', { name: 'Mark live' }).click();
  await harbour.getByText('Live', { exact: true }).waitFor();
  await check(label, 'catalogue');
  await shoot(label, 'catalogue');
});

step('the artist is invited and logs in separately: she sees her things only', async () => {
  await go(label, 'Settings');
  await label.getByLabel('Email').fill('ada@vesper.test');
  await label.getByLabel('Role').selectOption('ARTIST');
  await label.getByLabel('Artist', { exact: true }).selectOption({ label: 'Ada Vesper' });
  await label.getByRole('button', { name: 'Invite' }).click();
  const code = (await label.getByTestId('invitation-code').textContent()).trim();
  assert.ok(code.length > 10, 'an invitation code is shown');
  await check(label, 'settings');
  await shoot(label, 'settings');

  artist = await newPage('artist');
  await signUp(artist, 'Ada Vesper', 'ada@vesper.test');
  await artist.getByLabel('Invitation code').fill(code);
  await artist.getByRole('button', { name: 'Join' }).click();
  await artist.getByRole('heading', { level: 1, name: 'Ada Vesper' }).waitFor();
  await artist.getByText('No payouts yet.').waitFor();
  await artist.getByText('The artist receives 50 % and the label 50 %', { exact: false }).waitFor();
  // Her release is live now: her Spotify profile can be claimed, by her.
  await artist.getByText('Spotify: not claimed').waitFor();
  await artist.getByRole('button', { name: 'Claim Spotify' }).click();
  await artist.getByText('Spotify: claimed').waitFor();

  // Split consent: the label changes her share now that she speaks for herself; she confirms it.
  await go(label, 'Catalogue');
  const split = label.getByRole('form', { name: 'Split of Harbour Lights' });
  await split.getByLabel('Share of payee 1 in percent').fill('60');
  await split.getByLabel('Share of payee 2 in percent').fill('40');
  await split.getByLabel('Effective from').fill('2024-06-01');
  await split.getByRole('button', { name: 'Save split' }).click();
  await split.getByTestId('split-consent').filter({ hasText: 'Waiting for Ada Vesper to confirm.' }).waitFor();
  await artist.reload();
  await artist.getByRole('button', { name: 'Confirm my share of Harbour Lights' }).click();
  await artist.getByText('Ada Vesper 60 % — confirmed').waitFor();
  await label.reload();
  await label.getByRole('form', { name: 'Split of Harbour Lights' }).getByTestId('split-consent').filter({ hasText: 'Every payee has confirmed.' }).waitFor();
  const body = await artist.locator('body').innerText();
  assert.ok(!body.includes('Night Ferry') && !body.includes('Bo Lind:'), 'nothing of another artist on her page');
  // Not by id either: Bo's release is "not found" for her.
  const bo = await gql(label, 'query($org: ID!) { organization(id: $org) { releases(first: 10) { nodes { id title } } } }', {
    org: (await gql(label, '{ viewer { organizations { id } } }')).data.viewer.organizations[0].id,
  });
  const ferry = bo.data.organization.releases.nodes.find((r) => r.title === 'Night Ferry');
  const seen = await gql(artist, 'query($id: ID!) { node(id: $id) { id } }', { id: ferry.id });
  assert.equal(seen.data.node, null, 'another artist’s release is not found');
});

step('a statement upload with live progress, and matching an unmatched identifier', async () => {
  await go(label, 'Statements');
  const file = distroKid([
    { month: '2025-01', store: 'Spotify', artist: 'Ada Vesper', title: 'Harbour Lights', isrc: 'QZAAA2500001', quantity: 4000, country: 'US', amount: '120.00' },
    { month: '2025-01', store: 'Apple Music', artist: 'Ada Vesper', title: 'Harbour Lights', isrc: 'QZAAA2500001', quantity: 2000, country: 'GB', amount: '80.00' },
    { month: '2025-01', store: 'Deezer', artist: 'Bo Lind', title: 'Night Ferry', isrc: 'QZBBB2500001', quantity: 900, country: 'FR', amount: '60.00' },
    { month: '2025-01', store: 'Spotify', artist: 'Ada Vesper', title: 'Harbour Lights (Live at Vega)', isrc: 'QZZZZ2599999', quantity: 1500, country: 'DE', amount: '40.00' },
    { month: '2025-01', store: 'Tidal', artist: 'Ada Vesper', title: 'Harbour Lights (Live at Vega)', isrc: 'QZZZZ2599999', quantity: 500, country: 'NO', amount: '10.00' },
  ]);
  // The drop zone's file input (what a drop hands over too).
  await label.locator('input[type=file]').setInputFiles({ name: 'distrokid-2025-01.tsv', mimeType: 'text/tab-separated-values', buffer: file });
  await label.getByRole('heading', { level: 2, name: 'distrokid-2025-01.tsv' }).waitFor();
  await label.getByTestId('statement-status').filter({ hasText: 'Parsed' }).waitFor();
  assert.ok(
    wsFrames.label.some((f) => f.includes('statementProgress')),
    'progress came over graphql-ws (statementProgress)',
  );
  await label.getByTestId('unmatched-count').filter({ hasText: '2 lines' }).waitFor();
  await check(label, 'statements');
  await shoot(label, 'statements');

  // Grouped by identifier on the server (Statement.unmatchedIdentifiers), with the group's
  // exact revenue and the look-alike track suggested first: one click to match.
  const group = label.locator('.unmatched-group', { hasText: 'QZZZZ2599999' });
  await group.getByText('2 lines').waitFor();
  assert.equal(await group.getByTestId('group-revenue').textContent(), '$50.00', 'the group’s total comes from the server');
  const queue = await gql(label, 'query($id: ID!) { statement(id: $id) { unmatchedIdentifiers(first: 10) { totalCount nodes { identifier lineCount revenue { amount } suggestions { reason track { title } } } } } }', {
    id: (await gql(label, '{ viewer { organizations { statements(first: 1) { nodes { id } } } } }')).data.viewer.organizations[0].statements.nodes[0].id,
  });
  const groups = queue.data.statement.unmatchedIdentifiers;
  assert.equal(groups.totalCount, 1, 'one unmatched identifier');
  assert.deepEqual(groups.nodes[0].suggestions[0], { reason: 'TITLE_ARTIST', track: { title: 'Harbour Lights' } });
  const chosen = await group.getByLabel('Track for QZZZZ2599999').locator('option:checked').textContent();
  assert.match(chosen, /^★ Harbour Lights — Harbour Lights \(Ada Vesper\), title and artist alike$/, 'the suggested track is chosen');
  await check(label, 'unmatched queue');
  await group.getByRole('button', { name: 'Match' }).click();
  await label.getByText('Matched 2 lines of QZZZZ2599999.').waitFor();
  await label.getByTestId('unmatched-count').filter({ hasText: '0 lines' }).waitFor();
});

step('a payout run through to paid, and the artist sees her payout arrive live', async () => {
  // Allocation runs in the worker after parsing: wait until the statement is allocated.
  const until = Date.now() + STEP;
  for (;;) {
    const r = await gql(label, '{ viewer { organizations { statements(first: 5) { nodes { allocationStatus } } } } }');
    if (r.data.viewer.organizations[0].statements.nodes.every((s) => s.allocationStatus === 'ALLOCATED')) break;
    assert.ok(Date.now() < until, 'statement allocated in time');
    await new Promise((r) => setTimeout(r, 300));
  }
  const artistFramesBefore = wsFrames.artist.length;

  await go(label, 'Money');
  await label.getByLabel('Pay earnings up to').fill('2025-01-31');
  await label.getByRole('button', { name: 'Start payout run' }).click();
  const run = label.getByRole('article', { name: 'Run to 2025-01-31' });
  await run.getByTestId('run-status').filter({ hasText: 'Ready for review' }).waitFor();
  await run.getByRole('rowheader', { name: 'Ada Vesper' }).waitFor();
  await run.getByRole('button', { name: 'Approve run' }).click();
  await run.getByTestId('run-status').filter({ hasText: 'Approved' }).waitFor();
  const download = label.waitForEvent('download');
  await run.getByRole('button', { name: 'Export CSV' }).click();
  assert.match((await download).suggestedFilename(), /payout-run-2025-01-31\.csv/);
  // The server's payment files: payees without payment details are named, not silently left out.
  await run.getByRole('region', { name: 'Payment files' }).getByTestId('unpayable').getByText(/Ada Vesper/).waitFor();
  for (const input of await run.getByLabel(/Payment reference for/).all()) {
    const who = (await input.getAttribute('aria-label')).replace('Payment reference for ', '');
    await input.fill(`TX-${who.split(' ')[0].toUpperCase()}`);
  }
  await check(label, 'money');
  await run.getByRole('button', { name: 'Mark paid' }).click();
  await run.getByTestId('run-status').filter({ hasText: 'Paid' }).waitFor();
  await label.getByText('The books balance.').waitFor();
  await shoot(label, 'money');

  // The artist's page was never reloaded: the payout arrived over payoutUpdates.
  await artist.getByTestId('artist-payout-status').filter({ hasText: 'paid (TX-ADA)' }).waitFor();
  assert.ok(
    wsFrames.artist.slice(artistFramesBefore).some((f) => f.includes('payoutUpdates')),
    'the artist got payoutUpdates over graphql-ws',
  );
  const rows = await artist.getByTestId('artist-payout').count();
  assert.equal(rows, 1, 'one payout: hers');
  const body = await artist.locator('body').innerText();
  assert.ok(!body.includes('Night Ferry') && !body.includes('TX-BO'), 'nothing of another artist');
  await check(artist, 'artist');
  await shoot(artist, 'artist');
});

step('the new screens: an advance, the payout settings, editing an artist and recording her leaving', async () => {
  // An advance: the server's error shows next to its field, then it is recorded and listed.
  await go(label, 'Money');
  const advance = label.getByRole('form', { name: 'Add an advance or expense' });
  await advance.getByLabel('Description').fill('Tour van');
  const amount = advance.getByLabel(/^Amount/);
  await amount.fill('-5');
  await advance.getByLabel('Recouped from').selectOption({ index: 1 });
  await advance.getByRole('button', { name: 'Add' }).click();
  await advance.getByText('the amount must be more than zero').waitFor();
  assert.equal(await amount.getAttribute('aria-invalid'), 'true', 'the amount field is marked invalid');
  const described = await amount.getAttribute('aria-describedby');
  assert.match(await label.locator(`[id="${described}"]`).textContent(), /more than zero/, 'the error is read with its field');
  await check(label, 'money, an error next to its field');
  await amount.fill('250.50');
  await advance.getByRole('button', { name: 'Add' }).click();
  await advance.getByRole('status').filter({ hasText: 'Advance “Tour van” recorded.' }).waitFor();
  await label.getByTestId('recoupables').getByText('Tour van', { exact: false }).waitFor();

  // Payout settings: hold unconfirmed splits, pay reconciled money only.
  await go(label, 'Settings');
  const payouts = label.getByRole('form', { name: 'Payouts' });
  await payouts.getByLabel('Hold their money until every payee confirms').check();
  await payouts.getByLabel('Pay only reconciled money').check();
  await payouts.getByRole('button', { name: 'Save payout settings' }).click();
  await payouts.getByText('Payout settings saved.').waitFor();
  const orgId = (await gql(label, '{ viewer { organizations { id } } }')).data.viewer.organizations[0].id;
  const saved = await gql(label, 'query($org: ID!) { organization(id: $org) { unconfirmedSplits payoutsReconciledOnly } }', { org: orgId });
  assert.deepEqual(saved.data.organization, { unconfirmedSplits: 'HOLD', payoutsReconciledOnly: true });
  await check(label, 'settings, payouts');

  // 99 more artists: the roster's first page stops at 100, the rest come with "load more".
  const many = Array.from({ length: 99 }, (_, i) => `a${i}: createArtist(input: {organizationId: $org, name: "Guest ${String(i).padStart(2, '0')}"}) { artist { id } }`).join(' ');
  const made = await gql(label, `mutation($org: ID!) { ${many} }`, { org: orgId });
  assert.equal(made.errors, undefined, JSON.stringify(made.errors));
  await go(label, 'Roster');
  await label.getByRole('button', { name: 'Load more artists (100 of 101 shown)' }).click();
  await label.getByRole('article', { name: 'Guest 98' }).waitFor();
  assert.equal(await label.getByRole('article').count(), 101, 'every artist, over two pages');

  // Editing an artist: an empty name is refused next to the field; a sort name is saved.
  const bo = label.getByRole('article', { name: 'Bo Lind' });
  await bo.getByText('Edit Bo Lind').click();
  const edit = bo.getByRole('form', { name: 'Edit Bo Lind' });
  await edit.getByLabel('Name', { exact: true }).fill('');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.getByText('an artist needs a name').waitFor();
  assert.equal(await edit.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
  await edit.getByLabel('Name', { exact: true }).fill('Bo Lind');
  await edit.getByLabel('Sort name (optional)').fill('Lind, Bo');
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await check(label, 'roster, editing an artist');

  // Recording her leaving says what the exit terms did, and she moves to the artists who left.
  await bo.getByText('Record Bo Lind leaving').click();
  await bo.getByRole('form', { name: 'Record Bo Lind leaving' }).getByRole('button', { name: 'Record leaving' }).click();
  const exit = label.locator('.exit-result');
  await exit.getByText(/Bo Lind left on \d{4}-\d{2}-\d{2}\./).waitFor();
  assert.match(await exit.textContent(), /releases? (stay up|was taken down|were taken down)/, 'the exit says what happened to her releases');
  await check(label, 'roster, an artist leaving');
  await label.getByRole('region', { name: 'Artists who left' }).getByRole('listitem').filter({ hasText: 'Bo Lind' }).waitFor();
  const left = await gql(label, 'query($org: ID!) { organization(id: $org) { artists(first: 10) { nodes { name sortName leftOn } } } }', { org: orgId });
  const boNow = left.data.organization.artists.nodes.find((a) => a.name === 'Bo Lind');
  assert.equal(boNow.sortName, 'Lind, Bo');
  assert.ok(boNow.leftOn, 'her leaving is recorded');
});

step('the dashboards: label and artist, desktop and phone width', async () => {
  // The label sees the claim the artist made.
  await go(label, 'Roster');
  await label.getByRole('article', { name: 'Ada Vesper' }).getByText('Spotify: claimed').waitFor();
  await go(label, 'Dashboard');
  await label.getByTestId('total-earnings').filter({ hasText: '$310.00' }).waitFor();
  await label.getByRole('table', { name: 'By store' }).getByText('Spotify').waitFor();
  await label.getByRole('table', { name: 'Top tracks' }).getByText('Harbour Lights', { exact: false }).waitFor();
  await label.locator('.chart canvas').waitFor();
  // The default period's months, exactly: twelve, those without sales as zeros.
  assert.equal(await label.getByTestId('month-table').locator('tr').count(), 12, 'twelve months in the default period');
  await check(label, 'dashboard');
  await shoot(label, 'dashboard');
  // Filters: Bo's release alone.
  await label.getByLabel('Release').selectOption({ label: 'Night Ferry' });
  await label.getByRole('table', { name: 'By store' }).getByText('Spotify').waitFor({ state: 'detached' });
  await label.getByRole('table', { name: 'By store' }).getByText('Deezer').waitFor();
  await label.getByTestId('total-earnings').filter({ hasText: '$60.00' }).waitFor();
  // The comparison follows the filter (the server's figures for the release alone).
  await label.getByTestId('against-previous').filter({ hasText: '($0.00)' }).waitFor();

  const phone = await newPage('label', { width: 390, height: 844 });
  await phone.goto(portal.url);
  await phone.evaluate((t) => sessionStorage.setItem('imprint.token', t), await label.evaluate(() => sessionStorage.getItem('imprint.token')));
  await phone.reload();
  await phone.getByTestId('total-earnings').waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at phone width (overflow ${overflow}px)`);
  await shoot(phone, 'dashboard-phone');

  mkdirSync(join(repoDir, 'docs'), { recursive: true });
  copyFileSync(join(screenshotsDir, 'dashboard.png'), join(repoDir, 'docs', 'portal-dashboard.png'));
  copyFileSync(join(screenshotsDir, 'artist.png'), join(repoDir, 'docs', 'portal-artist.png'));
  assert.deepEqual(cspViolations, [], 'the app runs under its Content-Security-Policy');
  console.log(`axe: ${a11y.map((a) => `${a.screen} ${a.violations.length}`).join(', ')} serious/critical violations`);
});
