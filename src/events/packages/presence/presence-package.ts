/**
 * The presence event package (RFC 3856): PIDF (RFC 3863) bodies with RPID (RFC 4480), composed
 * from every publication of the presentity and, when enabled, from its registrations (a
 * registered device that never published shows as open).
 *
 * Conformance: `presence` package, `application/pidf+xml` for SUBSCRIBE and PUBLISH; published
 * documents are parsed and refused with 400 (or 413 when too large) before they are stored;
 * authorization per watcher through the presentity's rules (RFC 3856 §5.1.2).
 * DEVIATION(RFC 3856 §6.6.2): `application/pidf+xml` only; no `application/cpim-pidf+xml`
 * alias and no partial PIDF (RFC 5262).
 */
import { SipError } from '../../../sip/index.js';
import { DocumentError, isDocumentError, parsePidf, type XmlLimits } from '../../../documents/index.js';
import type { Binding, PublicationRecord } from '../../../storage/port.js';
import type { Authorization, ComposeInput, EventPackage, NotifyBody } from '../../event-package.js';
import { composePresenceViews, type PresenceView } from './compose.js';
import type { PresenceAuthorizer } from './presence-authorizer.js';

export const PIDF = 'application/pidf+xml';

export interface PresencePackageOptions {
  /** The presentity's current publications. */
  publications(resource: string): Promise<PublicationRecord[]>;
  /** The presentity's live bindings (presence from registration); undefined = off. */
  bindings: ((resource: string) => Promise<Binding[]>) | undefined;
  authorizer: PresenceAuthorizer;
  /** Lab mode: everyone may watch everyone, fully. */
  openToAll: boolean;
  expires: { min: number; default: number; max: number };
  maxDocumentBytes: number;
}

export class PresencePackage implements EventPackage {
  readonly name = 'presence';
  readonly accept = [PIDF] as const;
  readonly publishAccept = [PIDF] as const;
  readonly winfoPeer = 'presence.winfo';
  readonly minExpires: number;
  readonly defaultExpires: number;
  readonly maxExpires: number;
  readonly #o: PresencePackageOptions;
  readonly #limits: Partial<XmlLimits>;
  /** Composed views per resource, shared by all its watchers until the state changes. */
  readonly #views = new Map<string, Promise<Record<PresenceView, string>>>();

  constructor(options: PresencePackageOptions) {
    this.#o = options;
    this.minExpires = options.expires.min;
    this.defaultExpires = options.expires.default;
    this.maxExpires = options.expires.max;
    this.#limits = { maxBytes: options.maxDocumentBytes };
  }

  /** The presentity's state changed: the next compose builds it anew. */
  invalidate(resource: string): void {
    this.#views.delete(resource);
  }

  validatePublish(_contentType: string, body: string): void {
    try {
      parsePidf(body, this.#limits);
    } catch (err) {
      if (isDocumentError(err)) {
        const e = err as DocumentError;
        if (e.code === 'DOCUMENT_TOO_LARGE') throw new SipError('REQUEST_ENTITY_TOO_LARGE', { detail: e.message });
        throw new SipError('BAD_BODY', { detail: `bad PIDF: ${e.message}` });
      }
      throw err;
    }
  }

  async authorize(input: { resource: string; watcher: string }): Promise<Authorization> {
    if (this.#o.openToAll) return { decision: 'allow', content: 'full' };
    return this.#o.authorizer.decide(input.resource, input.watcher);
  }

  async compose(input: ComposeInput): Promise<NotifyBody> {
    const views = await this.#composeViews(input.resource);
    const a = input.authorization;
    const view: PresenceView = a.decision === 'polite-block' ? 'polite-block' : a.decision === 'allow' && a.content === 'basic' ? 'basic' : 'full';
    return { contentType: PIDF, body: views[view] };
  }

  #composeViews(resource: string): Promise<Record<PresenceView, string>> {
    let views = this.#views.get(resource);
    if (!views) {
      views = (async () => {
        const [publications, bindings] = await Promise.all([
          this.#o.publications(resource),
          this.#o.bindings ? this.#o.bindings(resource) : Promise.resolve([]),
        ]);
        return composePresenceViews({ entity: `sip:${resource}`, publications, registrations: bindings, limits: this.#limits });
      })();
      this.#views.set(resource, views);
      // A failed composition is not kept.
      views.catch(() => this.#views.delete(resource));
    }
    return views;
  }
}
