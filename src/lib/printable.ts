/**
 * Text from outside the process (a server's error body, a device's hwid or hostname) quoted into
 * a message that reaches a terminal: an ESC could clear the screen or recolour it, a CR could
 * overwrite the line before it, a bidi override could reorder it. Such characters are shown as
 * escapes instead, so the reader sees that they were there and what they were.
 */

/** C0 and C1 controls, DEL, format characters (bidi overrides, zero-width) and line/paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One unprintable character as the escape a reader of JavaScript or JSON would recognize. */
function escapeChar(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control, format and separator character replaced by a visible escape
 * (ESC becomes `\x1b`, a right-to-left override `\u202e`). Longer text keeps its first
 * `maxChars` characters of output, escapes included, then "… (N chars)" with the original length;
 * an escape is never split, nor a surrogate pair. `keepNewlines` leaves line feeds as they are,
 * for a message of several lines.
 */
export function printableText(text: string, maxChars = 200, options: { keepNewlines?: boolean } = {}): string {
  let out = '';
  let length = 0;
  for (const char of text) {
    const unprintable = UNPRINTABLE.test(char) && !(options.keepNewlines && char === '\n');
    const piece = unprintable ? escapeChar(char) : char;
    const pieceLength = unprintable ? piece.length : 1;
    if (length + pieceLength > maxChars) return `${out}… (${codePoints(text)} chars)`;
    out += piece;
    length += pieceLength;
  }
  return out;
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}
