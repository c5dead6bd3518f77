/**
 * Charts made of characters, for an 80-column terminal. Every chart reads without colour (each
 * series has its own shade); colour is added only when the caller says the output is a terminal.
 */

export type Colour = 'green' | 'red' | 'yellow' | 'dim';

const ANSI: Record<Colour, string> = { green: '\x1b[32m', red: '\x1b[31m', yellow: '\x1b[33m', dim: '\x1b[2m' };

export function paint(text: string, colour: Colour | undefined, enabled: boolean): string {
  return enabled && colour && text ? `${ANSI[colour]}${text}\x1b[0m` : text;
}

/**
 * Cells per segment of a bar `width` cells wide standing for `total`: boundaries are rounded
 * where the running sum falls, so the cells always add up to the rounded whole and a segment is
 * never off by more than one cell.
 */
export function segmentCells(values: number[], total: number, width: number): number[] {
  if (total <= 0) return values.map(() => 0);
  let sum = 0;
  let previous = 0;
  return values.map((v) => {
    sum += Math.max(0, v);
    const boundary = Math.round((Math.min(sum, total) / total) * width);
    const cells = boundary - previous;
    previous = boundary;
    return cells;
  });
}

export interface Segment {
  value: number;
  /** The shade that tells this series apart without colour. */
  char: string;
  colour?: Colour;
}

/** One bar of stacked segments, padded with spaces to `width` (what is left is neither series). */
export function stackedBar(segments: Segment[], total: number, width: number, colour: boolean): string {
  const cells = segmentCells(
    segments.map((s) => s.value),
    total,
    width,
  );
  const drawn = segments.map((s, i) => paint(s.char.repeat(cells[i]!), s.colour, colour)).join('');
  const used = cells.reduce((a, b) => a + b, 0);
  return drawn + ' '.repeat(Math.max(0, width - used));
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of `value` out of `max`, `width` cells wide, to an eighth of a cell; padded to `width`. */
export function meter(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return ' '.repeat(width);
  const eighths = Math.round((Math.min(value, max) / max) * width * 8);
  const bar = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
  return bar + ' '.repeat(Math.max(0, width - [...bar].length));
}

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * One character per value, scaled from `min` (lowest block) to `max` (full block); a missing value
 * is a gap (a space), and a flat series sits at mid height.
 */
export function sparkline(values: (number | null)[], min: number, max: number): string {
  const span = max - min;
  return values
    .map((v) => {
      if (v === null) return ' ';
      const level = span > 0 ? Math.round(((Math.min(Math.max(v, min), max) - min) / span) * (LEVELS.length - 1)) : 3;
      return LEVELS[level]!;
    })
    .join('');
}
