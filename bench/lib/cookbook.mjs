// The cookbook queries of docs/schema.md, read by heading, and a short summary of a query plan.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SCHEMA_DOC = fileURLToPath(new URL('../../docs/schema.md', import.meta.url));

const headingOf = (line) => /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);

/**
 * The first SQL code block under each `### heading` (up to the next heading), and the text at the top
 * of the `##` section holding them (where the cookbook states its conventions). Throws, naming what
 * is missing, when a heading or its SQL block is not there.
 */
export function readCookbook(headings, markdown = readFileSync(SCHEMA_DOC, 'utf8')) {
  const lines = markdown.split(/\r?\n/);
  // Headings outside code fences, with their line numbers.
  const marks = [];
  let fence = null;
  lines.forEach((line, at) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1][0];
      else if (f[1][0] === fence) fence = null;
      return;
    }
    const h = fence === null && headingOf(line);
    if (h) marks.push({ at, level: h[1].length, text: h[2] });
  });
  const queries = {};
  let section;
  for (const heading of headings) {
    const index = marks.findIndex((m) => m.level === 3 && m.text === heading);
    if (index < 0) throw new Error(`docs/schema.md has no heading "### ${heading}"`);
    const end = marks[index + 1]?.at ?? lines.length;
    const body = lines.slice(marks[index].at + 1, end);
    const open = body.findIndex((l) => /^\s*(`{3,}|~{3,})\s*(sql|postgresql|pgsql|psql)?\s*$/i.test(l));
    if (open < 0) throw new Error(`docs/schema.md: no SQL code block under "### ${heading}"`);
    const marker = /^\s*(`{3,}|~{3,})/.exec(body[open])[1];
    const close = body.findIndex((l, i) => i > open && l.trim().startsWith(marker));
    if (close < 0) throw new Error(`docs/schema.md: the SQL block under "### ${heading}" is not closed`);
    queries[heading] = body
      .slice(open + 1, close)
      .join('\n')
      .trim();
    // The enclosing section: the nearest level-2 heading above.
    const parent = marks
      .slice(0, index)
      .reverse()
      .find((m) => m.level <= 2);
    if (parent && !section) {
      const first = marks.find((m) => m.at > parent.at);
      section = {
        heading: parent.text,
        top: lines
          .slice(parent.at + 1, first?.at ?? lines.length)
          .join('\n')
          .trim(),
      };
    }
  }
  return { queries, section };
}

/** Node names, relations and indexes of a plan (EXPLAIN … FORMAT JSON), depth first. */
function nodes(plan, out = []) {
  out.push(plan);
  for (const child of plan.Plans ?? []) nodes(child, out);
  return out;
}

/**
 * One line for a report: each scan with its relation and index (partial: the index's name), joins and
 * sorts (spilled to disk when they did), rows, buffers, server time.
 */
export function planSummary(explainJson) {
  const [root] = explainJson;
  const all = nodes(root.Plan);
  const parts = [];
  for (const n of all) {
    const type = n['Node Type'];
    if (n['Relation Name'] || n['Index Name']) {
      parts.push(
        `${type}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`
          + ` (${Math.round((n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1)).toLocaleString('en')} rows${(n['Actual Loops'] ?? 1) > 1 ? `, ${n['Actual Loops']} loops` : ''})`,
      );
    } else if (/Join|Sort|Aggregate|WindowAgg|Unique|Limit|Materialize|Memoize|Gather/.test(type)) {
      const spill = n['Sort Space Type'] === 'Disk' ? `, ${n['Sort Space Used']} kB on disk` : '';
      const strategy = n.Strategy && n.Strategy !== 'Plain' ? `${n.Strategy} ` : '';
      parts.push(`${strategy}${type}${n['Join Type'] && !type.includes(n['Join Type']) ? ` (${n['Join Type']})` : ''}${spill}`);
    }
  }
  const p = root.Plan;
  const buffers = `shared hit ${p['Shared Hit Blocks'] ?? 0}, read ${p['Shared Read Blocks'] ?? 0}${p['Temp Written Blocks'] ? `, temp written ${p['Temp Written Blocks']}` : ''}`;
  return {
    text:
      `${parts.join(' → ')}; ${Math.round(p['Actual Rows'] ?? 0).toLocaleString('en')} rows out; buffers ${buffers}; `
      + `planning ${root['Planning Time']?.toFixed(2)} ms + execution ${root['Execution Time']?.toFixed(2)} ms`,
    indexes: [...new Set(all.map((n) => n['Index Name']).filter(Boolean))],
    seqScans: [...new Set(all.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']))],
    executionMs: root['Execution Time'],
    planningMs: root['Planning Time'],
  };
}
