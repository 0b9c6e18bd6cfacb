export {
  parsePlayerPayload,
  readPlayerPayload,
  type PlayerPayload,
  type PlayerStatus,
  type ReadOutcome,
  type ReadPlayerPayload,
  type ReceivedPlayerMessage,
} from './player-messages';
export {
  YotoMqttClient,
  type MalformedMessage,
  type YotoDeviceMessage,
  type YotoMqttClientEvents,
  type YotoMqttClientOptions,
  type YotoMqttState,
  type YotoMqttStats,
} from './yoto-mqtt-client';
