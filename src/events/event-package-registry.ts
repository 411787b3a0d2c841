/**
 * The package registry: refuses duplicates and derives Allow-Events and the Accept values
 * (convention 5).
 */
import type { EventPackage } from './event-package.js';

export class EventPackageRegistry {
  readonly #packages = new Map<string, EventPackage>();

  register(pkg: EventPackage): this {
    const name = pkg.name.toLowerCase();
    if (this.#packages.has(name)) throw new Error(`event package ${name} is already registered`);
    if (pkg.accept.length === 0) throw new Error(`event package ${name} needs at least one body type`);
    if (!(pkg.minExpires <= pkg.defaultExpires && pkg.defaultExpires <= pkg.maxExpires)) {
      throw new Error(`event package ${name}: minExpires <= defaultExpires <= maxExpires must hold`);
    }
    this.#packages.set(name, pkg);
    return this;
  }

  /** The package for an Event header's package name (case-insensitive, RFC 6665 §8.2.1). */
  get(name: string): EventPackage | undefined {
    return this.#packages.get(name.toLowerCase());
  }

  /** Allow-Events value list (RFC 6665 §8.2.2). */
  get allowEvents(): string[] {
    return [...this.#packages.keys()];
  }

  get packages(): EventPackage[] {
    return [...this.#packages.values()];
  }
}
