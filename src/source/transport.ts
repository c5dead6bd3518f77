import got from 'got';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  form?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
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
  const response = await got(request.url, {
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
  return { status: response.statusCode, headers: response.headers, body: response.body };
};
