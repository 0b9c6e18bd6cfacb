import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import type { Hub } from '../../server/hub';
import type { VirtualPlayerSpec } from '../../server/virtual/contracts';
import { launchChromium } from '../helpers/chromium';
import { startTestHub, stopTestHub } from '../helpers/test-hub';
import { onboardAdmin } from '../hub/api-world';

/** Names that differ in case, spaces and digits only, and two a plain ASCII order would misplace. */
const NAMES = ['bob', 'Bob', 'Bo b', 'Bob 10', 'Bob 9', 'bob2', 'Alice', 'alice', 'ALICE 1', 'Aase', 'Zed', 'Émile', 'Kids Room'];

function players(): VirtualPlayerSpec[] {
  return NAMES.map((name, index) => ({
    deviceId: `vorder0player0${String(index).padStart(10, '0')}`,
    name,
    deviceType: 'v3',
    deviceFamily: 'v3',
    hasNightLight: true,
    firmware: 'v2.23.2',
  }));
}

/**
 * The Dashboard lists the players by name in the browser's language order, the order of
 * `new Intl.Collator()` in the same page: in English without loading ICU for plain ASCII names
 * (device-store.ts), in other languages with the collator (Danish puts uppercase first and "Aa" last).
 */
describe('Dashboard players in the language\'s order (headless Chromium)', function () {
  let browser: Browser;
  let hub: Hub;
  let refreshToken: string;

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub({}, { cloud: { virtual: { players: players() } } });
    ({ refreshToken } = await onboardAdmin(hub, { email: 'order@example.test', name: 'Order Parent', password: 'correct horse battery' }));
  });
  after(async () => {
    await browser?.close();
    await stopTestHub(hub);
  });

  for (const locale of ['en-US', 'da-DK']) {
    it(`orders the cards as Intl.Collator does in ${locale}`, async () => {
      const context = await browser.newContext({ locale });
      try {
        await context.addInitScript((token: string) => {
          (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('yoto.refreshToken', token);
        }, refreshToken);
        const page = await context.newPage();
        await page.goto(`${hub.url}/`);
        const cards = page.locator('article[data-device]');
        await cards.nth(NAMES.length - 1).waitFor();
        const shown = await cards.evaluateAll((articles) => articles.map((article) => article.getAttribute('aria-label')));
        const expected = await page.evaluate((names: string[]) => [...names].sort(new Intl.Collator().compare), NAMES);
        expect(shown).to.deep.equal(expected);
        if (locale === 'da-DK') expect(shown.at(-1), 'Danish puts "Aa" after "Z"').to.equal('Aase');
        else expect(shown.slice(0, 3)).to.deep.equal(['Aase', 'alice', 'Alice']);
        // The refresh token turned: keep the new one for the next load.
        refreshToken = await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(key: string): string } }).localStorage.getItem('yoto.refreshToken'));
      } finally {
        await context.close();
      }
    });
  }
});
