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

const USER_AGENT = 'metaaccess-sync (+https://github.com/metaaccess-sync)';

export const gotTransport: Transport = async (request) => {
  const pending = got(request.url, {
    method: request.method,
    ...(request.form ? { form: request.form } : {}),
    throwHttpErrors: false,
    followRedirect: false,
    retry: { limit: 0 },
    timeout: { request: request.timeoutMs },
    responseType: 'text',
    headers: { 'user-agent': USER_AGENT, accept: 'application/json' },
    ...(request.signal ? { signal: request.signal } : {}),
  });
  if (request.onSent) {
    const onSent = request.onSent;
    pending.on('request', (req) => req.once('finish', () => onSent({ reusedSocket: req.reusedSocket })));
  }
  const response = await pending;
  return { status: response.statusCode, headers: response.headers, body: response.body };
};
