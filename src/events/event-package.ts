/**
 * Event packages as descriptors (convention 5; pjsip `pjsip_evsub_register_pkg`, Kamailio
 * `pres_ev_t`). The framework (subscriptions, publications, NOTIFY) knows no package by name:
 * everything package-specific is a field or hook here.
 */
import type { PublicationRecord, SubscriptionRecord } from '../storage/port.js';

/** What a NOTIFY carries for one subscription. */
export interface NotifyBody {
  contentType: string;
  body: string;
}

/** The authorization decision for one watcher (RFC 6665 §4.2.1.2, RFC 3856 §5.1.2). */
export type Authorization =
  | { decision: 'allow'; content: 'full' | 'basic' }
  | { decision: 'block' }          // 403 to the SUBSCRIBE; an existing subscription ends (rejected)
  | { decision: 'polite-block' }   // accepted, active, but the watcher only ever sees a neutral state
  | { decision: 'confirm' };       // pending until the presentity decides

export interface AuthorizeInput {
  /** AOR key of the resource (`alice@localhost`). */
  resource: string;
  /** AOR key of the watcher (`bob@example.org`). */
  watcher: string;
}

export interface ComposeInput {
  resource: string;
  /** The subscription the body is for (content type negotiated, watcher, state). */
  subscription: SubscriptionRecord;
  /** The watcher's authorization (how much it may see). */
  authorization: Authorization;
  /**
   * For watcher-information packages: the change that caused this NOTIFY (a watcher came, went
   * or changed state), so a partial document can be sent (RFC 3858 §4.2). Absent for the first
   * NOTIFY of a subscription and for refreshes (then the full state).
   */
  change?: WatcherChange;
}

/** RFC 3857 §3.3 watcher events. */
export type WatcherEvent = 'subscribe' | 'approved' | 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource';

export interface WatcherChange {
  subscription: SubscriptionRecord;
  event: WatcherEvent;
}

export interface EventPackage {
  /** Event package name (RFC 6665 §7.2), lower-case: `presence`. */
  readonly name: string;
  /** Body types the package can send, the default first (used when a SUBSCRIBE has no Accept). */
  readonly accept: readonly string[];
  readonly defaultExpires: number;
  readonly minExpires: number;
  readonly maxExpires: number;
  /**
   * Body types accepted in PUBLISH (RFC 3903 §4); undefined when the package takes no PUBLISH
   * (the framework then answers 489, RFC 3903 §6 step 2).
   */
  readonly publishAccept?: readonly string[];
  /**
   * Validate a published body (parse it); throw SipError BAD_BODY (400) with a reason.
   * Default: accept any body of a `publishAccept` type.
   */
  validatePublish?(contentType: string, body: string): void;
  /**
   * Who may watch. Default (RFC 6665 §4.2.1.2 leaves policy to the package): allow, full.
   */
  authorize?(input: AuthorizeInput): Promise<Authorization>;
  /** The current state document for one subscription. */
  compose(input: ComposeInput): Promise<NotifyBody>;
  /**
   * The name of the watcher-information package that reports this package's watchers
   * (RFC 3857: `presence` -> `presence.winfo`).
   */
  readonly winfoPeer?: string;
  /**
   * For a watcher-information package: the package it watches (`presence.winfo` -> `presence`).
   * The framework then treats the resource's own subscriptions as the state.
   */
  readonly watches?: string;
  /** Whether a subscriber may ask about a resource that is not a local user (default false: 404). */
  readonly allowForeignResource?: boolean;
}

/** Inputs to a package's compose hook that come from publications. */
export type Publications = readonly PublicationRecord[];
