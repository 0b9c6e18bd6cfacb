export { estimateMp3Seconds, looksLikeAudio } from './audio-probe';
export { VirtualPlayerFleet, type VirtualFleetStats, type VirtualPlayerFleetOptions } from './fleet';
export { fetchStream, type StreamFetch, type StreamProbe } from './stream-fetch';
export { DEFAULT_TIMING, type VirtualPlayerTiming } from './timing';
export { VirtualPlayer, type ShutdownReason, type VirtualPlayerDeps, type VirtualPlayerSetup } from './virtual-player';
