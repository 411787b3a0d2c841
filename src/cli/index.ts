/**
 * cli/ (L5): the subcommands of `herald` other than `serve`. `herald rules` and `herald messages`
 * are clients of a running server's management API (src/api).
 */
export { runRulesCommand } from './rules-command.js';
export type { RulesCommandIo } from './rules-command.js';
export { DEFAULT_API_URL, parseRulesArgs, rulesUsageText, RulesUsageError } from './rules-args.js';
export type { RuleAction, RuleContent, RulesCredentials, RulesInvocation } from './rules-args.js';
export { answerDigest } from './digest-client.js';
export type { DigestAnswerInput } from './digest-client.js';
export { parseChallenges } from './www-authenticate.js';
export type { Challenge } from './www-authenticate.js';
export { runMessagesCommand } from './messages-command.js';
export type { MessagesCommandIo } from './messages-command.js';
export { messagesUsageText, MessagesUsageError, parseMessagesArgs } from './messages-args.js';
export type { MessagesInvocation } from './messages-args.js';
export { resolveApiUrl, resolveCredentials, scanArgs } from './api-args.js';
export type { ApiCredentials, Env, ScanSpec, ScannedArgs, UsageFailure } from './api-args.js';
export { ApiCommandFailure, apiUrl, callApi, digestUsername } from './api-client.js';
export type { ApiCall, ApiCommandIo } from './api-client.js';
