/**
 * api/ (L5 adapter, like server/): the management HTTP JSON API through which users manage their
 * presence rules. The composition root creates a ManagementApi and wires `onRulesChanged` to the
 * subscription service.
 */
export { ManagementApi } from './management-api.js';
export type { ApiAuthenticator, ManagementApiOptions } from './management-api.js';
export { HttpError } from './http-error.js';
export { parseRulesRoute } from './rules-route.js';
export type { RulesRoute } from './rules-route.js';
export { resolveOwner } from './owner.js';
export type { DomainLookup, Owner } from './owner.js';
export { normalizeWatcher } from './watcher-key.js';
export { parseRuleBody, RULE_ACTIONS, RULE_CONTENTS } from './rule-body.js';
export type { RuleAction, RuleBody, RuleContent } from './rule-body.js';
export { adminTokenMatches, bearerToken } from './admin-token.js';
