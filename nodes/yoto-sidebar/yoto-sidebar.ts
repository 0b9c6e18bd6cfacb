import type { NodeAPI } from 'node-red';

/**
 * The Yoto sidebar tab of the Node-RED editor: an editor-only plugin. Its
 * runtime half only registers the plugin so Node-RED loads yoto-sidebar.html
 * into the editor; the tab reads the yoto-hub admin endpoint
 * GET /yoto-hub/:hubId/devices (guarded by yoto-hub.read).
 *
 * Its one setting, from Node-RED's settings.js, goes to the editor as
 * RED.settings['yoto-sidebar']: `'yoto-sidebar': { pollInterval: 1000 }` makes
 * the open tab refresh every second instead of every 3 s.
 */
export = function registerYotoSidebar(RED: NodeAPI): void {
  // @types/node-red's NodeAPI does not declare `plugins` (Node-RED >= 1.3 has it): this narrow view is what is used.
  const plugins = (RED as unknown as { plugins?: { registerPlugin(id: string, definition: Record<string, unknown>): void } }).plugins;
  plugins?.registerPlugin('yoto-sidebar', {
    type: 'yoto-sidebar',
    settings: { pollInterval: { value: 3000, exportable: true } },
  });
};
