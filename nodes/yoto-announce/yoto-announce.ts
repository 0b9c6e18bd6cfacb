import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { BrokerAnnouncementMessage } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { describeDevices, deviceSummary, findDevice } from '../shared/device-lookup';
import { hubConfigOf, runningHub } from '../shared/node-plumbing';
import { hubStatusFor } from '../shared/yoto-hub-node';

/** The settings the editor stores. */
interface YotoAnnounceNodeDef extends NodeDef {
  hub: string;
  /** Players (ids or names, comma-separated); blank: msg.device_ids, else every online player. */
  devices: string;
  /** What to say: `payload` (msg.payload), `text`, `file` (a library audio file id) or `url`. */
  source: string;
  /** The text, file id or URL for the sources that are not `payload`. */
  value: string;
  /** Blank: each player's own volume. */
  volume: string;
  priority: string;
  chime: boolean;
}

/** A problem worded for the user; Catch nodes show it as "YotoAnnounceError: <message>". */
class AnnounceFailure extends Error {
  override readonly name = 'YotoAnnounceError';
}

const SAYS = ['text', 'audio_file_id', 'url'] as const;

export = function registerYotoAnnounce(RED: NodeAPI): void {
  function YotoAnnounceNode(this: Node, config: YotoAnnounceNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const hubConfig = hubConfigOf(RED, config.hub);
    const t = (key: string, values?: Record<string, string>): string => RED._(`yoto-announce.${key}`, values);
    const { setStatus, stop: stopHubStatus } = hubStatusFor(node, hubConfig, { status: t('status.noHub'), error: t('errors.noHub') });
    const validator = getValidator();

    /** The announcement request: msg.payload as a whole request, else what the node says, with the node's players, volume, priority and chime. */
    const requestOf = (msg: NodeMessageInFlow & Record<string, unknown>, players: string[] | undefined): BrokerAnnouncementMessage => {
      const payload = msg.payload;
      let request: Record<string, unknown>;
      if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && SAYS.some((key) => key in payload)) {
        request = { ...(payload as Record<string, unknown>) };
      } else if (config.source === 'text' || config.source === 'file' || config.source === 'url') {
        if (!config.value?.trim()) throw new AnnounceFailure(t('errors.noValue'));
        request = { [config.source === 'text' ? 'text' : config.source === 'file' ? 'audio_file_id' : 'url']: config.value.trim() };
      } else {
        if (typeof payload !== 'string' || payload.trim() === '') throw new AnnounceFailure(t('errors.noText'));
        request = { text: payload.trim() };
      }
      if (players && request['device_ids'] === undefined) request['device_ids'] = players;
      if (config.volume !== undefined && String(config.volume).trim() !== '' && request['volume'] === undefined) request['volume'] = Number(config.volume);
      if (config.priority === 'high' && request['priority'] === undefined) request['priority'] = 'high';
      if (config.chime && request['chime'] === undefined) request['chime'] = true;
      const checked = validator.check('broker-announcement', request);
      if (!checked.ok) throw new AnnounceFailure(t('errors.invalid', { reason: checked.error.message }));
      return checked.value;
    };

    node.on('input', (received: NodeMessageInFlow, send: (msg: NodeMessage | NodeMessage[]) => void, done: (err?: Error) => void) => {
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      (async () => {
        const hub = runningHub(hubConfig, t, (message) => new AnnounceFailure(message));
        const devices = hub.devices.list();
        // Players by id or name: the node's setting, else msg.device_ids.
        const refs = config.devices?.trim() ? config.devices.split(',') : Array.isArray(msg['device_ids']) ? (msg['device_ids'] as unknown[]).map(String) : undefined;
        const players = refs?.map((ref) => {
          const state = findDevice(devices, ref.trim());
          if (!state) throw new AnnounceFailure(t('errors.unknownDevice', { device: ref.trim(), known: describeDevices(devices) }));
          return state.deviceId;
        });
        const request = requestOf(msg, players);
        const handle = await hub.announce(request);
        const count = String(handle.done.size);
        setStatus({ fill: 'blue', shape: 'ring', text: t('status.announcing', { count }) });
        const failures: string[] = [];
        // One message per player, as soon as that player is done (played and put back).
        await Promise.all(
          [...handle.done].map(async ([deviceId, outcome]) => {
            const entry = await outcome;
            const state = hub.devices.get(deviceId);
            const name = state?.name ?? deviceId;
            if (entry.status !== 'finished') {
              failures.push(`${name}: ${entry.status} (${entry.reason ?? 'unknown'}${entry.message ? `: ${entry.message}` : ''})`);
              return;
            }
            const out = RED.util.cloneMessage(msg) as NodeMessage & Record<string, unknown>;
            out.payload = { announcementId: handle.id, ...entry, deviceName: name, request };
            if (state) out['device'] = deviceSummary(state);
            send(out);
          }),
        );
        if (failures.length > 0) throw new AnnounceFailure(t('errors.failed', { failures: failures.join('; ') }));
        setStatus({ fill: 'green', shape: 'dot', text: t('status.done', { count }) });
        done();
      })().catch((error: unknown) => {
        setStatus({ fill: 'red', shape: 'ring', text: t('status.failed') });
        done(error instanceof AnnounceFailure ? error : new AnnounceFailure(error instanceof Error ? error.message : String(error)));
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      stopHubStatus();
      done();
    });
  }

  RED.nodes.registerType('yoto-announce', YotoAnnounceNode);
};
