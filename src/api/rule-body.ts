/**
 * The body of `PUT /api/users/{user}/presence-rules/{watcher}`:
 *
 *   { "action": "allow" | "block" | "polite-block" | "confirm", "content"?: "full" | "basic" }
 *
 * `content` (default `full`) is how much an allowed watcher sees: everything, or the basic
 * open/closed status only. Unknown fields are refused, so a typo (`"acton"`) is reported rather
 * than silently ignored. Every problem names its field.
 */
import type { PresenceRule } from '../storage/port.js';
import { HttpError } from './http-error.js';

export type RuleAction = PresenceRule['action'];
export type RuleContent = PresenceRule['content'];

export const RULE_ACTIONS: readonly RuleAction[] = ['allow', 'block', 'polite-block', 'confirm'];
export const RULE_CONTENTS: readonly RuleContent[] = ['full', 'basic'];
const FIELDS = ['action', 'content'];

export interface RuleBody {
  readonly action: RuleAction;
  readonly content: RuleContent;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new HttpError(400, `${field}: must be one of ${allowed.join(', ')} (got ${describe(value)})`);
}

/** Parses and validates the body (UTF-8 JSON); throws HttpError 400 naming the field at fault. */
export function parseRuleBody(body: Buffer): RuleBody {
  if (body.length === 0) throw new HttpError(400, 'body: expected a JSON object like {"action": "allow"}');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, `body: expected a JSON object like {"action": "allow"} (got ${describe(value)})`);
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!FIELDS.includes(key)) throw new HttpError(400, `${key.length > 40 ? `${key.slice(0, 37)}...` : key}: unknown field (expected action, content)`);
  }
  if (!Object.prototype.hasOwnProperty.call(obj, 'action')) {
    throw new HttpError(400, `action: is required (${RULE_ACTIONS.join(', ')})`);
  }
  const action = oneOf(obj['action'], 'action', RULE_ACTIONS);
  const content = Object.prototype.hasOwnProperty.call(obj, 'content') ? oneOf(obj['content'], 'content', RULE_CONTENTS) : 'full';
  return { action, content };
}
