import type { IClientOptions } from 'mqtt';

/**
 * mqtt.js's logging option for the hub's MQTT clients. mqtt.js logs through `debug` several times
 * per packet, and each call builds its arguments and asks `debug` whether it is enabled before
 * doing nothing: about 7% of the hub's time at 10k player messages a second. Unless `DEBUG` is
 * set (then mqtt.js logs as its documentation says, e.g. `DEBUG=mqttjs*`), the clients log nothing.
 */
export function mqttLogOption(env: NodeJS.ProcessEnv = process.env): Pick<IClientOptions, 'log'> {
  return env['DEBUG'] ? {} : { log: ignore };
}

function ignore(): void {}
