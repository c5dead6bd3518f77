/** Which release a simulated device installs when an OS update wave of its platform reaches it. */
import type { OsTrack } from './driftPlan.ts';
import type { Rng } from './rng.ts';
import { textOf } from './devices.ts';

type OsInfo = Record<string, unknown>;
export interface OsRelease {
  name: string;
  version: string;
}

/** The update wave a device's OS follows; servers and legacy systems none. */
export function trackOf(os: OsInfo): OsTrack | undefined {
  const family = textOf(os.family).toLowerCase();
  const name = textOf(os.name);
  if (family === 'windows') return name.includes('Server') || name.startsWith('Windows 7') ? undefined : 'windows';
  if (family === 'macos') return 'mac';
  if (family === 'ios' || family === 'android' || family === 'linux') return family;
  return undefined;
}

/** 17.4.1 → 17.5, 15.1 → 15.2, 14 → 14.1. */
function nextMinor(version: string): string {
  const [major = '0', minor] = version.split('.');
  return `${major}.${minor === undefined ? 1 : Number(minor) + 1}`;
}

const WINDOWS_11_BUILDS = [22621, 22631, 26100, 26200];

function nextWindows(name: string, version: string, rng: Rng): OsRelease | undefined {
  const build = Number(version.split('.')[2]);
  if (name.startsWith('Windows 10')) {
    if (build < 19045) return { name, version: '10.0.19045' };
    // The feature upgrade to 11 reaches some machines; the rest stay on 10's last build.
    return rng() < 0.3 ? { name: name.replace('Windows 10', 'Windows 11'), version: '10.0.22631' } : undefined;
  }
  const next = WINDOWS_11_BUILDS.find((b) => b > build) ?? build + 100;
  return { name, version: `10.0.${next}` };
}

const MACOS = [
  ['macOS Ventura', 13],
  ['macOS Sonoma', 14],
  ['macOS Sequoia', 15],
  ['macOS Tahoe', 26],
] as const;
const IOS_MAJORS = [16, 17, 18, 26];

function nextMac(name: string, version: string, rng: Rng): OsRelease {
  const at = MACOS.findIndex(([n]) => n === name);
  const upgrade = at >= 0 ? MACOS[at + 1] : undefined;
  if (upgrade && rng() < 0.25) return { name: upgrade[0], version: `${upgrade[1]}.0` };
  return { name, version: nextMinor(version) };
}

function nextIos(name: string, version: string, rng: Rng): OsRelease {
  const major = IOS_MAJORS.find((m) => m > Number(version.split('.')[0]));
  if (major !== undefined && rng() < 0.3) return { name, version: `${major}.0` };
  return { name, version: nextMinor(version) };
}

function nextLinux(name: string, version: string, rng: Rng): OsRelease | undefined {
  const ubuntu = /^Ubuntu (\d+\.\d+)\.(\d+) LTS$/.exec(name);
  if (ubuntu?.[1] === '20.04') return rng() < 0.2 ? { name: 'Ubuntu 22.04.5 LTS', version: '22.04' } : undefined;
  if (ubuntu) return { name: `Ubuntu ${ubuntu[1]}.${Number(ubuntu[2]) + 1} LTS`, version };
  const rhel = /^Red Hat Enterprise Linux (\d+\.\d+)$/.exec(name);
  if (rhel) {
    const next = nextMinor(rhel[1]!);
    return { name: `Red Hat Enterprise Linux ${next}`, version: next };
  }
  return undefined;
}

/** The release the device installs, or undefined when it gets none (end of support, a vendor that lags). */
export function nextOs(os: OsInfo, rng: Rng): OsRelease | undefined {
  const name = textOf(os.name);
  const version = textOf(os.version);
  switch (trackOf(os)) {
    case 'windows':
      return nextWindows(name, version, rng);
    case 'mac':
      return nextMac(name, version, rng);
    case 'ios':
      return nextIos(name, version, rng);
    case 'android':
      return rng() < 0.4 && Number(version) < 16 ? { name, version: String(Number(version) + 1) } : undefined;
    case 'linux':
      return nextLinux(name, version, rng);
    default:
      return undefined;
  }
}
