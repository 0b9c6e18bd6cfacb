export { buildOpenApi, openApiRoutes, HUB_ROUTES, type BuildOpenApiOptions, type HttpMethod, type RouteDoc } from './openapi';
