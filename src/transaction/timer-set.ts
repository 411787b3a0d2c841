/**
 * The named timers of one transaction, all through the injected Clock (convention 4). A timer
 * that fires removes itself; `clearAll` is what entering "terminated" calls.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export class TimerSet<Name extends string> {
  readonly #clock: Clock;
  readonly #handles = new Map<Name, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)start timer `name` to run `fn` after `ms`. */
  start(name: Name, ms: number, fn: () => void): void {
    this.#handles.get(name)?.cancel();
    const handle = this.#clock.setTimeout(() => {
      if (this.#handles.get(name) === handle) this.#handles.delete(name);
      fn();
    }, ms);
    this.#handles.set(name, handle);
  }

  clear(name: Name): void {
    const handle = this.#handles.get(name);
    if (handle) {
      handle.cancel();
      this.#handles.delete(name);
    }
  }

  clearAll(): void {
    for (const handle of this.#handles.values()) handle.cancel();
    this.#handles.clear();
  }

  has(name: Name): boolean {
    return this.#handles.has(name);
  }

  get size(): number {
    return this.#handles.size;
  }
}
