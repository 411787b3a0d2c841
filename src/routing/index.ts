export { Router, KNOWN_METHODS, type Capabilities, type RouterOptions } from './router.js';
export { GatewayRoutes, phoneNumberOf, noRouteToNumber, type Gateway, type GatewayDefinition } from './gateway-routes.js';
export { FederationPolicy } from './federation-policy.js';
