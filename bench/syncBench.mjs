// Quick sync benchmark (issue 2 figures): devices/s with an unthrottled simulator, and wall time
// over the theoretical minimum under a throttled one. Uses the built CLI modules: `npm run build` first.
// Usage: node bench/syncBench.mjs [--devices N] [--runs N]
import os from 'node:os';
import pg from 'pg';
import { parseArgs } from 'node:util';
import { openDatabase } from '../dist/db/openDatabase.js';
import { runMigrations } from '../dist/db/migrate.js';
import { runSync } from '../dist/jobs/runSync.js';
import { systemClock } from '../dist/lib/clock.js';
import { createSilentLogger } from '../dist/lib/logger.js';
import { createSimulator } from '../dist/simulator/simulator.js';
import { createSource } from '../dist/source/createSource.js';

const { values } = parseArgs({ options: { devices: { type: 'string' }, runs: { type: 'string' } } });
const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const runs = Number(values.runs ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freshDatabase(name) {
  const c = new pg.Client(ADMIN); await c.connect();
  await c.query(`drop database if exists ${name} with (force)`); await c.query(`create database ${name}`); await c.end();
  const u = new URL(ADMIN); u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString(), pgliteDir: '' });
  await runMigrations(database);
  return database;
}

async function oneSync({ devices, rateLimit, windowMs, latencyMs = 0, jitterMs = 0 }) {
  const sim = createSimulator({ devices, seed: 42, auth: { token: 'bench-token' }, latencyMs, jitterMs, rateLimit: windowMs ? { limit: rateLimit, windowMs } : null });
  await sim.start();
  const database = await freshDatabase('metaaccess_bench');
  const logger = createSilentLogger();
  const source = createSource({ url: sim.url, credentials: { kind: 'token', accessToken: 'bench-token' }, rateLimit: windowMs ? rateLimit : 1000, rateWindowMs: windowMs || 1000, pageSize: 50, timeoutMs: 30000, maxRetries: 5 }, { clock: systemClock, logger });
  const started = performance.now();
  const summary = await runSync({ database, source, clock: systemClock, logger, trigger: 'bench', settings: { removalGuardPercent: 50, removalConfirm: 'recheck', timezone: 'UTC' } });
  const ms = performance.now() - started;
  const stats = sim.stats();
  await database.close(); await sim.close();
  if (summary.status !== 'succeeded') throw new Error(`bench run ${summary.status}: ${summary.error}`);
  return { ms, requests: stats.requests, rateLimited: stats.rateLimited, seen: summary.counters.devicesSeen };
}

console.log(`machine: ${os.cpus().length}× ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
const devices = Number(values.devices ?? 20000);
const rates = [];
for (let i = 0; i < runs; i++) {
  const r = await oneSync({ devices });
  rates.push(r.seen / (r.ms / 1000));
  console.log(`unthrottled ${devices} devices: ${(r.ms / 1000).toFixed(2)} s, ${Math.round(r.seen / (r.ms / 1000))} devices/s`);
}
console.log(`unthrottled median: ${Math.round(median(rates))} devices/s`);

const limit = 10, windowMs = 1000, latencyMs = 100, jitterMs = 50, pages = 100;
const ratios = [];
for (let i = 0; i < runs; i++) {
  const r = await oneSync({ devices: pages * 50 - 10, rateLimit: limit, windowMs, latencyMs, jitterMs });
  // Requests are the floor: the i-th request cannot start before floor(i / limit) windows.
  const minimalMs = (Math.ceil(r.requests / limit) - 1) * windowMs + latencyMs;
  ratios.push(r.ms / minimalMs);
  console.log(`throttled ${limit}/${windowMs} ms, ${r.requests} requests, latency ${latencyMs}±${jitterMs} ms: ${(r.ms / 1000).toFixed(2)} s vs minimal ${(minimalMs / 1000).toFixed(2)} s = ${(r.ms / minimalMs).toFixed(3)}×, 429s ${r.rateLimited}`);
}
console.log(`throttled median ratio: ${median(ratios).toFixed(3)}× the minimum`);
