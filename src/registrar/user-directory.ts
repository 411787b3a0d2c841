/**
 * Which users exist. With configured users, exactly those; in lab mode (`auth: off`) every user of
 * a local domain exists (the brief's lab rule), so tools need no user list.
 */
import type { UserDirectory } from './registrar.js';

export class ConfiguredUsers implements UserDirectory {
  readonly #users: ReadonlySet<string>;
  readonly #everyone: boolean;

  constructor(users: ReadonlyArray<{ user: string; domain: string }>, options: { everyone: boolean }) {
    this.#users = new Set(users.map((u) => `${u.user}@${u.domain.toLowerCase()}`));
    this.#everyone = options.everyone;
  }

  async exists(user: string, domain: string): Promise<boolean> {
    return this.#everyone || this.#users.has(`${user}@${domain.toLowerCase()}`);
  }
}
