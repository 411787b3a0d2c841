/** Types for presence-publisher.mjs (plain JS so the benches run without a build step). */
export class PresencePublisher {
  static start(options: { server: { address: string; port: number }; domain: string; timeoutMs?: number }): Promise<PresencePublisher>;
  readonly retransmissions: number;
  get inFlight(): number;
  close(): Promise<void>;
  publish(user: string, seq: number, onSent?: (sentAt: number) => void): Promise<number>;
  publishAtRate(
    items: readonly { user: string; seq: number }[],
    rate: number,
    onSent?: (item: { user: string; seq: number }, sentAt: number) => void,
  ): Promise<{ answers: Promise<number>[]; sendRate: number }>;
}
