/**
 * Presence authorization (RFC 3856 §5.1.2, the IMPP requirement that the principal controls
 * which watchers see its presence and how much of it): per-user rules with a default policy.
 *
 * A rule names a watcher exactly (`bob@example.org`), a whole domain (`*@example.org`) or
 * everyone (`*`); the most specific rule wins. Without a rule the default policy applies: one
 * action for watchers of the presentity's own domain, one for everyone else. A presentity always
 * sees itself. Each local domain may have its own default policy (multi-domain hosting, issue 5
 * item 4): the presentity's domain picks it.
 */
import type { PresenceRule, PresenceRuleStore } from '../../../storage/port.js';
import type { Authorization } from '../../event-package.js';

export type RuleAction = PresenceRule['action'];

export interface PresencePolicy {
  /** Watchers in the presentity's own domain. */
  sameDomain: RuleAction;
  /** Watchers of any other domain. */
  otherDomains: RuleAction;
  /** Content for watchers the default policy allows. */
  content: 'full' | 'basic';
  /** Per presentity domain (lower case) overrides of the two defaults. */
  perDomain?: ReadonlyMap<string, { sameDomain?: RuleAction; otherDomains?: RuleAction }>;
}

export class PresenceAuthorizer {
  readonly #rules: PresenceRuleStore;
  readonly #policy: PresencePolicy;

  constructor(rules: PresenceRuleStore, policy: PresencePolicy) {
    this.#rules = rules;
    this.#policy = policy;
  }

  async decide(resource: string, watcher: string): Promise<Authorization> {
    if (resource === watcher) return { decision: 'allow', content: 'full' };
    const rule = await this.ruleFor(resource, watcher);
    if (rule) return toAuthorization(rule.action, rule.content);
    const domain = domainOf(resource);
    const sameDomain = domain === domainOf(watcher);
    const own = this.#policy.perDomain?.get(domain);
    const action = sameDomain ? (own?.sameDomain ?? this.#policy.sameDomain) : (own?.otherDomains ?? this.#policy.otherDomains);
    return toAuthorization(action, this.#policy.content);
  }

  /** The rule that applies to `watcher`: exact, then domain, then everyone. */
  async ruleFor(resource: string, watcher: string): Promise<PresenceRule | undefined> {
    return (await this.#rules.get(resource, watcher))
      ?? (await this.#rules.get(resource, `*@${domainOf(watcher)}`))
      ?? (await this.#rules.get(resource, '*'));
  }
}

function toAuthorization(action: RuleAction, content: 'full' | 'basic'): Authorization {
  switch (action) {
    case 'allow':
      return { decision: 'allow', content };
    case 'block':
      return { decision: 'block' };
    case 'polite-block':
      return { decision: 'polite-block' };
    case 'confirm':
      return { decision: 'confirm' };
    default: {
      const never: never = action;
      throw new Error(`unknown rule action ${String(never)}`);
    }
  }
}

function domainOf(aor: string): string {
  return aor.slice(aor.lastIndexOf('@') + 1).toLowerCase();
}

/** Validate a watcher pattern for a rule: `user@domain`, `*@domain` or `*`. */
export function isWatcherPattern(pattern: string): boolean {
  return pattern === '*' || /^(\*|[^@\s*]+)@[^@\s*]+$/.test(pattern);
}
