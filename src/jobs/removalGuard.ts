/**
 * Pure removal decision. The list shifts while a run pages through it, and an API hiccup can
 * return a truncated list; either must never wipe the inventory.
 */
export interface GuardInput {
  presentBefore: number;
  seen: number;
  missing: number;
  guardPercent: number;
}

export type GuardDecision = { allowed: true } | { allowed: false; reason: string };

export function evaluateRemovalGuard(input: GuardInput): GuardDecision {
  const { presentBefore, seen, missing, guardPercent } = input;
  if (missing === 0 || presentBefore === 0) return { allowed: true };
  if (seen * 100 < guardPercent * presentBefore) {
    return {
      allowed: false,
      reason: `removal guard: the run saw ${seen} devices, fewer than ${guardPercent}% of the ${presentBefore} present; no device marked removed`,
    };
  }
  if (missing * 100 > (100 - guardPercent) * presentBefore) {
    return {
      allowed: false,
      reason: `removal guard: ${missing} of ${presentBefore} present devices are missing, more than ${100 - guardPercent}%; no device marked removed`,
    };
  }
  return { allowed: true };
}
