import { describe, expect, it } from 'vitest';
import { describeUrl } from './pgConnection.ts';

describe('describeUrl: a connection string as an operator may see it', () => {
  it('drops the password from the userinfo and the query', () => {
    expect(describeUrl('postgres://sync:hunter2@db:5432/inventory')).toBe('postgres://sync@db:5432/inventory');
    expect(describeUrl('postgres://sync@db/inventory?password=hunter2&sslmode=require')).toBe(
      'postgres://sync@db/inventory?sslmode=require',
    );
  });

  it('shows nothing of a password with an unencoded "@" (its tail would read as host and path)', () => {
    const shown = describeUrl('postgres://postgres:Pa@ss/W0rdX@127.0.0.1:5432/inventory');
    for (const part of ['Pa', 'ss/', 'W0rdX']) expect(shown).not.toContain(part);
    expect(shown).toContain('%40');
  });

  it('says so when the string is not a URL, without echoing it', () => {
    expect(describeUrl('postgres://sync:hunter2@db:notaport/inventory')).toBe('(not a URL)');
  });
});
