/**
 * The demo's simulator on a thread of its own. In the demo's process the embedded database
 * (WASM, synchronous) blocks the event loop for tens of milliseconds per page; a simulator on
 * that loop would count requests late, bunch them together and answer 429 to requests the rate
 * limiter spaced correctly — a fault of the rig, not of the client. A real server has its own
 * clock; so does this one.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.ts';

export interface SimulatorThread {
  url: string;
  devices: number;
  close(): Promise<void>;
}

interface ThreadInput {
  options: SimulatorOptions;
  generation: number;
}

/** Starts the simulator, `generation` demo runs into its history, on its own thread. */
export function startSimulatorThread(options: SimulatorOptions, generation: number): Promise<SimulatorThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { options, generation } satisfies ThreadInput });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { url: string; devices: number }) => {
      worker.off('error', reject);
      resolve({
        url: m.url,
        devices: m.devices,
        close: async () => {
          worker.postMessage('close');
          await new Promise((done) => worker.once('exit', done));
        },
      });
    });
  });
}

/** The account a user syncs tomorrow is not today's: each demo generation enrols, deletes and changes some devices. */
export function evolve(simulator: Simulator, generation: number): void {
  if (generation === 0) return;
  const size = simulator.list().length;
  simulator.removeDevices(Math.min(size, Math.ceil(size * 0.01) * generation));
  simulator.addDevices(Math.ceil(size * 0.02) * generation);
  simulator.changeDevices(Math.min(size, Math.ceil(size * 0.05)));
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const { options, generation } = workerData as ThreadInput;
  const simulator = createSimulator(options);
  evolve(simulator, generation);
  void simulator.start().then((url) => {
    port.postMessage({ url, devices: simulator.list().length });
    port.once('message', () => void simulator.close().then(() => port.close()));
  });
}
