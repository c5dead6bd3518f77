/**
 * The one calendar of the history: a run belongs to the day, in SYNC_TIMEZONE, on which it
 * finished. Snapshots, compliance_daily and the change log all take their day from here.
 */
export function dayIn(at: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD; the parts are read by type so the order never matters.
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}
