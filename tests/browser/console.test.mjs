// Drives the console in headless Chromium (Debian's, through playwright-core: the browser download of
// Playwright itself cannot work here). Run by run.sh, which starts the services; exits non-zero with the
// step that failed. No timing asserts: every wait is bounded and generous.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// playwright-core is the console's dev dependency, installed by the build's `npm ci` in web/console.
const require = createRequire(join(here, '../../web/console/package.json'));
const { chromium } = require('playwright-core');

const base = process.env.KD_CONSOLE_URL;
const artifacts = process.env.KD_ARTIFACTS;
const WAIT = 60_000;

function step(text) {
  console.log(`browser: ${text}`);
}

// The seed's probe still answers at /.
const probe = await fetch(`${base}/`);
assert.equal(await probe.text(), 'gateway');

const context = await chromium.launchPersistentContext(mkdtempSync(process.env.KD_PROFILE ?? '/tmp/kd-chromium-'), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
  viewport: { width: 1400, height: 1200 },
});
const page = context.pages()[0] ?? (await context.newPage());
const outside = [];
page.on('request', (request) => {
  const url = new URL(request.url());
  if (url.origin !== new URL(base).origin && !url.protocol.startsWith('data')) outside.push(request.url());
});
const errors = [];
page.on('pageerror', (error) => errors.push(String(error)));

try {
  step('open the console');
  await page.goto(`${base}/console`);
  await page.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: WAIT });
  await page.locator('[data-testid=health-statistics][data-state=ready]').waitFor({ timeout: WAIT });
  const regions = await page.locator('[data-testid=place-region] option').count();
  assert.ok(regions >= 3, `the form offers every region (got ${regions})`);
  for (let p = 0; p < regions; ++p) {
    await page.locator(`[data-testid=health-order-${p}][data-state=ready]`).waitFor({ timeout: WAIT });
    await page.locator(`[data-testid=health-repository-${p}][data-state=ready]`).waitFor({ timeout: WAIT });
  }
  const number = async (testid) => Number(await page.locator(`[data-testid=${testid}]`).innerText());
  const before = [];
  for (let p = 0; p < regions; ++p) before.push(await number(`revenue-${p}`));
  const totalBefore = await number('total-revenue');

  step('place an order in each region through the form');
  const placed = [];
  for (let p = 0; p < regions; ++p) {
    const previous = await page.locator('[data-testid=placed-order-id]').getAttribute('data-money').catch(() => null);
    await page.locator('[data-testid=place-region]').selectOption(String(p));
    await page.locator('[data-testid=place-submit]').click();
    const link = page.locator('[data-testid=placed-order-id]');
    await page.waitForFunction(
      (known) => {
        const a = document.querySelector('[data-testid=placed-order-id]');
        return a && a.textContent && !known.includes(a.textContent);
      },
      placed.map((o) => o.id),
      { timeout: WAIT },
    );
    const id = await link.innerText();
    const money = Number(await link.getAttribute('data-money'));
    assert.ok(money >= 1 && money <= 999, `money of ${id}: ${money} (previous ${previous})`);
    placed.push({ id, money, partition: p });
    step(`placed ${id} in partition ${p}, ${money} yuan`);
  }

  step('see each order in the feed: its partition, its warehouse, counted');
  for (const order of placed) {
    const row = page.locator(`[data-testid=feed-row][data-order-id="${order.id}"]`);
    await row.locator('[data-testid=counted][data-done=true]').waitFor({ timeout: WAIT });
    await row.locator('[data-testid=shipped][data-done=true]').waitFor({ timeout: WAIT });
    assert.equal(await row.locator('[data-testid=partition]').innerText(), String(order.partition));
    assert.equal(await row.locator('[data-testid=warehouse]').innerText(), `repository-${order.partition}`);
    assert.equal(await row.locator('[data-testid=order-instance]').innerText(), `order-${order.partition}`);
    assert.equal(await row.locator('[data-testid=money]').innerText(), String(order.money));
  }

  step('the figures moved by exactly the orders’ money');
  const totalExpected = totalBefore + placed.reduce((sum, o) => sum + o.money, 0);
  await page.waitForFunction(
    (expected) => Number(document.querySelector('[data-testid=total-revenue]')?.textContent) === expected,
    totalExpected,
    { timeout: WAIT },
  );
  for (const order of placed) {
    assert.equal(await number(`revenue-${order.partition}`), before[order.partition] + order.money);
  }

  step('look one order up by id');
  const sought = placed[1];
  await page.locator('[data-testid=search-id]').fill(sought.id);
  await page.locator('[data-testid=search-submit]').click();
  const story = page.locator('[data-testid=story][data-status="200"]');
  await story.waitFor({ timeout: WAIT });
  assert.equal(await story.locator('[data-testid=story-placed]').getAttribute('data-partition'), String(sought.partition));
  assert.equal(await story.locator('[data-testid=story-shipped]').getAttribute('data-done'), 'true');
  assert.equal(await story.locator('[data-testid=story-counted]').getAttribute('data-done'), 'true');
  assert.match(await story.innerText(), new RegExp(`repository-${sought.partition}`));
  await page.screenshot({ path: join(artifacts, 'console-en.png'), fullPage: true });

  step('an id that is not one, and one never written');
  await page.locator('[data-testid=search-id]').fill('not-an-id');
  await page.locator('[data-testid=search-submit]').click();
  await page.locator('[data-testid=story][data-status="400"]').waitFor({ timeout: WAIT });
  await page.locator('[data-testid=search-id]').fill(String(BigInt(sought.id) + 1n));
  await page.locator('[data-testid=search-submit]').click();
  await page.locator('[data-testid=story][data-status="404"]').waitFor({ timeout: WAIT });

  step('switch to 简体中文');
  await page.locator('[data-testid=search-id]').fill(sought.id);
  await page.locator('[data-testid=search-submit]').click();
  await page.locator('[data-testid=story][data-status="200"]').waitFor({ timeout: WAIT });
  await page.locator('[data-testid=language]').click();
  await page.getByText('商店控制台').waitFor({ timeout: WAIT });
  assert.match(await page.locator('[data-testid=story-shipped]').innerText(), /已发货/);
  await page.screenshot({ path: join(artifacts, 'console-zh.png'), fullPage: true });

  assert.deepEqual(outside, [], 'the page fetched nothing from outside the gateway');
  assert.deepEqual(errors, [], 'no script errors');
  step(`passed: ${placed.length} orders placed, shipped and counted; screenshots in ${artifacts}`);
} catch (error) {
  await page.screenshot({ path: join(artifacts, 'console-failure.png'), fullPage: true }).catch(() => {});
  throw error;
} finally {
  await context.close();
}
