import type { Clock, TimerHandle } from './clock.js';

/**
 * One coarse timer that runs a sweep every `intervalMs` (convention 4: long-lived expiry is data,
 * swept; not a timer per object). A sweep never overlaps the previous one; errors go to `onError`.
 */
export class PeriodicSweep {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #task: (now: number) => Promise<void>;
  readonly #onError: (err: unknown) => void;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(clock: Clock, intervalMs: number, task: (now: number) => Promise<void>, onError: (err: unknown) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#task = task;
    this.#onError = onError;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /** Run one sweep now (also used by tests). */
  async runOnce(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#task(this.#clock.now()).catch(this.#onError).finally(() => { this.#running = undefined; });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimeout(() => {
      void this.runOnce().finally(() => this.#schedule());
    }, this.#intervalMs);
  }
}
