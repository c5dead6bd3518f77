import { createSimulator } from '../../dist/simulator/simulator.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const sim = createSimulator(options);
const url = await sim.start();
process.send({ url });
process.on('message', async ({ id, op }) => {
  if (op === 'stats') process.send({ id, value: sim.stats() });
  else if (op === 'log') process.send({ id, value: sim.log.map((e) => ({ ...e, epoch: performance.timeOrigin + e.at })) });
  else if (op === 'maxInWindow') process.send({ id, value: sim.maxInWindow() });
  else if (op === 'close') {
    await sim.close();
    process.send({ id, value: null }, () => process.exit(0));
  }
});
