export { createAnalyticsApi, type AnalyticsApi, type AnalyticsApiOptions } from './analytics-api';
export { Rollups, dayOf, type ContentTotals, type DayTotals, type DeviceTotals, type Range } from './rollups';
