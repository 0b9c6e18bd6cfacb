/**
 * The Yoto cloud of the fleet bench in its own process, as the real one is on
 * its own machines: a virtual cloud standing in for it (REST, OAuth and its
 * MQTT broker with AWS IoT's rules: test/helpers/yoto-cloud-stand-in.ts) with
 * `argv[2]` bench players. The hub signs in to it as to the real cloud and
 * follows the players through that broker, so the hub's CPU time is the hub's
 * work only, not the broker's routing of every player's messages. Sends
 * `YotoCloudStarted` once listening; stops when the parent disconnects.
 */
import { startYotoCloudStandIn } from '../test/helpers/yoto-cloud-stand-in';
import { benchPlayers } from './players';

export interface YotoCloudStarted {
  /** The hub settings that point the "real" cloud at it (cloudMode "yoto", its URLs and the app's client id). */
  settings: { cloudMode: 'yoto'; clientId: string; yotoAuthUrl: string; yotoApiUrl: string; yotoMqttUrl: string };
  /** Its broker, and the login its players publish with. */
  brokerUrl: string;
  playersLogin: { username: string; password: string };
  deviceIds: string[];
}

const players = benchPlayers(Number(process.argv[2] ?? 3));
void startYotoCloudStandIn({ players }).then((standIn) => {
  const started: YotoCloudStarted = { settings: standIn.settings, brokerUrl: standIn.broker.url, playersLogin: standIn.playersLogin, deviceIds: players.map((player) => player.deviceId) };
  process.send?.(started);
  process.on('disconnect', () => {
    void standIn.stop().then(() => process.exit(0));
  });
}, (error: unknown) => {
  process.stderr.write(`yoto cloud: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
