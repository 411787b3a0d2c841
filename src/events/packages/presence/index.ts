export { PresencePackage, PIDF, type PresencePackageOptions } from './presence-package.js';
export { PresenceAuthorizer, isWatcherPattern, type PresencePolicy, type RuleAction } from './presence-authorizer.js';
export { composePresence, composePresenceViews, type PresenceView } from './compose.js';
