import { randomChars, UPPER_ALNUM, type Rng } from './rng.ts';
import { json, type Reply } from './replies.ts';
import type { SimulatorOptions } from './simulatorTypes.ts';

/** Static tokens and OAuth client credentials; issued tokens expire after their TTL. */
export function createAuth(auth: SimulatorOptions['auth'], rng: Rng) {
  const tokens = new Map<string, number>();
  const ttlSeconds = auth?.tokenTtlSeconds ?? 3600;
  const hasClient = auth?.clientId !== undefined || auth?.clientSecret !== undefined;
  const open = auth?.token === undefined && !hasClient;
  const clientOk = (id: string, secret: string): boolean =>
    hasClient ? (auth?.clientId ?? id) === id && (auth?.clientSecret ?? secret) === secret : open && id !== '' && secret !== '';
  return {
    accepts(token: string | null, now: number): boolean {
      if (!token) return false;
      if (open || token === auth?.token) return true;
      const expiresAt = tokens.get(token);
      return expiresAt !== undefined && now < expiresAt;
    },
    issue(form: URLSearchParams, now: number): Reply {
      if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
      if (!clientOk(form.get('client_id') ?? '', form.get('client_secret') ?? '')) {
        return json(401, { error: 'invalid_client' });
      }
      const token = randomChars(rng, 48, UPPER_ALNUM);
      tokens.set(token, now + ttlSeconds * 1000);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds });
    },
    revoke: (): void => tokens.clear(),
  };
}
