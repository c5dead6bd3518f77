import { normalizeDevice } from '../../src/normalize/normalizeDevice.ts';

/**
 * What the change log tracks about a device (SPEC §5), computed from raw API objects without the
 * database: an independent reference for the devices a run should count as changed.
 */
export function trackedFields(raw: unknown): string {
  const result = normalizeDevice(raw);
  if (!result.ok) return 'rejected';
  const { device, os, adapters } = result.value;
  const set = (values: (string | null)[]) => [...new Set(values.filter((v) => v !== null))].sort();
  return JSON.stringify([
    device.status,
    device.criticalStatus,
    device.exempt,
    device.hostname,
    os?.family ?? null,
    os?.name ?? null,
    os?.version ?? null,
    device.machineType,
    device.agentVersion,
    set(adapters.map((a) => a.macAddr)),
    set(adapters.flatMap((a) => [a.ipv4Addr, a.ipv6Addr])),
  ]);
}

/** Of the devices in both lists, how many differ in a tracked field. */
export function countTrackedChanges(before: unknown[], after: unknown[]): number {
  const hwidOf = (raw: unknown) => String((raw as { hwid?: unknown }).hwid);
  const old = new Map(before.map((raw) => [hwidOf(raw), trackedFields(raw)]));
  return after.filter((raw) => old.has(hwidOf(raw)) && old.get(hwidOf(raw)) !== trackedFields(raw)).length;
}
