export { Registrar, type RegistrarLimits, type RegistrarOptions, type RegistrationGuard, type UserDirectory } from './registrar.js';
export { LocationService, bindingTarget, returnPath, type BindingRemovedListener, type LocationServiceOptions } from './location-service.js';
export { LocalDomains, normalizeHost } from './local-domains.js';
export { addressOfRecord, anyAddressOfRecord, type AddressOfRecord } from './address-of-record.js';
export { ConfiguredUsers } from './user-directory.js';
