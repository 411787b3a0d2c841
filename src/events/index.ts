export type { Authorization, AuthorizeInput, ComposeInput, EventPackage, NotifyBody, WatcherChange, WatcherEvent } from './event-package.js';
export { EventPackageRegistry } from './event-package-registry.js';
export { SubscriptionService, type ResourceRef, type SubscriptionLimits, type SubscriptionServiceOptions, type WatcherRef } from './subscription-service.js';
export { NotifySender, type NotifyContent, type NotifyRenderContext, type NotifyRetryPolicy } from './notify-sender.js';
export { PublicationService, type PublicationChange, type PublicationServiceOptions } from './publication-service.js';
