import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demoCommand } from './demoCommand.ts';
import { main } from './main.ts';
import { simulateCommand } from './simulateCommand.ts';

function collect() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('what a first SIGTERM or SIGINT says', () => {
  it('simulate: it stops the simulator (there are no pages to store), and exits 0', async () => {
    const stdout = collect();
    const stderr = collect();
    const running = main(['simulate', '--port', '0', '--devices', '5'], {
      commands: [simulateCommand],
      env: { LOG_FORMAT: 'json' },
      stdout: stdout.stream,
      stderr: stderr.stream,
      isTty: false,
    });
    while (!stdout.text().includes('METAACCESS_URL=')) await new Promise((resolve) => setTimeout(resolve, 10));
    // What the process does on a real SIGTERM: main's listener runs.
    process.emit('SIGTERM', 'SIGTERM');
    expect(await running).toBe(0);
    expect(stderr.text()).toContain('metaaccess-sync: SIGTERM received, stopping the simulator (again to exit now)\n');
    expect(stderr.text()).not.toMatch(/pages|stored/);
    expect(stderr.text()).toMatch(/"message":"simulator stopped"/);
  });

  it('a plain demo is a sync: the generic notice about storing the pages received', () => {
    expect(demoCommand.stopNotice?.('SIGTERM')).toBeUndefined();
  });
});
