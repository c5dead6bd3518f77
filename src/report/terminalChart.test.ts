import { describe, expect, it } from 'vitest';
import { meter, paint, segmentCells, sparkline, stackedBar } from './terminalChart.ts';

const cells = (s: string) => [...s].length;

describe('terminal charts', () => {
  it('stacked segments add up to the share of the whole they stand for, never past the width', () => {
    expect(segmentCells([1, 1, 1], 3, 10)).toEqual([3, 4, 3]);
    expect(segmentCells([30, 7, 3], 40, 40)).toEqual([30, 7, 3]);
    // 2 of 3 devices have one of the three statuses (the third has another status code).
    expect(segmentCells([1, 1, 0], 3, 30)).toEqual([10, 10, 0]);
    expect(segmentCells([5, 5], 0, 10)).toEqual([0, 0]);
    expect(segmentCells([8, 8], 10, 10).reduce((a, b) => a + b)).toBe(10);
  });

  it('a small but present series still shows when it is at least half a cell', () => {
    expect(segmentCells([97, 2, 1], 100, 40)).toEqual([39, 1, 0]);
  });

  it('draws each series in its own shade, padded to the width, colour only when asked', () => {
    const bar = stackedBar(
      [
        { value: 2, char: '█', colour: 'green' },
        { value: 1, char: '▒', colour: 'red' },
      ],
      4,
      8,
      false,
    );
    expect(bar).toBe('████▒▒  ');
    const coloured = stackedBar(
      [
        { value: 2, char: '█', colour: 'green' },
        { value: 1, char: '▒', colour: 'red' },
      ],
      4,
      8,
      true,
    );
    expect(coloured).toBe('\x1b[32m████\x1b[0m\x1b[31m▒▒\x1b[0m  ');
    expect(paint('x', 'red', false)).toBe('x');
  });

  it('meters are drawn to an eighth of a cell and always as wide as asked', () => {
    expect(meter(1, 1, 4)).toBe('████');
    expect(meter(1, 2, 3)).toBe('█▌ ');
    expect(meter(1, 16, 2)).toBe('▏ ');
    expect(meter(0, 16, 2)).toBe('  ');
    for (let v = 0; v <= 50; v++) expect(cells(meter(v, 50, 7))).toBe(7);
  });

  it('sparklines span the lowest to the highest value given, a gap for a missing day', () => {
    expect(sparkline([0, 50, 100, null, 100], 0, 100)).toBe('▁▅█ █');
    // A few points of change over a month still show, scaled to the month's own range.
    expect(sparkline([54.8, 61.2, 50.6, 58.6], 50.6, 61.2)).toBe('▄█▁▆');
    expect(sparkline([70, null, 70], 70, 70)).toBe('▄ ▄');
  });
});
