/**
 * Reads a request body up to a limit. A body announced larger than the limit (Content-Length) is
 * refused before a byte is read; one that grows past it while streaming (chunked) is refused as
 * soon as it does. Either way HttpError 413, and the caller answers with `Connection: close`.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `body: larger than ${maxBytes} bytes`, { reason: 'too-large' });
}

/** Throws HttpError 413 when the Content-Length announces more than `maxBytes`. */
export function checkContentLength(req: IncomingMessage, maxBytes: number): void {
  const header = req.headers['content-length'];
  // Node has already refused a malformed or repeated Content-Length (400 via clientError).
  if (header !== undefined && Number(header) > maxBytes) throw tooLarge(maxBytes);
}

/** The body, at most `maxBytes`; rejects with HttpError 413 beyond, 400 if the client goes away. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new HttpError(400, `body: ${err.message}`, { reason: 'read-error' }));
    };
    const onClose = (): void => {
      cleanup();
      reject(new HttpError(400, 'body: the client closed the connection', { reason: 'aborted' }));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
