/**
 * The shape of a simulated account's history, as pure functions of (seed, day): how non-compliant
 * the fleet tends to be, on which days a bad patch strikes, when OS and agent updates roll out.
 * Day 0 is the account as generated; day k is k nightly steps later. Nothing here depends on how
 * many days a demo writes, so the first 10 days of a 90-day history are those of a 10-day one.
 */
import { createRng, deriveSeed, type Rng } from './rng.ts';

const DAY_TURN = 2 * Math.PI;
/** Non-compliance falls by this share over the first months (a remediation programme)… */
const IMPROVEMENT = 0.08;
/** …with this time constant in days. */
const IMPROVEMENT_DAYS = 55;
/** Day-to-day noise: AR(1), so a bad week stays bad for a while instead of flickering. */
const NOISE_PERSISTENCE = 0.9;
const NOISE_STEP = 0.005;
/** φ^60 < 0.2 %: older noise no longer matters. */
const NOISE_MEMORY = 60;

const between = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const uniform = (rng: Rng, min: number, max: number): number => min + rng() * (max - min);
const streamRng = (seed: number, stream: string): Rng => createRng(deriveSeed(seed, stream));

/** Standard normal (Box–Muller). */
function gaussian(rng: Rng): number {
  const u = Math.max(rng(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(DAY_TURN * rng());
}

/**
 * The share of devices the account tends towards being non-compliant (status 1) on `day`, for an
 * account that starts at `baseline`: a slow improvement, a season of a few months, a monthly
 * patch rhythm and persistent noise. Equal to `baseline` on day 0.
 */
export function nonCompliantTarget(seed: number, baseline: number, day: number): number {
  const shape = streamRng(seed, 'drift shape');
  const slow = { amplitude: uniform(shape, 0.02, 0.035), period: between(shape, 100, 170), phase: uniform(shape, 0, DAY_TURN) };
  const monthly = { amplitude: uniform(shape, 0.008, 0.015), period: between(shape, 26, 34), phase: uniform(shape, 0, DAY_TURN) };
  const wave = (w: typeof slow) => w.amplitude * (Math.sin((DAY_TURN * day) / w.period + w.phase) - Math.sin(w.phase));
  const improvement = IMPROVEMENT * (1 - Math.exp(-day / IMPROVEMENT_DAYS));
  let noise = 0;
  for (let j = Math.max(1, day - NOISE_MEMORY); j <= day; j++) {
    noise += NOISE_PERSISTENCE ** (day - j) * NOISE_STEP * gaussian(streamRng(seed, `drift noise ${j}`));
  }
  return Math.min(0.95, Math.max(0.02, baseline - improvement + wave(slow) + wave(monthly) + noise));
}

/** Days a recurring event starts: the first in `first`, then every `gap` days (both ranges inclusive). */
function starts(seed: number, stream: string, first: [number, number], gap: [number, number], upTo: number): number[] {
  const rng = streamRng(seed, stream);
  const days: number[] = [];
  for (let day = between(rng, ...first); day <= upTo; day += between(rng, ...gap)) days.push(day);
  return days;
}

export interface Incident {
  day: number;
  /** Share of all devices that a bad patch turns non-compliant and critical at once. */
  share: number;
}

/**
 * Bad patch days up to `upTo`: the first between day 12 and 30, then one every 25 to 50 days, so
 * any 90 days hold two or three. Recovery is the fleet's usual pull towards its target (drift.ts).
 */
export function incidents(seed: number, upTo: number): Incident[] {
  return starts(seed, 'incidents', [12, 30], [25, 50], upTo).map((day) => ({
    day,
    share: uniform(streamRng(seed, `incident ${day}`), 0.06, 0.12),
  }));
}

export type OsTrack = 'windows' | 'mac' | 'ios' | 'android' | 'linux';
const TRACKS: readonly OsTrack[] = ['windows', 'mac', 'ios', 'windows', 'android', 'linux', 'mac', 'ios'];

export interface Wave {
  /** Numbered from 0 in order of start. */
  index: number;
  start: number;
  /** First day after the wave. */
  end: number;
  /** Mean share of the devices still to update that update each day of the wave. */
  adoption: number;
  /** OS waves: the devices concerned. */
  track?: OsTrack;
}

function waves(
  seed: number,
  stream: string,
  first: [number, number],
  gap: [number, number],
  length: [number, number],
  upTo: number,
): Wave[] {
  return starts(seed, stream, first, gap, upTo).map((start, index) => {
    const rng = streamRng(seed, `${stream} ${index}`);
    return { index, start, end: start + between(rng, ...length), adoption: uniform(rng, 0.1, 0.18) };
  });
}

/** OS releases rolled out over two to three weeks, one platform at a time, every 10 to 24 days. */
export function osWaves(seed: number, upTo: number): Wave[] {
  const offset = between(streamRng(seed, 'os track'), 0, TRACKS.length - 1);
  return waves(seed, 'os waves', [3, 12], [10, 24], [14, 21], upTo).map((w) => ({
    ...w,
    track: TRACKS[(offset + w.index) % TRACKS.length]!,
  }));
}

/** MetaAccess agent releases, every 30 to 50 days, rolled out over one to two weeks. */
export function agentWaves(seed: number, upTo: number): Wave[] {
  return waves(seed, 'agent waves', [8, 25], [30, 50], [8, 14], upTo);
}

/**
 * The day of a wave on which one device updates, or undefined when it lags past the wave's end:
 * a function of (seed, wave, hwid), so no state is kept between days. Geometric, as when each
 * remaining device has the same chance each day.
 */
export function adoptionDay(seed: number, stream: string, wave: Wave, hwid: string): number | undefined {
  const u = createRng(deriveSeed(seed, `${stream} ${wave.index} ${hwid}`))();
  const day = wave.start + Math.floor(Math.log(1 - u) / Math.log(1 - wave.adoption));
  return day < wave.end ? day : undefined;
}
