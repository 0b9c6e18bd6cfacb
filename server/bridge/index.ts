export { HomeBrokerBridge } from './home-broker-bridge';
export type { AnnouncementPlayer, HomeBrokerBridgeOptions, HomeBrokerBridgeStats, ScriptPlayer } from './home-broker-bridge';
export { mapBrokerCommand, parseColor, type MappedCommand, type ScriptPlayRequest } from './command-mapping';
export { allConfigTopics, homeAssistantConfigs, modelName, type DiscoveryConfig, type HomeAssistantOptions } from './home-assistant';
export { brokerTopics, isTopicSafeId, DEFAULT_DISCOVERY_PREFIX, DEFAULT_TOPIC_PREFIX, type BrokerTopics } from './topics';
