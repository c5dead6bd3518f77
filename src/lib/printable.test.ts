import { describe, expect, it } from 'vitest';
import { printableText } from './printable.ts';

describe('printableText', () => {
  it('shows escape, carriage return, bell, NUL, DEL, C1 and bidi characters as escapes', () => {
    const hostile = 'oops\x1b[2J\x1b]0;owned\x07 line\rover\u0000\u007f\u009b31m \u202egnp.exe\u2028';
    const shown = printableText(hostile);
    expect(shown).toBe('oops\\x1b[2J\\x1b]0;owned\\x07 line\\rover\\x00\\x7f\\x9b31m \\u202egnp.exe\\u2028');
    expect(shown).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
  });

  it('keeps line feeds when asked, for a message of several lines; a CR is still shown', () => {
    expect(printableText('first\r\nsecond\x1b[K', 100, { keepNewlines: true })).toBe('first\\r\nsecond\\x1b[K');
  });

  it('leaves ordinary text, accents, CJK and emoji alone', () => {
    expect(printableText('{"msg":"Résumé 东京 🚀"}')).toBe('{"msg":"Résumé 东京 🚀"}');
  });

  it('keeps a long body bounded, never splitting an escape or an emoji, and names the original length', () => {
    expect(printableText('x'.repeat(10_000), 20)).toBe(`${'x'.repeat(20)}… (10000 chars)`);
    // 18 characters, then an escape of 4 that would end past 20: it is left out whole.
    expect(printableText(`${'a'.repeat(18)}\x1b${'b'.repeat(5)}`, 20)).toBe(`${'a'.repeat(18)}… (24 chars)`);
    expect(printableText(`${'a'.repeat(19)}🚀🚀`, 20)).toBe(`${'a'.repeat(19)}🚀… (21 chars)`);
    expect(printableText('\x1b'.repeat(1000), 12)).toBe(`${'\\x1b'.repeat(3)}… (1000 chars)`);
  });
});
