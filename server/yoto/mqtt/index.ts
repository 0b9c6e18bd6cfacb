export { parsePlayerPayload, type ParsedPayload, type ParseOutcome } from './payload-validation';
export { mergePlaybackEvent, PlaybackTracker, type DevicePlayback } from './playback-tracker';
export {
  YotoMqttClient,
  type MalformedMessage,
  type YotoDeviceMessage,
  type YotoMqttClientEvents,
  type YotoMqttClientOptions,
  type YotoMqttState,
  type YotoMqttStats,
} from './yoto-mqtt-client';
