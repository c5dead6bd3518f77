import { describe, expect, it } from 'vitest';
import { demoCommand } from './demoCommand.ts';
import { simulateCommand } from './simulateCommand.ts';

describe('what a first SIGTERM or SIGINT says', () => {
  it('simulate: it stops the simulator, which stores nothing', () => {
    const notice = simulateCommand.stopNotice('SIGTERM');
    expect(notice).toBe('SIGTERM received, stopping the simulator (again to exit now)');
    expect(notice).not.toMatch(/pages|stored/);
    expect(simulateCommand.stopNotice('SIGINT')).toMatch(/^SIGINT received/);
  });

  it('a plain demo is a sync: the generic notice about storing the pages received', () => {
    expect(demoCommand.stopNotice('SIGTERM')).toBeUndefined();
  });
});
