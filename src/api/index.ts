/**
 * api/ (L5 adapter, like server/): the management HTTP JSON API through which users manage their
 * presence rules and see their offline message queue. The composition root creates a
 * ManagementApi, wires `onRulesChanged` to the subscription service and `messages` to the
 * MessageRelay.
 */
export { ManagementApi } from './management-api.js';
export type { ApiAuthenticator, ManagementApiOptions, QueuedMessageSource } from './management-api.js';
export { parseMessagesRoute, queuedMessageView } from './messages-route.js';
export type { MessagesRoute, QueuedMessageView } from './messages-route.js';
export { HttpError } from './http-error.js';
export { parseRulesRoute } from './rules-route.js';
export type { RulesRoute } from './rules-route.js';
export { resolveOwner } from './owner.js';
export type { DomainLookup, Owner } from './owner.js';
export { normalizeWatcher } from './watcher-key.js';
export { parseRuleBody, RULE_ACTIONS, RULE_CONTENTS } from './rule-body.js';
export type { RuleAction, RuleBody, RuleContent } from './rule-body.js';
export { adminTokenMatches, bearerToken } from './admin-token.js';
