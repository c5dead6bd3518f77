// Runs the simulator in a child process, so the worker measured here does not share its event
// loop or heap with the fake server (an in-process server skews both timing and RSS).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./simChild.mjs', import.meta.url));

/** Starts a simulator with `options` (SimulatorOptions); resolves { url, stats(), close() }. */
export async function startSimulatorProcess(options) {
  const child = fork(CHILD, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  const url = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`simulator process exited early (${code})`)));
    child.once('message', (m) => resolve(m.url));
  });
  child.removeAllListeners('exit');
  child.on('message', (m) => {
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      p(m.value);
    }
  });
  const call = (op) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, op });
    });
  return {
    url,
    stats: () => call('stats'),
    maxInWindow: () => call('maxInWindow'),
    log: () => call('log'),
    /** Event-loop stalls of the simulator process over 5 ms: { epoch (when it ended), ms }. */
    stalls: () => call('stalls'),
    close: async () => {
      await call('close');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()));
    },
  };
}
