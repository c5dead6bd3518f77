import { createSimulator } from '../../dist/simulator/simulator.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const sim = createSimulator(options);
// Stalls of this process's event loop over 5 ms (epoch time they ended, length): the simulator
// counts an arrival when it handles the request, so a stall bunches arrivals into one window.
const stalls = [];
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last - 2 > 5) stalls.push({ epoch: performance.timeOrigin + now, ms: now - last - 2 });
  if (stalls.length > 10_000) stalls.splice(0, 5_000);
  last = now;
}, 2).unref();
const url = await sim.start();
process.send({ url });
process.on('message', ({ id, op }) => {
  if (op === 'stats') process.send({ id, value: sim.stats() });
  else if (op === 'log') process.send({ id, value: sim.log.map((e) => ({ ...e, epoch: performance.timeOrigin + e.at })) });
  else if (op === 'maxInWindow') process.send({ id, value: sim.maxInWindow() });
  else if (op === 'stalls') process.send({ id, value: stalls });
  else if (op === 'close') {
    // A close that fails ends this child with exit 1 and the error on stderr, so the parent sees it.
    sim.close().then(
      () => process.send({ id, value: null }, () => process.exit(0)),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  }
});
