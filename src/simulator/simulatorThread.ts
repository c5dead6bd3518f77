/**
 * The demo's simulator on a thread of its own. In the demo's process the embedded database
 * (WASM, synchronous) blocks the event loop for tens of milliseconds per page; a simulator on
 * that loop would count requests late, bunch them together and answer 429 to requests the rate
 * limiter spaced correctly — a fault of the rig, not of the client. A real server has its own
 * clock; so does this one.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DayChanges } from './drift.ts';
import { createSimulator, type Simulator, type SimulatorOptions } from './simulator.ts';

export interface SimulatorThread {
  url: string;
  devices: number;
  /** Moves the account on to `day` (Simulator.goToDay) between two syncs. */
  goToDay(day: number, anchorMs?: number): Promise<DayReport>;
  close(): Promise<void>;
}

/** The account after goToDay: its size and what each night did. */
export interface DayReport {
  day: number;
  devices: number;
  nights: DayChanges[];
}

/** Marks the worker this module starts: any other worker thread that imports it (a test runner's) must not start a simulator. */
const ROLE = 'metaaccess-simulator';

interface ThreadInput {
  role: typeof ROLE;
  options: SimulatorOptions;
  generation: number;
}

type Request = { kind: 'day'; day: number; anchorMs?: number } | { kind: 'close' };
type Reply = { kind: 'started'; url: string; devices: number } | ({ kind: 'day' } & DayReport) | { kind: 'error'; message: string };

/** Starts the simulator, `generation` demo runs into its history, on its own thread. */
export function startSimulatorThread(options: SimulatorOptions, generation: number): Promise<SimulatorThread> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE, options, generation } satisfies ThreadInput });
  const ask = (request: Request) => worker.postMessage(request);
  // One request at a time: the demo waits for each answer before its next sync.
  const answer = () =>
    new Promise<Reply>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      worker.once('error', onError);
      worker.once('message', (reply: Reply) => {
        worker.off('error', onError);
        resolve(reply);
      });
    });
  return answer().then((started) => {
    if (started.kind !== 'started') throw new Error(`simulator thread: unexpected first message ${started.kind}`);
    return {
      url: started.url,
      devices: started.devices,
      async goToDay(day, anchorMs) {
        const reply = answer();
        ask({ kind: 'day', day, ...(anchorMs === undefined ? {} : { anchorMs }) });
        const r = await reply;
        if (r.kind === 'error') throw new Error(`simulator: ${r.message}`);
        if (r.kind !== 'day') throw new Error(`simulator thread: unexpected answer ${r.kind}`);
        return { day: r.day, devices: r.devices, nights: r.nights };
      },
      close: async () => {
        const exited = new Promise((done) => worker.once('exit', done));
        ask({ kind: 'close' });
        await exited;
      },
    };
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

if (!isMainThread && parentPort && (workerData as Partial<ThreadInput> | null)?.role === ROLE) {
  const port = parentPort;
  const { options, generation } = workerData as ThreadInput;
  const simulator = createSimulator(options);
  evolve(simulator, generation);
  const reply = (message: Reply) => port.postMessage(message);
  port.on('message', (request: Request) => {
    if (request.kind === 'close') return void simulator.close().then(() => port.close());
    try {
      const nights = simulator.goToDay(request.day, request.anchorMs);
      reply({ kind: 'day', day: simulator.day, devices: simulator.size, nights });
    } catch (err) {
      reply({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
  void simulator.start().then((url) => reply({ kind: 'started', url, devices: simulator.size }));
}
