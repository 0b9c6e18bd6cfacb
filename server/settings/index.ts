export * from './model';
export { PlayerSettingsService, SettingsUnavailableError, type PlayerSettingsView } from './settings-service';
export { settingsRoutes, settingsApiError } from './routes';
export { SettingsBridge } from './settings-bridge';
export { settingsDiscoveryConfigs, settingsEntities, settingsTopics } from './home-assistant-settings';
