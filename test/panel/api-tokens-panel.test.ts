import { expect } from 'chai';
import { call } from '../hub/api-world';
import { onboard, screenshots, unnamedControls, usePanelPage } from './panel-helpers';

const ADMIN = { name: 'Pat Pi', email: 'pat@example.test', password: 'correct horse battery' };

describe('API tokens in the panel\'s Settings (Chromium)', function () {
  this.timeout(120_000);
  const panel = usePanelPage();

  before(async () => {
    await onboard(panel.page, panel.hub, ADMIN);
  });

  it('creates a named token shown once, that works on the API, and revokes it', async () => {
    const { page, hub, errors } = panel;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByText('No API tokens yet.').waitFor();
    await page.getByLabel('Name of the new API token').fill('Node-RED in the garage');
    await page.getByRole('button', { name: 'Create token' }).click();
    const value = page.getByTestId('api-token-value');
    await value.waitFor();
    const token = (await value.textContent())!.trim();
    expect(token).to.match(/^yhub_/);
    await page.locator('tr[data-token="Node-RED in the garage"]').waitFor();
    await screenshots(page, 'settings-api-tokens');
    expect(await unnamedControls(page), 'every control has an accessible name').to.deep.equal([]);

    const me = await call(hub, 'GET', '/api/auth/me', token);
    expect(me.status).to.equal(200);
    expect((me.json as { email: string }).email).to.equal(ADMIN.email);

    // Shown once: a reload lists it by name only.
    await page.reload();
    await page.locator('tr[data-token="Node-RED in the garage"]').waitFor();
    expect(await page.getByTestId('api-token-value').count()).to.equal(0);
    expect(await page.content()).to.not.include(token);

    await page.getByRole('button', { name: 'Delete token Node-RED in the garage' }).click();
    await page.getByRole('button', { name: 'Confirm deleting token Node-RED in the garage' }).click();
    await page.getByText('No API tokens yet.').waitFor();
    expect((await call(hub, 'GET', '/api/auth/me', token)).status).to.equal(401);
    expect(errors).to.deep.equal([]);
  });
});
