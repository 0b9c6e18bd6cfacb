export { RealtimeGateway, WS_CLOSE, type RealtimeGatewayOptions, type RealtimeGatewayStats } from './realtime-gateway';
export { accessTokenFromRequest, BEARER_SUBPROTOCOL } from './access-token';
