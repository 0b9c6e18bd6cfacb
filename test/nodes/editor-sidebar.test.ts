import { expect } from 'chai';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Hub } from '../../server/hub';
import { THIRD_VIRTUAL_PLAYER } from '../../server/virtual/contracts';
import { artifactPath, launchChromium } from '../helpers/chromium';
import { deployFlows, runningNode, startNodeRed, stopNodeRed, type EmbeddedNodeRed } from '../helpers/embedded-node-red';
import { isListening } from '../helpers/free-port';
import { nodeRedVersion } from '../helpers/node-red';
import { describeLeaks, ResourceTracker } from '../helpers/resource-tracker';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { hubConfigNode, KIDS_BEDROOM, LIVING_ROOM, playbackKnown, runningHub, type FlowNode } from '../helpers/yoto-node-flows';

const NODE_RED_MAJOR = Number(nodeRedVersion().split('.')[0]);

/** The running hub of the deployed yoto-hub node. */
function hubOf(nodeRed: EmbeddedNodeRed, id: string): Promise<Hub> {
  return runningHub(runningNode(nodeRed, id));
}

/** Where the editor ends up: its page, what it threw, and the Yoto tab's content. */
interface OpenEditor {
  page: Page;
  errors: string[];
  sidebar: Locator;
}

/** Opens a node's edit dialog as a user does (double-click) and answers one of its elements, once in the dialog. */
async function openDialog(page: Page, nodeId: string, selector: string): Promise<Locator> {
  await page.locator(`[id="${nodeId}"] .red-ui-flow-node`).dblclick();
  const element = page.locator(selector);
  await element.waitFor({ state: 'attached' });
  return element;
}

/** Cancels the open dialog and waits until `element` of it has left the page. */
async function cancelDialog(page: Page, element: Locator): Promise<void> {
  await page.locator('#node-dialog-cancel').click();
  await element.waitFor({ state: 'detached' });
}

