/** Types for notify-responder.mjs (plain JS so the benches run without a build step). */
export class NotifyResponder {
  static start(options?: {
    address?: string;
    recvBufferSize?: number;
    onNote?: (seq: number, at: number, dialog: string) => void;
  }): Promise<NotifyResponder>;
  readonly port: number;
  readonly notifies: number;
  readonly duplicates: number;
  readonly terminated: number;
  readonly other: number;
  readonly established: number;
  set onNote(fn: (seq: number, at: number, dialog: string) => void);
  watchersOf(user: string): number;
  get recvBufferSize(): number;
  close(): Promise<void>;
}
