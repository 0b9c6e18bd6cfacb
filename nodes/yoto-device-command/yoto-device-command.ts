import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { deviceSummary } from '../shared/device-lookup';
import { hubNodeParts, nodeFailure, targetPlayer } from '../shared/node-plumbing';
import { ARGUMENTS_OF, COMMAND_ARGUMENTS, commandRequest, commandValue, type CommandArgument } from './command-request';

/** The settings the editor stores: each argument is a typed input (value + type). */
interface YotoDeviceCommandNodeDef extends NodeDef {
  hub: string;
  /** Player id or name; when blank, `msg.device` says which player. */
  device: string;
  /** One of the commands, or `msg`: the command comes from the message. */
  command: string;
  /** 0 or 1 */
  outputs: number | string;
  cardId: string;
  cardIdType: string;
  chapterKey: string;
  chapterKeyType: string;
  trackKey: string;
  trackKeyType: string;
  secondsIn: string;
  secondsInType: string;
  position: string;
  positionType: string;
  volume: string;
  volumeType: string;
  seconds: string;
  secondsType: string;
  color: string;
  colorType: string;
}

/**
 * A problem found before or while sending, already worded for the user. A catch
 * node shows it as "YotoCommandError: <message>" (Node-RED uses the error's toString).
 */
const CommandFailure = nodeFailure('YotoCommandError');

export = function registerYotoDeviceCommand(RED: NodeAPI): void {
  function YotoDeviceCommandNode(this: Node, config: YotoDeviceCommandNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    // The hub's status shows until the node has sent something; after that, the last command's outcome.
    const { hubConfig, t, setStatus, stopHubStatus } = hubNodeParts(RED, node, 'yoto-device-command', config.hub);
    const withOutput = Number(config.outputs ?? 1) > 0;

    const evaluate = (value: string, type: string, msg: NodeMessage): Promise<unknown> => {
      if ((type === 'str' || type === 'num' || type === 'json' || !type) && (value ?? '') === '') return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        RED.util.evaluateNodeProperty(value, type || 'str', node, msg, (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result)));
      });
    };

    /** The command JSON, as a house would publish it on yoto/{id}/commands. */
    const commandMessage = async (msg: NodeMessageInFlow & Record<string, unknown>): Promise<Record<string, unknown>> => {
      let name: unknown = config.command;
      if (config.command === 'msg' || !config.command) {
        const payload = msg.payload;
        if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && typeof (payload as Record<string, unknown>)['command'] === 'string') {
          return { ...(payload as Record<string, unknown>) };
        }
        name = msg['command'];
        if (typeof name !== 'string' || name === '') throw new CommandFailure(t('errors.noCommand'));
      }
      const message: Record<string, unknown> = { command: name };
      for (const argument of ARGUMENTS_OF[String(name)] ?? []) {
        const value = await evaluateArgument(argument, msg);
        if (value !== undefined && value !== null && value !== '') message[COMMAND_ARGUMENTS[argument].field] = commandValue(argument, value);
      }
      return message;
    };
    const evaluateArgument = async (argument: CommandArgument, msg: NodeMessage): Promise<unknown> => {
      const value = config[argument] ?? '';
      const type = config[`${argument}Type` as `${CommandArgument}Type`] ?? 'str';
      try {
        return await evaluate(value, type, msg);
      } catch (error) {
        throw new CommandFailure(t('errors.argument', { field: argument, message: error instanceof Error ? error.message : String(error) }));
      }
    };

    node.on('input', (received: NodeMessageInFlow, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      // Node-RED messages are open objects: msg.device and msg.command are read by name.
      const msg = received as NodeMessageInFlow & Record<string, unknown>;
      let label = String(config.command || 'command');
      let deviceLabel = '';
      const fail = (error: unknown): void => {
        const reason = error instanceof Error ? error.message : String(error);
        setStatus({ fill: 'red', shape: 'ring', text: t('status.failed', { command: label }) });
        done(error instanceof CommandFailure ? error : new CommandFailure(t('errors.failed', { device: deviceLabel, command: label, reason })));
      };
      (async () => {
        const { hub, state } = targetPlayer(hubConfig, config.device, msg['device'], t, (message) => new CommandFailure(message));
        deviceLabel = `${state.name} (${state.deviceId})`;

        const message = await commandMessage(msg);
        if (typeof message['command'] === 'string') label = message['command'];
        const request = commandRequest(message);
        if (!request.ok) throw new CommandFailure(t('errors.invalid', { device: deviceLabel, command: label, field: request.field, reason: request.reason }));

        setStatus({ fill: 'blue', shape: 'ring', text: t('status.sending', { command: label, device: state.name }) });
        try {
          const result = await hub.command(state.deviceId, request.checked);
          setStatus({ fill: 'green', shape: 'dot', text: t('status.confirmed', { command: label, device: state.name }) });
          if (withOutput) {
            msg.payload = { ...result, deviceName: state.name, request: message };
            // The message now speaks of the player the command went to, not the one it came from.
            msg['device'] = deviceSummary(hub.devices.get(state.deviceId) ?? state);
            send(msg);
          }
          done();
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          throw new CommandFailure(t('errors.failed', { device: deviceLabel, command: label, reason }));
        }
      })().catch(fail);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      stopHubStatus();
      done();
    });
  }

  RED.nodes.registerType('yoto-device-command', YotoDeviceCommandNode);
};
