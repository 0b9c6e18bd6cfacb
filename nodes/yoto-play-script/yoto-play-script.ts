import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { HubClient } from '../../server/remote/hub-client';
import type { DeployOptions, DeployResult } from '../../server/scripts';
import type { DeviceEvent, Script } from '../../server/types/schemas';
import { getValidator } from '../../server/validation';
import { hubNodeParts, nodeFailure, targetPlayer } from '../shared/node-plumbing';
import { NODE_RED_USER } from '../../server/remote/local-hub-client';

/** The settings the editor stores (and the story compiler writes: storyId, storyNodeId, audioFileId, icon, waitForEnd). */
interface YotoPlayScriptNodeDef extends NodeDef {
  hub: string;
  /** Player id or name; when blank, `msg.device` says which player. */
  device: string;
  /** A stored script's id; blank: msg.payload (or audioFileId). */
  script?: string;
  /** Story flows: play this one audio file (a simple script the node keeps for it). */
  audioFileId?: string;
  icon?: string;
  storyId?: string;
  storyNodeId?: string;
  /** true: the input message is done (for complete nodes) when playback finishes, not when it starts. */
  waitForEnd?: boolean | string;
  chapterKey?: string;
  trackKey?: string;
  secondsIn?: string | number;
  volume?: string | number;
  sleepSeconds?: string | number;
}

/** A problem worded for the user; a catch node shows "YotoPlayScriptError: <message>". */
const PlayScriptFailure = nodeFailure('YotoPlayScriptError');


/** The events that end the playback of a card on a player. */
const FINISHING_EVENTS: ReadonlySet<DeviceEvent['type']> = new Set(['playback_stopped', 'card_removed', 'card_inserted']);

/** Whether `event` (on the watched player) ends the playback of `cardId`. A new card inserted is a card change. */
function endsPlayback(event: Pick<DeviceEvent, 'type' | 'data'>, cardId: string): boolean {
  if (!FINISHING_EVENTS.has(event.type)) return false;
  const eventCard = typeof event.data['cardId'] === 'string' ? event.data['cardId'] : undefined;
  if (event.type === 'card_inserted') return eventCard !== cardId;
  return eventCard === undefined || eventCard === cardId;
}

