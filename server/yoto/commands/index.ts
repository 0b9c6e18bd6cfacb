export { describeMissingKeys, findTrack, neighbourTrack, playOrder, type TrackPosition } from './card-navigation';
export { planCommand, type CommanderPlayback, type CommandPlan, type ObservedSinceSend, type PlanContext } from './command-plan';
export { YotoDeviceCommander, type YotoDeviceCommanderOptions } from './device-commander';
