// Scenario "memory" (issue 4, scenario 3): the peak RSS of one sync process as the account grows.
// Run with the heap bound the Docker image sets (PRODUCT_NODE_FLAGS), and once with Node defaults.
// Each size: an unthrottled simulator in a process of its own (a static fleet, generated per page,
// so a million devices start at once), a fresh database, and the sync in a child process
// (bench/lib/syncChild.mjs) reporting its kernel peak RSS. The simulator's memory does not count.
// Usage: node bench/memory.mjs [--quick]   (`npm run build` first)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropDatabase, emitResult, freshDatabase, isQuick, log } from './lib/common.mjs';
import { startSimulatorProcess } from './lib/simProcess.mjs';

const quick = isQuick();
const SIZES = quick ? [10_000, 50_000] : [10_000, 100_000, 1_000_000];
const LIMIT_MB = 150;
/**
 * The heap settings the Docker image sets (NODE_OPTIONS in Dockerfile; README). The bound is far
 * above what the sync keeps alive (15-25 MB); it is there for V8's policy: on a machine with this
 * much RAM, V8 lets the old generation grow to four times the live set between full collections,
 * with a bound of 512 MB by about 1.4 times. Smaller semispaces take another ~15 MB off the peak.
 */
const PRODUCT_NODE_FLAGS = ['--max-old-space-size=512', '--max-semi-space-size=8'];
/** One size is also measured with Node's defaults, for comparison. */
const DEFAULTS_SIZE = quick ? 10_000 : 100_000;
const TOKEN = 'bench-token';
const DB = 'bench_mem_sync';
const CHILD = fileURLToPath(new URL('./lib/syncChild.mjs', import.meta.url));

function runChild(args, nodeFlags) {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(args)], {
      execArgv: ['--expose-gc', ...nodeFlags],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report;
    child.once('message', (m) => {
      report = m;
    });
    child.once('error', reject);
    child.once('exit', (code) => (report ? resolve(report) : reject(new Error(`sync child exited (${code}) without a report`))));
  });
}

async function measure(devices, nodeFlags = PRODUCT_NODE_FLAGS) {
  const sim = await startSimulatorProcess({ devices, seed: 42, staticFleet: true, auth: { token: TOKEN }, rateLimit: null });
  try {
    const { database, url } = await freshDatabase(DB);
    await database.close();
    const report = await runChild({ simUrl: sim.url, dbUrl: url, token: TOKEN }, nodeFlags);
    if (report.status !== 'succeeded') throw new Error(`sync of ${devices} devices ${report.status}: ${report.error}`);
    if (report.devicesSeen !== devices) throw new Error(`sync saw ${report.devicesSeen} of ${devices} devices`);
    return report;
  } finally {
    await sim.close();
    await dropDatabase(DB);
  }
}

const fmt = (n) => n.toLocaleString('en-US');
const mb = (x) => Math.round(x * 10) / 10;
const describe = (devices, r, how) =>
  log(
    `  ${fmt(devices)} devices (${how}): ${(r.ms / 1000).toFixed(1)} s (${Math.round(devices / (r.ms / 1000))} devices/s); peak RSS ${mb(r.maxRssMb)} MB `
      + `(before the run ${mb(r.baselineRssMb)} MB); heap peak ${mb(r.peakHeapMb)} MB, after the run and a GC ${mb(r.heapAfterGcMb)} MB (before ${mb(r.baselineHeapMb)} MB); external after ${mb(r.externalAfterGcMb)} MB`,
  );
log(
  `memory: peak RSS of one sync at ${SIZES.map(fmt).join(', ')} devices, run as the image runs it (${PRODUCT_NODE_FLAGS.join(' ')})${quick ? ' (quick)' : ''}`,
);
const reports = [];
for (const devices of SIZES) {
  const r = await measure(devices);
  reports.push({ devices, ...r });
  describe(devices, r, PRODUCT_NODE_FLAGS.join(' '));
}
const defaults = await measure(DEFAULTS_SIZE, []);
describe(DEFAULTS_SIZE, defaults, 'Node defaults');

const first = reports[0];
const last = reports.at(-1);
emitResult({
  scenario: 'memory',
  title: 'Memory: peak RSS of one sync process by account size',
  params: {
    sizes: SIZES,
    runsPerSize: 1,
    pageSize: 50,
    nodeFlags: PRODUCT_NODE_FLAGS.join(' '),
    simulator: 'child process, static fleet, unthrottled',
    quick,
  },
  rows: [
    ...reports.map((r) => ({
      measure: `peak RSS, ${fmt(r.devices)} devices`,
      values: [mb(r.maxRssMb)],
      median: mb(r.maxRssMb),
      unit: 'MB',
      target: `< ${LIMIT_MB} MB`,
      met: r.maxRssMb < LIMIT_MB,
      note: `process.resourceUsage().maxRSS of the sync process; ${mb(r.baselineRssMb)} MB before the run; heap ${mb(r.baselineHeapMb)} → ${mb(r.heapAfterGcMb)} MB retained after it`,
    })),
    {
      measure: `peak RSS, ${fmt(DEFAULTS_SIZE)} devices, Node's default heap policy (no ${PRODUCT_NODE_FLAGS.join(' ')})`,
      values: [mb(defaults.maxRssMb)],
      median: mb(defaults.maxRssMb),
      unit: 'MB',
      target: null,
      met: null,
      note: `heap peak ${mb(defaults.peakHeapMb)} MB against ${mb(reports.find((r) => r.devices === DEFAULTS_SIZE)?.peakHeapMb ?? Number.NaN)} MB with the flag; ${Math.round(DEFAULTS_SIZE / (defaults.ms / 1000))} devices/s`,
    },
    {
      measure: `peak RSS growth, ${fmt(first.devices)} → ${fmt(last.devices)} devices`,
      values: [mb(last.maxRssMb - first.maxRssMb)],
      median: mb(last.maxRssMb - first.maxRssMb),
      unit: 'MB',
      target: 'flat',
      met: null,
      note: `after the run and a GC: heap +${mb(last.heapAfterGcMb - first.heapAfterGcMb)} MB, external +${mb(last.externalAfterGcMb - first.externalAfterGcMb)} MB (the run's table of seen hwids)`,
    },
    ...reports.map((r) => ({
      measure: `duration, ${fmt(r.devices)} devices`,
      values: [Math.round(r.ms / 100) / 10],
      median: Math.round(r.ms / 100) / 10,
      unit: 's',
      target: null,
      met: null,
      note: `${Math.round(r.devices / (r.ms / 1000))} devices/s`,
    })),
  ],
});
