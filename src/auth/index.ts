/** The auth folder's public surface (ARCHITECTURE.md §1: folders talk through their index.ts). */
export { DigestAuthenticator } from './authenticator.js';
export type {
  AuthFailureReason, AuthRequest, AuthResult, ChallengeOptions, DigestAuthenticatorOptions,
} from './authenticator.js';
export { StaticCredentialSource } from './credential-source.js';
export type { CredentialSource, StaticUser, UserCredentials } from './credential-source.js';
export { CidrSet, parseCidr } from './cidr.js';
export type { CidrPrefix } from './cidr.js';
export {
  computeHa1, computeResponse, digestEquals, digestHash, parseDigestAlgorithm,
} from './digest.js';
export type { DigestAlgorithm, DigestQop, DigestResponseInput } from './digest.js';
export { digestUriMatches } from './digest-uri.js';
export { NonceManager } from './nonce-manager.js';
export type { NonceManagerOptions, NonceStatus, NonceUse } from './nonce-manager.js';
export { RequestGuard } from './request-guard.js';
export type { OwnedAddress, RequestGuardOptions, RequestIdentity } from './request-guard.js';