function optionalNumber(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new PlayScriptFailure(`${field} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return n;
}

function optionalKey(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

interface Watch {
  deviceId: string;
  cardId: string;
  unsubscribe: () => void;
  done: (() => void) | undefined;
}

export = function registerYotoPlayScript(RED: NodeAPI): void {
  function YotoPlayScriptNode(this: Node, config: YotoPlayScriptNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    // The hub's status shows until the node played something.
    const { hubConfig, t, setStatus, stopHubStatus } = hubNodeParts(RED, node, 'yoto-play-script', config.hub);
    const waitForEnd = config.waitForEnd === true || config.waitForEnd === 'true';

    /** One playback followed at a time: a new message supersedes it. */
    let watch: Watch | undefined;
    /** Bumped by every message and by close, so a deploy that resolves late knows it was superseded. */
    let generation = 0;
    const stopWatching = (): void => {
      const current = watch;
      watch = undefined;
      if (!current) return;
      current.unsubscribe();
      current.done?.();
    };

    /** The simple script a story flow's node keeps for its audio file (same id on every deploy). */
    const scriptForAudioFile = async (hub: HubClient, audioFileId: string): Promise<string> => {
      const file = await hub.audioFile(audioFileId);
      if (!file) throw new PlayScriptFailure(t('errors.unknownAudio', { file: audioFileId }));
      const id = `node-red-${(config.storyId || 'file').replace(/[^A-Za-z0-9_-]/g, '_')}-${(config.storyNodeId || audioFileId).replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 128);
      const icon = optionalKey(config.icon);
      const definition = { audioFileId, ...(icon ? { icon } : {}) };
      const name = (config.name || file.title || audioFileId).slice(0, 255);
      const same = (script: Script | undefined): boolean => script?.type === 'simple' && script.definition.audioFileId === audioFileId && script.definition.icon === definition.icon;
      const existing = await hub.script(id);
      if (same(existing)) return id;
      // A remote hub names its scripts itself: the one kept for this file is found by name and content.
      if (!existing && hub.kind === 'remote') {
        const kept = (await hub.scripts()).find((script) => script.name === name && same(script));
        if (kept) return kept.id;
      }
      const at = new Date().toISOString();
      const script = getValidator().validate('script', {
        id,
        userId: file.userId,
        name,
        type: 'simple',
        definition,
        createdAt: existing?.createdAt ?? at,
        updatedAt: at,
        ...(existing?.cardId ? { cardId: existing.cardId } : {}),
      });
      return hub.saveScript(script);
    };

    /** A script object from msg.payload, validated and saved (its id kept when it has one). */
    const saveScript = async (hub: HubClient, payload: Record<string, unknown>): Promise<string> => {
      const at = new Date().toISOString();
      const definition = payload['definition'] as { audioFileId?: unknown; tracks?: Array<{ audioFileId?: unknown }> } | undefined;
      const firstFile = typeof definition?.audioFileId === 'string' ? definition.audioFileId : definition?.tracks?.find((track) => typeof track?.audioFileId === 'string')?.audioFileId;
      const owner = typeof firstFile === 'string' ? (await hub.audioFile(firstFile))?.userId : undefined;
      const id = typeof payload['id'] === 'string' && payload['id'] !== '' ? payload['id'] : randomUUID();
      const existing = await hub.script(id);
      const candidate = {
        userId: owner ?? NODE_RED_USER.id,
        createdAt: existing?.createdAt ?? at,
        ...payload,
        id,
        updatedAt: at,
      };
      const checked = getValidator().check('script', candidate);
      if (!checked.ok) {
        throw new PlayScriptFailure(t('errors.invalidScript', { reason: checked.error.details.map((d) => `${d.path} ${d.message}`).join('; ') }));
      }
      return hub.saveScript(checked.value);
    };

    const resolveScript = async (hub: HubClient, msg: NodeMessage): Promise<Script> => {
      let id = optionalKey(config.script);
      if (!id && optionalKey(config.audioFileId)) id = await scriptForAudioFile(hub, String(config.audioFileId).trim());
      if (!id) {
        const payload = msg.payload;
        if (typeof payload === 'string' && payload.trim() !== '') {
          const ref = payload.trim();
          id = (await hub.script(ref)) ? ref : (await hub.scripts()).find((s) => s.name === ref)?.id ?? ref;
        } else if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) {
          id = await saveScript(hub, payload as Record<string, unknown>);
        } else {
          throw new PlayScriptFailure(t('errors.noScript'));
        }
      }
      const script = await hub.script(id);
      if (!script) {
        const known = (await hub.scripts()).map((s) => `${s.name} (${s.id})`).join(', ') || 'none';
        throw new PlayScriptFailure(t('errors.unknownScript', { script: id, known }));
      }
      return script;
    };

    const deployOptions = (msg: NodeMessage & Record<string, unknown>): DeployOptions => {
      const options: DeployOptions = {};
      const chapterKey = optionalKey(msg['chapterKey'] ?? config.chapterKey);
      const trackKey = optionalKey(msg['trackKey'] ?? config.trackKey);
      const secondsIn = optionalNumber(msg['secondsIn'] ?? config.secondsIn, 'secondsIn', 0, 86400);
      const volume = optionalNumber(msg['volume'] ?? config.volume, 'volume', 0, 100);
      const sleepSeconds = optionalNumber(msg['sleepSeconds'] ?? config.sleepSeconds, 'sleepSeconds', 0, 86400);
      if (chapterKey !== undefined) options.chapterKey = chapterKey;
      if (trackKey !== undefined) options.trackKey = trackKey;
      if (secondsIn !== undefined) options.secondsIn = secondsIn;
      if (volume !== undefined) options.volume = volume;
      if (sleepSeconds !== undefined) options.sleepSeconds = sleepSeconds;
      return options;
    };

    /**
     * A copy of the message for the outputs, without the choice that led here: a story's next
     * yoto-cyoa-branch must wait for a new choice, not take the one made for the passage before.
     */
    const passageMessage = (msg: NodeMessage): NodeMessage => {
      const copy = RED.util.cloneMessage(msg) as NodeMessage & { choice?: unknown; branch?: unknown };
      delete copy.choice;
      delete copy.branch;
      return copy;
    };

    node.on('input', (received: NodeMessageInFlow, send: (msg: Array<NodeMessage | null>) => void, done: (err?: Error) => void) => {
      // Node-RED messages are open objects: msg.device and the options are read by name.
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      stopWatching();
      const mine = ++generation;
      let deviceLabel = '';
      let scriptLabel = '';
      (async () => {
        const { hub, state } = targetPlayer(hubConfig, config.device, msg['device'], t, (message) => new PlayScriptFailure(message));
        deviceLabel = `${state.name} (${state.deviceId})`;

        const options = deployOptions(msg);
        const script = await resolveScript(hub, msg);
        scriptLabel = script.name;
        setStatus({ fill: 'blue', shape: 'ring', text: t('status.deploying', { script: script.name, device: state.name }) });
        let result: DeployResult;
        try {
          result = await hub.deployScript(script.id, state.deviceId, options);
        } catch (error) {
          throw new PlayScriptFailure(t('errors.failed', { script: `${script.name} (${script.id})`, device: deviceLabel, reason: error instanceof Error ? error.message : String(error) }));
        }
        if (mine !== generation) {
          // A newer message (or close) took over while this one deployed.
          done();
          return;
        }
        setStatus({ fill: 'green', shape: 'dot', text: t('status.playing', { script: script.name }) });

        const listener = (event: DeviceEvent): void => {
          if (event.deviceId !== state.deviceId || !endsPlayback(event, result.cardId)) return;
          const finishedWatch = watch;
          watch = undefined;
          finishedWatch?.unsubscribe();
          setStatus({ fill: 'grey', shape: 'dot', text: t('status.finished', { script: script.name }) });
          const finished = passageMessage(msg);
          finished.payload = { scriptId: script.id, scriptName: script.name, deviceId: state.deviceId, deviceName: state.name, cardId: result.cardId, reason: event.type, event: { type: event.type, timestamp: event.timestamp, data: event.data } };
          send([null, finished]);
          finishedWatch?.done?.();
        };
        watch = { deviceId: state.deviceId, cardId: result.cardId, unsubscribe: hub.devices.bus.on(node, 'event', listener), done: waitForEnd ? () => done() : undefined };

        const started = passageMessage(msg);
        started.payload = { scriptId: script.id, scriptName: script.name, deviceId: state.deviceId, deviceName: state.name, cardId: result.cardId, result: result.result, ...(result.volume ? { volume: result.volume } : {}), ...(result.sleep ? { sleep: result.sleep } : {}) };
        send([started, null]);
        if (!waitForEnd) done();
      })().catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        setStatus({ fill: 'red', shape: 'ring', text: t('status.failed') });
        done(error instanceof PlayScriptFailure ? error : new PlayScriptFailure(t('errors.failed', { script: scriptLabel || '?', device: deviceLabel || '?', reason })));
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      generation++;
      stopWatching();
      stopHubStatus();
      done();
    });
  }

  RED.nodes.registerType('yoto-play-script', YotoPlayScriptNode);
};