describe(`Yoto sidebar and edit dialogs in the Node-RED editor, headless Chromium (Node-RED ${nodeRedVersion()})`, function () {
  this.timeout(60_000);
  let tracker: ResourceTracker | undefined;
  let nodeRed: EmbeddedNodeRed | undefined;
  let browser: Browser | undefined;
  let hub: Hub;
  let hubConfig: Awaited<ReturnType<typeof hubConfigNode>> | undefined;
  let hubPort: number;
  let virtualCloudPort: number;
  const pages: Page[] = [];

  before(async () => {
    tracker = ResourceTracker.start();
    const userDir = await makeTempDir('editor-sidebar');
    // The plugin's setting, exported to the editor: the open tab polls the hub every 500 ms.
    nodeRed = await startNodeRed(userDir, { credentialSecret: 'editor-sidebar-test', 'yoto-sidebar': { pollInterval: 500 } });
    hubConfig = await hubConfigNode('hub1');
    hubPort = Number(hubConfig.node['httpPort']);
    virtualCloudPort = Number(hubConfig.node['virtualCloudPort']);
    await deployFlows(nodeRed, [
      { id: 'f1', type: 'tab', label: 'Yoto' } as FlowNode,
      { ...hubConfig.node, cloudMode: 'virtual' },
      { id: 'in1', type: 'yoto-device-in', z: 'f1', name: 'players', hub: 'hub1', deviceMode: 'all', device: '', events: ['playback_started', 'playback_stopped'], emitState: false, x: 160, y: 80, wires: [[]] },
      { id: 'cmd1', type: 'yoto-device-command', z: 'f1', hub: 'hub1', device: 'Living Room', command: 'pause', outputs: 1, x: 160, y: 160, wires: [[]] },
      { id: 'play1', type: 'yoto-play-script', z: 'f1', hub: 'hub1', device: '', script: '', x: 160, y: 240, wires: [[], []] },
      { id: 'wait1', type: 'yoto-wait-until', z: 'f1', hub: 'hub1', device: '', property: 'playback', operator: 'is', value: 'stopped', forSeconds: 0, timeout: 0, checkCurrent: true, x: 160, y: 320, wires: [[], []] },
      { id: 'say1', type: 'yoto-announce', z: 'f1', hub: 'hub1', devices: 'Kids Bedroom', source: 'text', value: 'Dinner is ready', volume: '40', priority: 'high', chime: true, x: 160, y: 400, wires: [[]] },
    ]);
    hub = await hubOf(nodeRed, 'hub1');
    // Both virtual players reported once: the hub knows their state before the editor asks.
    await playbackKnown(hub, LIVING_ROOM);
    await playbackKnown(hub, KIDS_BEDROOM);
    browser = await launchChromium();
  });

  after(async () => {
    for (const page of pages.splice(0)) await page.close();
    await browser?.close();
    await stopNodeRed(nodeRed);
    hubConfig?.remove();
    await removeTempDirs();
    // Node-RED's runtime closes a websocket upgrade nothing answered after 5 s (inboundWebSocketTimeout)
    // with a timer of its own it does not clear on RED.stop: the editors' comms sockets leave one each.
    const leaks = ((await tracker?.leaked()) ?? []).filter((leak) => !(leak.type === 'Timeout' && /@node-red[\\/]runtime[\\/]lib[\\/]index\.js/.test(leak.stack)));
    tracker?.stop();
    if (nodeRed) {
      // Nothing of the editor, the hub or the browser is left open.
      expect(await isListening(Number(new URL(nodeRed.url).port)), 'the editor still listens').to.equal(false);
      expect(await isListening(hubPort), 'the hub still listens').to.equal(false);
      expect(await isListening(virtualCloudPort), 'the virtual cloud still listens').to.equal(false);
      expect(leaks, describeLeaks(leaks)).to.deep.equal([]);
    }
  });

  /** A new browser page (closed after the suite) that records the errors it throws; the editor is not loaded yet. */
  async function newEditorPage(): Promise<{ page: Page; errors: string[] }> {
    if (!browser) throw new Error('Chromium starts in before()');
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return { page, errors };
  }

  /**
   * Opens the editor and its "Yoto players" tab as a user does.
   * `editorSettings` changes what the editor reads from GET /settings.
   */
  async function openYotoTab(editorSettings?: (settings: Record<string, unknown>) => void): Promise<OpenEditor> {
    if (!nodeRed) throw new Error('Node-RED starts in before()');
    const { page, errors } = await newEditorPage();
    if (editorSettings) {
      await page.route((url) => url.pathname === '/settings', async (route) => {
        const response = await route.fetch();
        const settings = (await response.json()) as Record<string, unknown>;
        editorSettings(settings);
        await route.fulfill({ response, json: settings });
      });
    }
    await page.goto(nodeRed.url + '/', { waitUntil: 'domcontentloaded' });

    // The plugin adds its tab, named "Yoto players", to the sidebar once the editor has loaded.
    if (NODE_RED_MAJOR >= 5) {
      // Node-RED 5: a button per tab in the sidebars' tool bar.
      await page.getByRole('button', { name: 'Yoto players' }).waitFor();
    } else {
      // Node-RED 4: the first tabs as icon buttons, and every tab by name in the sidebar's drop-down menu.
      await page.locator('#red-ui-tab-yoto-sidebar-link-button').waitFor({ state: 'attached' });
      await page.locator('#red-ui-sidebar .red-ui-tab-link-button-menu').click();
      expect((await page.locator('#red-ui-tabs-menu-option-yoto-sidebar').textContent())?.trim()).to.equal('Yoto players');
      await page.keyboard.press('Escape');
    }
    // Menu > View > Yoto players shows the tab (a tab button toggles it, and Node-RED 5 restores the last open tab).
    await page.locator('#red-ui-header-button-sidemenu').click();
    await page.locator('#menu-item-view-menu').hover();
    const viewItem = page.locator('#menu-item-view-menu-yoto-sidebar');
    expect((await viewItem.textContent())?.trim()).to.equal('Yoto players');
    await viewItem.click();
    await page.locator('#red-ui-tab-yoto-sidebar.active, button[data-tab-id="yoto-sidebar"].selected').waitFor({ state: 'attached' });
    const sidebar = page.locator('.yoto-sidebar');
    await sidebar.waitFor();
    return { page, errors, sidebar };
  }

  it('fills the Player lists of the yoto-device-command, yoto-play-script and yoto-device-in dialogs from the running hub', async () => {
    if (!nodeRed) throw new Error('Node-RED starts in before()');
    const { page, errors } = await newEditorPage();
    await page.goto(nodeRed.url + '/', { waitUntil: 'domcontentloaded' });

    const optionTexts = (select: Locator): Promise<string[]> => select.locator('option').allTextContents();
    // The default virtual fleet: three players.
    const expectedPlayers = [`Kids Bedroom (${KIDS_BEDROOM})`, `Living Room (${LIVING_ROOM})`, `Playroom (${THIRD_VIRTUAL_PLAYER.deviceId})`];

    // yoto-device-command set to "Living Room" by name: the list shows it chosen, by its id.
    const commandSelect = await openDialog(page, 'cmd1', '#yoto-device-command-device-select');
    await commandSelect.waitFor(); // shown once the hub answered
    expect((await optionTexts(commandSelect)).sort()).to.deep.equal(['blank: msg.device', ...expectedPlayers, 'other: type it'].sort());
    expect(await commandSelect.inputValue()).to.equal(LIVING_ROOM);
    expect(await page.locator('#node-input-device').isVisible(), 'the typed field hides while a listed player is chosen').to.equal(false);
    await cancelDialog(page, commandSelect);

    // yoto-play-script with no Player: "blank: msg.device"; choosing Kids Bedroom writes its id into the field.
    const playSelect = await openDialog(page, 'play1', '#yoto-play-script-device-select');
    await playSelect.waitFor();
    expect((await optionTexts(playSelect)).sort()).to.deep.equal(['blank: msg.device', ...expectedPlayers, 'other: type it'].sort());
    expect(await playSelect.inputValue()).to.equal('');
    await playSelect.selectOption(KIDS_BEDROOM);
    expect(await page.locator('#node-input-device').inputValue()).to.equal(KIDS_BEDROOM);
    await playSelect.selectOption('__other');
    expect(await page.locator('#node-input-device').isVisible(), '"other" shows the typed field').to.equal(true);
    await cancelDialog(page, playSelect);

    // yoto-device-in set to all players, switched to "one, by name": its list offers the same players.
    const inSelect = await openDialog(page, 'in1', '#yoto-device-in-select');
    await page.locator('#node-input-deviceMode').selectOption('name');
    await inSelect.waitFor();
    expect((await optionTexts(inSelect)).sort()).to.deep.equal(['choose a player', ...expectedPlayers, 'other: type it'].sort());
    await inSelect.selectOption('Living Room');
    expect(await page.locator('#node-input-device').inputValue()).to.equal('Living Room');
    await cancelDialog(page, inSelect);

    expect(errors).to.deep.equal([]);
  });

  /** A new editor page with a node's dialog open: one of its elements (`selector`), the page and the errors it throws. */
  async function dialogOnNewPage(nodeId: string, selector: string): Promise<{ page: Page; errors: string[]; element: Locator }> {
    if (!nodeRed) throw new Error('Node-RED starts in before()');
    const { page, errors } = await newEditorPage();
    await page.goto(nodeRed.url + '/', { waitUntil: 'domcontentloaded' });
    return { page, errors, element: await openDialog(page, nodeId, selector) };
  }
  const dialogLabels = async (page: Page): Promise<string[]> => (await page.locator('#dialog-form label').allTextContents()).map((text) => text.trim()).filter(Boolean);

  it('builds the yoto-wait-until dialog\'s rows in the node\'s words, with the card list of "card is" filled from the hub', async () => {
    const { page, errors, element: property } = await dialogOnNewPage('wait1', '#node-input-property');

    // Every row has its label from the node's locale.
    expect(await dialogLabels(page)).to.include.members(['Hub', 'Player', 'Condition', 'Card', 'For (s)', 'Timeout (s)', 'Now', 'Name']);
    expect(await property.locator('option').allTextContents()).to.deep.equal(['playback', 'status', 'card', 'online', 'volume (%)', 'battery (%)', 'charging', 'headphones plugged in', 'Bluetooth audio connected', 'day/night mode']);
    expect(await page.locator('#node-input-operator option').allTextContents()).to.deep.equal(['is', 'is not', 'is one of', 'is none of', '<', '>']);
    expect(await property.inputValue()).to.equal('playback');
    expect(await page.locator('#node-input-value').inputValue()).to.equal('stopped');
    expect(await page.locator('#yoto-wait-until-card-row').isVisible(), 'no card list for "playback is"').to.equal(false);

    // "card is": the family library's cards, from the running hub; choosing one writes its id as the value.
    const cards = await hub.cards.list();
    expect(cards.length, 'the virtual cloud has cards').to.be.greaterThan(0);
    await property.selectOption('card');
    const cardSelect = page.locator('#yoto-wait-until-card-select');
    await cardSelect.waitFor();
    expect((await cardSelect.locator('option').allTextContents()).sort()).to.deep.equal(['type a card id', ...cards.map((c) => `${c.title} (${c.cardId})`), 'other: type it'].sort());
    await cardSelect.selectOption(cards[0]!.cardId);
    expect(await page.locator('#node-input-value').inputValue()).to.equal(cards[0]!.cardId);
    await cancelDialog(page, property);
    expect(errors).to.deep.equal([]);
  });

  it('builds the yoto-announce dialog in the node\'s words, with the saved text, players, volume, priority and chime', async () => {
    const { page, errors, element: source } = await dialogOnNewPage('say1', '#node-input-source');

    expect(await dialogLabels(page)).to.include.members(['Hub', 'Announce', 'Value', 'Players', 'Volume (%)', 'Priority', 'Chime', 'Name']);
    expect(await source.inputValue()).to.equal('text');
    expect(await page.locator('#node-input-value').inputValue()).to.equal('Dinner is ready');
    expect(await page.locator('#node-input-devices').inputValue()).to.equal('Kids Bedroom');
    expect(await page.locator('#node-input-volume').inputValue()).to.equal('40');
    expect(await page.locator('#node-input-priority').inputValue()).to.equal('high');
    expect(await page.locator('#node-input-chime').isChecked()).to.equal(true);
    // msg.payload needs no value: its row goes away.
    await source.selectOption('payload');
    expect(await page.locator('#yoto-announce-row-value').isVisible()).to.equal(false);
    await cancelDialog(page, source);
    expect(errors).to.deep.equal([]);
  });

  it('offers the yoto-hub config dialog\'s Remote hub mode: hub URL and API token instead of the local hub\'s settings', async () => {
    const { page, errors, element: hubSelect } = await dialogOnNewPage('cmd1', '#node-input-hub');
    // The pencil beside the Hub list (its id differs between Node-RED versions).
    await page.locator('#node-input-btn-hub-edit, #node-input-lookup-hub').first().click();
    const mode = page.locator('#node-config-input-mode');
    await mode.waitFor();
    expect(await mode.inputValue()).to.equal('local');
    expect(await page.locator('#node-config-input-httpPort').isVisible()).to.equal(true);
    expect(await page.locator('#node-config-input-remoteUrl').isVisible()).to.equal(false);
    await mode.selectOption('remote');
    expect(await page.locator('#node-config-input-remoteUrl').isVisible()).to.equal(true);
    expect(await page.locator('#node-config-input-apiToken').isVisible()).to.equal(true);
    expect(await page.locator('#node-config-input-apiToken').getAttribute('type')).to.equal('password');
    expect(await page.locator('#node-config-input-httpPort').isVisible()).to.equal(false);
    const labels = (await page.locator('#node-config-dialog-edit-form label').allTextContents()).map((text) => text.trim()).filter(Boolean);
    expect(labels).to.include.members(['Mode', 'Hub URL', 'API token']);
    expect(await page.locator('#node-config-input-remoteUrl').getAttribute('placeholder')).to.equal('http://hub.local:1881');
    await page.locator('#node-config-dialog-cancel').click();
    await mode.waitFor({ state: 'detached' });
    await cancelDialog(page, hubSelect);
    expect(errors).to.deep.equal([]);
  });

  it('adds a "Yoto players" tab that lists the hub\'s players, online, with a link to the hub\'s panel as soon as it opens', async () => {
    // The editor gets the plugin's poll setting from settings.js; here it polls once an hour,
    // so only the refresh of the tab being opened can fill it.
    let exported: unknown;
    const { page, errors, sidebar } = await openYotoTab((settings) => {
      exported = settings['yoto-sidebar'];
      settings['yoto-sidebar'] = { pollInterval: 3_600_000 };
    });
    expect(exported).to.deep.equal({ pollInterval: 500 });

    const livingRoom = sidebar.locator('li').filter({ hasText: 'Living Room' });
    const kidsBedroom = sidebar.locator('li').filter({ hasText: 'Kids Bedroom' });
    await livingRoom.filter({ hasText: 'online' }).waitFor();
    await kidsBedroom.filter({ hasText: 'online' }).waitFor();
    expect(await sidebar.locator('li > span').allTextContents()).to.deep.equal(['Kids Bedroom', 'Living Room', 'Playroom']);
    expect(await livingRoom.textContent()).to.match(/^Living Roomonline · \d+% · \w+/);

    expect(await sidebar.textContent()).to.include('Test hub');
    const panelLink = sidebar.getByRole('link', { name: 'panel' });
    expect(await panelLink.getAttribute('href')).to.equal(`http://127.0.0.1:${hubPort}`);
    expect(await panelLink.getAttribute('href')).to.equal(hub.url);
    expect(await panelLink.getAttribute('target')).to.equal('_blank');

    await page.screenshot({ path: artifactPath(`editor-sidebar-nr${NODE_RED_MAJOR}-players.png`) });
    expect(errors).to.deep.equal([]);
  });

  it('shows that a player started playing on a later poll of the open tab', async () => {
    const { page, errors, sidebar } = await openYotoTab();
    const livingRoom = sidebar.locator('li').filter({ hasText: 'Living Room' });
    const kidsBedroom = sidebar.locator('li').filter({ hasText: 'Kids Bedroom' });
    await kidsBedroom.filter({ hasText: 'online' }).waitFor();
    expect(await kidsBedroom.textContent()).to.not.include('playing');

    // A child puts the demo card in the Kids Bedroom player (the virtual cloud's control API).
    const inserted = await fetch(`http://127.0.0.1:${virtualCloudPort}/virtual/devices/${KIDS_BEDROOM}/card`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cardId: 'demo1' }),
    });
    expect(inserted.status, await inserted.text()).to.equal(200);

    // The tab polls (every 500 ms, from settings.js) and shows it playing, with the card and chapter.
    await kidsBedroom.filter({ hasText: 'playing demo1 ch 01' }).waitFor();
    expect(await livingRoom.textContent()).to.include('online').and.not.include('playing');

    await page.screenshot({ path: artifactPath(`editor-sidebar-nr${NODE_RED_MAJOR}-playing.png`) });
    expect(errors).to.deep.equal([]);
  });
});
