/** The io of an in-process client command (`herald rules`, `herald messages`), capturing its output. */
import type { ApiCommandIo } from '../../src/cli/api-client.js';

export function captureIo(env: Record<string, string> = {}): { io: ApiCommandIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { env, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } },
    out: () => out,
    err: () => err,
  };
}
