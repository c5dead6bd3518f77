import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

/** A stderr stand-in: a pipe, or a terminal when `isTTY` says so. */
function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), isTTY ? { isTTY: true } : {});
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

async function prettyLine(isTTY: boolean, env: Record<string, string | undefined>, message = 'sync finished'): Promise<string> {
  const out = capture(isTTY);
  const logger = createLogger({ level: 'info', format: 'pretty', stream: out.stream, env });
  logger.warn(message, { devices: 3, day: undefined });
  await new Promise((resolve) => setImmediate(resolve));
  return out.text();
}

const ESC = '\x1b';

describe('pretty log lines', () => {
  it('are coloured on a terminal and plain in a pipe', async () => {
    expect(await prettyLine(true, {})).toContain(`${ESC}[33mwarn${ESC}[39m sync finished  devices=3`);
    const piped = await prettyLine(false, {});
    expect(piped).toMatch(/ warn sync finished {2}devices=3\n$/);
    expect(piped).not.toContain(ESC);
  });

  it('follow NO_COLOR on a terminal and FORCE_COLOR in a pipe, FORCE_COLOR winning as in Node', async () => {
    expect(await prettyLine(true, { NO_COLOR: '1' })).not.toContain(ESC);
    expect(await prettyLine(true, { NO_COLOR: '' })).toContain(ESC);
    expect(await prettyLine(false, { FORCE_COLOR: '1' })).toContain(`${ESC}[33mwarn`);
    expect(await prettyLine(true, { FORCE_COLOR: '0' })).not.toContain(ESC);
    expect(await prettyLine(false, { FORCE_COLOR: '1', NO_COLOR: '1' })).toContain(ESC);
  });

  it('show control characters of a message as escapes, even on a terminal', async () => {
    const line = await prettyLine(true, { NO_COLOR: '1' }, `server said ${ESC}[2J\r\x07`);
    expect(line).toContain('server said \\x1b[2J\\r\\x07');
    expect(line).not.toContain(ESC);
  });
});

describe('JSON log lines', () => {
  it('are never coloured, even on a terminal', async () => {
    const out = capture(true);
    createLogger({ level: 'info', format: 'json', stream: out.stream, env: { FORCE_COLOR: '1' } }).info('hello');
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(out.text())).toMatchObject({ level: 'info', message: 'hello' });
  });
});
