/** HTTP replies the simulated API sends, in the shapes the real one uses. */
export interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string> | undefined;
}
export const json = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(value),
  headers,
});
export const apiError = (status: number, msg: string): Reply => json(status, { result: status, msg });
export const PAST_END = apiError(413, 'Requested page number exceeds limit');
export const RATE_LIMITED = apiError(429, 'The request exceeds the API rate limit');
