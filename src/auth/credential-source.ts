/**
 * Where digest secrets come from. The authenticator asks by (username, realm); a source answers
 * with a password or with precomputed HA1 values (RFC 7616 §3.4.2: HA1 = H(username:realm:passwd),
 * which lets a server keep no clear-text passwords — a user known only by an MD5 HA1 can only
 * authenticate with MD5, one known by a SHA-256 HA1 only with SHA-256).
 */
export interface UserCredentials {
  username: string;
  realm: string;
  password?: string;
  /** Lower-case hex H(username:realm:password) per hash. */
  ha1?: { md5?: string; sha256?: string };
}

export interface CredentialSource {
  /** The user's secrets for `realm`, or undefined when the user is unknown there. */
  lookup(user: string, realm: string): Promise<UserCredentials | undefined>;
}

/** A user as configured (config `auth.users[]`): the realm is the user's domain. */
export interface StaticUser {
  user: string;
  domain: string;
  password?: string;
  /** MD5 HA1, 32 hex digits. */
  ha1?: string;
  /** SHA-256 HA1, 64 hex digits. */
  ha1Sha256?: string;
}

function isHex(s: string, length: number): boolean {
  if (s.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i) | 0x20; // fold A-F to a-f
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * Credentials from configuration. Realms (domains) match case-insensitively, user names exactly (the
 * user part of a SIP URI is case-sensitive, RFC 3261 §19.1.4). A password is kept so the HA1 is
 * computed with the realm exactly as the client hashed it; a configured HA1 must have been computed
 * with the realm string the server challenges with. When both are given, the HA1 is used for its
 * algorithm and the password for the other. Invalid entries throw RangeError naming the entry.
 */
export class StaticCredentialSource implements CredentialSource {
  readonly #users = new Map<string, UserCredentials>();

  constructor(users: readonly StaticUser[]) {
    users.forEach((u, index) => {
      const where = `auth.users[${index}]`;
      if (typeof u.user !== 'string' || u.user === '') throw new RangeError(`${where}: user must be a non-empty string`);
      if (typeof u.domain !== 'string' || u.domain === '') throw new RangeError(`${where} (${u.user}): domain must be a non-empty string`);
      const id = `${where} (${u.user}@${u.domain})`;
      if (u.password === undefined && u.ha1 === undefined && u.ha1Sha256 === undefined) {
        throw new RangeError(`${id}: needs password, ha1 or ha1Sha256`);
      }
      if (u.ha1 !== undefined && !isHex(u.ha1, 32)) throw new RangeError(`${id}: ha1 must be 32 hex digits (MD5)`);
      if (u.ha1Sha256 !== undefined && !isHex(u.ha1Sha256, 64)) throw new RangeError(`${id}: ha1Sha256 must be 64 hex digits (SHA-256)`);
      const realm = u.domain;
      const key = StaticCredentialSource.#key(u.user, realm);
      if (this.#users.has(key)) throw new RangeError(`${id}: duplicate user`);
      const ha1: { md5?: string; sha256?: string } = {};
      if (u.ha1 !== undefined) ha1.md5 = u.ha1.toLowerCase();
      if (u.ha1Sha256 !== undefined) ha1.sha256 = u.ha1Sha256.toLowerCase();
      const entry: UserCredentials = { username: u.user, realm };
      if (u.password !== undefined) entry.password = u.password;
      if (u.ha1 !== undefined || u.ha1Sha256 !== undefined) entry.ha1 = Object.freeze(ha1);
      this.#users.set(key, Object.freeze(entry));
    });
  }

  static #key(user: string, realm: string): string {
    return `${realm.toLowerCase()}\u0000${user}`;
  }

  lookup(user: string, realm: string): Promise<UserCredentials | undefined> {
    return Promise.resolve(this.#users.get(StaticCredentialSource.#key(user, realm)));
  }

  get size(): number {
    return this.#users.size;
  }
}
