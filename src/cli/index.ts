/**
 * cli/ (L5): the subcommands of `herald` other than `serve`. `herald rules` is a client of a
 * running server's management API (src/api).
 */
export { runRulesCommand } from './rules-command.js';
export type { RulesCommandIo } from './rules-command.js';
export { DEFAULT_API_URL, parseRulesArgs, rulesUsageText, RulesUsageError } from './rules-args.js';
export type { RuleAction, RuleContent, RulesCredentials, RulesInvocation } from './rules-args.js';
export { answerDigest } from './digest-client.js';
export type { DigestAnswerInput } from './digest-client.js';
export { parseChallenges } from './www-authenticate.js';
export type { Challenge } from './www-authenticate.js';
