import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.ts';
import { CONFIG_VARIABLES, ConfigProblems, loadConfig, readEnvironment } from './config.ts';

function refusal(env: Record<string, string>, requireCredentials = false): ConfigError {
  try {
    loadConfig(env, { requireCredentials });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('configuration was accepted');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBeUndefined();
    expect(c.pgliteDir).toBe('./data/pglite');
    expect(c.api).toMatchObject({
      url: 'https://gears.opswat.com',
      rateLimit: 10,
      rateWindowMs: 60_000,
      pageSize: 50,
      timeoutMs: 30_000,
      maxRetries: 5,
      maxResponseBytes: 16_777_216,
      allowInsecure: false,
      insecure: false,
    });
    expect(c.sync).toMatchObject({
      cron: '0 2 * * *',
      timezone: 'UTC',
      onStart: false,
      snapshotRetentionDays: 400,
      removalGuardPercent: 50,
      removalConfirm: 'lookup',
    });
    expect(c.httpPort).toBe(9464);
    expect(Object.isFrozen(c.api)).toBe(true);
  });

  it.each([
    ['METAACCESS_PAGE_SIZE', '51', /outside 1\.\.50/],
    ['METAACCESS_PAGE_SIZE', 'fifty', /not a whole number/],
    ['METAACCESS_RATE_LIMIT', '0', /outside/],
    ['METAACCESS_RATE_WINDOW_MS', '1.5', /not a whole number/],
    ['SYNC_CRON', 'every night', /not a valid cron/],
    ['SYNC_TIMEZONE', 'Mars/Olympus', /IANA/],
    ['SYNC_ON_START', 'maybe', /true or false/],
    ['SYNC_ON_START', 'yes', /"yes" is not true or false \(1 and 0 are accepted too\)/],
    ['METAACCESS_ALLOW_INSECURE', 'on', /not true or false/],
    ['SYNC_CRON', '61 * * * *', /minute 61 is outside 0-59/],
    ['SYNC_CRON', '0 25 * * *', /hour 25 is outside 0-23/],
    ['SYNC_CRON', '0 0 * 13 *', /month 13 is outside 1-12/],
    ['SYNC_CRON', '75 0 2 * * *', /second 75 is outside 0-59/],
    ['SYNC_CRON', '0 2 * *', /has 4 fields, a cron expression has 5 or 6/],
    ['REMOVAL_GUARD_PERCENT', '101', /outside/],
    ['REMOVAL_CONFIRM', 'never', /lookup, recheck or next-run/],
    ['METAACCESS_MAX_RESPONSE_BYTES', '1023', /outside 1024\.\.1073741824/],
    ['METAACCESS_MAX_RESPONSE_BYTES', '16MB', /not a whole number/],
    ['METAACCESS_ALLOW_INSECURE', 'please', /true or false/],
    ['METAACCESS_URL', 'http://gears.opswat.com', /unencrypted.*METAACCESS_ALLOW_INSECURE=true/],
    ['METAACCESS_URL', 'http://10.0.0.5:8080', /unencrypted/],
    ['METAACCESS_URL', 'http://localhost.example.com', /unencrypted/],
    ['METAACCESS_URL', 'ftp://gears.opswat.com', /http:\/\/ or https:\/\//],
    ['METAACCESS_URL', 'gears.opswat.com', /not a URL/],
    ['METAACCESS_URL', 'https://gears.opswat.com/o/api', /origin only/],
    ['DATABASE_URL', 'mysql://x', /postgres/],
    ['DATABASE_URL', 'postgres://u:pw@h:notaport/db', /not a valid URL .*port must be a number/],
    ['DATABASE_URL', 'postgres://u:p#w@h/db', /percent-encoded/],
    ['DATABASE_URL', 'postgres://u:Pa@ss/W0rdX@h:5432/db', /@ as %40/],
    ['LOG_LEVEL', 'loud', /not one of/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    const err = refusal({ [name]: value });
    expect(err.variable).toBe(name);
    expect(err.message).toMatch(new RegExp(`^${name}: `));
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(2);
  });

  it('accepts exactly true/false and 1/0 for every boolean, in any case', () => {
    for (const [raw, value] of [
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['False', false],
      ['0', false],
    ] as const) {
      expect(loadConfig({ SYNC_ON_START: raw }).sync.onStart).toBe(value);
      expect(loadConfig({ METAACCESS_ALLOW_INSECURE: raw }).api.allowInsecure).toBe(value);
    }
  });

  it('lists every bad variable at once, each on its own line naming it', () => {
    const err = refusal(
      {
        METAACCESS_PAGE_SIZE: '51',
        SYNC_CRON: '61 * * * *',
        SYNC_ON_START: 'yes',
        LOG_LEVEL: 'loud',
        METAACCESS_CLIENT_ID: 'id',
      },
      true,
    );
    expect(err).toBeInstanceOf(ConfigProblems);
    expect(err.exitCode).toBe(2);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe('5 problems:');
    for (const name of ['METAACCESS_PAGE_SIZE', 'SYNC_CRON', 'SYNC_ON_START', 'LOG_LEVEL', 'METAACCESS_CLIENT_SECRET']) {
      expect(lines.filter((line) => line.startsWith(`  ${name}: `))).toHaveLength(1);
    }
    expect((err as ConfigProblems).problems.map((p) => p.variable)).toContain('SYNC_CRON');
  });

  it('keeps the one-line wording when there is one problem', () => {
    const err = refusal({ METAACCESS_PAGE_SIZE: '51' });
    expect(err).not.toBeInstanceOf(ConfigProblems);
    expect(err.message).toBe('METAACCESS_PAGE_SIZE: 51 is outside 1..50');
  });

  it('accepts each removal confirmation mode and a response limit in range', () => {
    expect(CONFIG_VARIABLES).toEqual(
      expect.arrayContaining(['METAACCESS_MAX_RESPONSE_BYTES', 'METAACCESS_ALLOW_INSECURE', 'REMOVAL_CONFIRM']),
    );
    for (const mode of ['lookup', 'recheck', 'next-run']) expect(loadConfig({ REMOVAL_CONFIRM: mode }).sync.removalConfirm).toBe(mode);
    expect(loadConfig({ METAACCESS_MAX_RESPONSE_BYTES: '1024' }).api.maxResponseBytes).toBe(1024);
    expect(loadConfig({ METAACCESS_MAX_RESPONSE_BYTES: '1073741824' }).api.maxResponseBytes).toBe(1024 ** 3);
  });

  it('accepts every DATABASE_URL node-postgres accepts, socket forms included', () => {
    for (const url of [
      'postgres:///db?host=/var/run/postgresql',
      'postgresql://user@localhost/db',
      'postgres://user@/db',
      'postgres://u:p%ZZ w@db.example.com/db',
      'postgres://u:pw@[::1]:5432/db',
      'postgresql://u:pw@db.example.com:6432/metaaccess?sslmode=require',
    ]) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });

  it('never quotes a password or a query in a URL problem', () => {
    const cases: Record<string, string>[] = [
      { DATABASE_URL: 'postgres://u:PWLEAK42@h:notaport/db' },
      { METAACCESS_URL: 'https://u:PWLEAK42@gears.opswat.com/?access_token=SECRET77' },
      { METAACCESS_URL: 'https://gears.opswat.com/?access_token=SECRET77' },
      { METAACCESS_URL: 'https://gears.opswat.com/o/api?access_token=SECRET77' },
      { METAACCESS_URL: 'gears:PWLEAK42@opswat.com?access_token=SECRET77' },
      { DATABASE_URL: 'postgres://u:PW@LEAK42/tail@h:5432/db' },
    ];
    for (const env of cases) {
      const message = refusal(env).message;
      expect(message).toMatch(/^(DATABASE_URL|METAACCESS_URL): /);
      expect(message).not.toMatch(/PWLEAK42|SECRET77|LEAK42|tail/);
    }
    expect(refusal(cases[1]!).message).toMatch(/must not hold a user name or password/);
    expect(refusal(cases[2]!).message).toContain('remove the query (not shown) from https://gears.opswat.com');
  });

  it('accepts http:// only for loopback hosts, or for any host when METAACCESS_ALLOW_INSECURE=true (flagged insecure)', () => {
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:3000', 'http://127.42.0.9', 'http://[::1]:9000']) {
      const api = loadConfig({ METAACCESS_URL: url }).api;
      expect(api.url).toBe(new URL(url).origin);
      expect(api.insecure).toBe(false);
    }
    const allowed = loadConfig({ METAACCESS_URL: 'http://metaaccess.internal:8080', METAACCESS_ALLOW_INSECURE: 'true' }).api;
    expect(allowed).toMatchObject({ url: 'http://metaaccess.internal:8080', allowInsecure: true, insecure: true });
    const secure = loadConfig({ METAACCESS_URL: 'https://eu.gears.opswat.com', METAACCESS_ALLOW_INSECURE: 'true' }).api;
    expect(secure).toMatchObject({ allowInsecure: true, insecure: false });
  });

  it('requires credentials only when asked, and accepts either kind', () => {
    expect(refusal({}, true).message).toMatch(/METAACCESS_ACCESS_TOKEN/);
    expect(loadConfig({ METAACCESS_ACCESS_TOKEN: 'tok-1234' }, { requireCredentials: true }).api.credentials).toEqual({
      kind: 'token',
      accessToken: 'tok-1234',
    });
    expect(loadConfig({ METAACCESS_CLIENT_ID: 'id', METAACCESS_CLIENT_SECRET: 'secret-1' }).api.credentials.kind).toBe('oauth');
    expect(refusal({ METAACCESS_CLIENT_ID: 'id' }).variable).toBe('METAACCESS_CLIENT_SECRET');
  });

  it('reads secrets from *_FILE and never echoes them in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'token'), 'file-token-9876\n');
    expect(loadConfig({ METAACCESS_ACCESS_TOKEN_FILE: join(dir, 'token') }).api.credentials).toEqual({
      kind: 'token',
      accessToken: 'file-token-9876',
    });
    const missing = refusal({ METAACCESS_CLIENT_SECRET_FILE: join(dir, 'nope'), METAACCESS_CLIENT_ID: 'id' });
    expect(missing.variable).toBe('METAACCESS_CLIENT_SECRET_FILE');
    const both = refusal({ METAACCESS_ACCESS_TOKEN: 'abc-secret', METAACCESS_ACCESS_TOKEN_FILE: join(dir, 'token') });
    expect(both.message).not.toContain('abc-secret');
  });

  it('reads .env under the real environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, '.env'), 'METAACCESS_PAGE_SIZE=20\nLOG_LEVEL=debug\n');
    const env = readEnvironment({ LOG_LEVEL: 'warn' }, join(dir, '.env'));
    const c = loadConfig(env);
    expect(c.api.pageSize).toBe(20);
    expect(c.logLevel).toBe('warn');
  });
});
