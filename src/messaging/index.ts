/**
 * Messaging (L4): MESSAGE relay and offline store-and-forward (RFC 3428). The router hands a
 * MESSAGE for a local user to `MessageRelay.handle`; the registrar's binding changes call
 * `MessageRelay.recipientRegistered`; the composition root starts and stops it.
 */
export { MessageRelay, DEFAULT_MESSAGE_RELAY_LIMITS } from './message-relay.js';
export type {
  DeliveryReport,
  MessageRelayLimits,
  MessageRelayOptions,
  RelayOutcome,
  TargetSource,
} from './message-relay.js';
export { isNotificationContent, cpimContentType, NEVER_STORED_TYPES } from './notification-content.js';
export { KEPT_HEADERS, deliveryRequest, storedMessageOf } from './stored-message.js';
export { MessageAdmission } from './message-admission.js';
export type { MessageAdmissionOptions } from './message-admission.js';
