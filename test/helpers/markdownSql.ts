import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DOC = fileURLToPath(new URL('../../docs/schema.md', import.meta.url));
export const README = fileURLToPath(new URL('../../README.md', import.meta.url));

export interface Heading {
  level: number;
  text: string;
  line: number;
}

export interface SqlBlock {
  /** The nearest heading above the block (any level). */
  heading: Heading | undefined;
  sql: string;
  line: number;
}

export interface MarkdownDoc {
  lines: string[];
  headings: Heading[];
  sqlBlocks: SqlBlock[];
}

/** Headings outside code fences, and every ```sql block with the heading it sits under. */
export function parseMarkdown(path: string): MarkdownDoc {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  const headings: Heading[] = [];
  const sqlBlocks: SqlBlock[] = [];
  let fence: { marker: string; sql: boolean; start: number } | null = null;
  lines.forEach((line, index) => {
    const open = /^\s*(`{3,}|~{3,})\s*([\w-]*)\s*$/.exec(line);
    if (fence) {
      if (open && open[1]!.startsWith(fence.marker) && open[2] === '') {
        if (fence.sql)
          sqlBlocks.push({ heading: headings.at(-1), sql: lines.slice(fence.start + 1, index).join('\n'), line: fence.start + 1 });
        fence = null;
      }
      return;
    }
    if (open) {
      fence = { marker: open[1]!, sql: /^(sql|postgresql|pgsql|psql)$/i.test(open[2]!), start: index };
      return;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) headings.push({ level: heading[1]!.length, text: heading[2]!, line: index + 1 });
  });
  if (fence) throw new Error(`${path}: a code block opened at line ${(fence as { start: number }).start + 1} is not closed`);
  return { lines, headings, sqlBlocks };
}

/** The lines of the section under the level-2 heading `title` (up to the next heading of level 1 or 2). */
export function section(doc: MarkdownDoc, title: string): string[] {
  const start = doc.headings.find((h) => h.level === 2 && h.text === title);
  if (!start) throw new Error(`no section "## ${title}"`);
  const end = doc.headings.find((h) => h.line > start.line && h.level <= 2);
  return doc.lines.slice(start.line, end ? end.line - 1 : doc.lines.length);
}

/** The names in backticks that open the rows of the first table of a section. */
export function tableNames(lines: string[]): string[] {
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    const name = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (name) rows.push(name[1]!);
  }
  return rows;
}
