import type { ClientRequest } from 'node:http';
import got from 'got';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  form?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called once the request has been written to the socket (the rate limiter's send time). */
  onSent?: (info: { reusedSocket: boolean }) => void;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP exchange, no retries, no status handling: the API client owns those decisions. */
export type Transport = (request: HttpRequest) => Promise<HttpResponse>;

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** The body grew past the limit; the request was destroyed before more of it was read. */
export class ResponseTooLargeError extends Error {
  readonly code = 'RESPONSE_TOO_LARGE';
  constructor(readonly limitBytes: number) {
    super(`response body larger than ${limitBytes} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

export interface GotTransportOptions {
  /** Counted after decompression: a small gzip body can inflate to gigabytes. */
  maxResponseBytes: number;
}

const USER_AGENT = 'metaaccess-sync (+https://github.com/metaaccess-sync)';

/**
 * got in stream mode, so the body is counted chunk by chunk as it is inflated and the request is
 * destroyed the moment it passes the limit: the promise API would buffer the whole body first.
 */
export function createGotTransport(options: GotTransportOptions): Transport {
  const limit = options.maxResponseBytes;
  return async (request) => {
    const stream = got.stream(request.url, {
      method: request.method,
      ...(request.form ? { form: request.form } : {}),
      throwHttpErrors: false,
      followRedirect: false,
      retry: { limit: 0 },
      timeout: { request: request.timeoutMs },
      headers: { 'user-agent': USER_AGENT, accept: 'application/json' },
    });
    // The signal is ours to follow, not got's: got keeps listening after the body has been read,
    // and an abort then (the pager cancels what it no longer needs) would destroy a finished
    // stream with an error nobody listens for — an uncaught exception.
    const signal = request.signal;
    signal?.throwIfAborted();
    const onAbort = () => stream.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await readBounded(stream, limit, request.onSent);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream.on('error', () => undefined);
    }
  };
}

async function readBounded(stream: ReturnType<typeof got.stream>, limit: number, onSent: HttpRequest['onSent']): Promise<HttpResponse> {
  if (onSent) {
    stream.on('request', (req: ClientRequest) => req.once('finish', () => onSent({ reusedSocket: req.reusedSocket })));
  }
  let head: Omit<HttpResponse, 'body'> | undefined;
  stream.once('response', (response: { statusCode: number; headers: HttpResponse['headers'] }) => {
    head = { status: response.statusCode, headers: response.headers };
  });
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop by a throw destroys the stream, which aborts the request.
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ResponseTooLargeError(limit);
    chunks.push(chunk);
  }
  if (!head) throw Object.assign(new Error('no response received'), { code: 'ECONNRESET' });
  return { ...head, body: Buffer.concat(chunks, size).toString('utf8') };
}
