/** Injected misbehaviour: which request a fault hits, and how each kind is served. */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { latency, record, respond, wait, type State } from './exchange.ts';
import type { Reply } from './replies.ts';
import type { Fault, RequestLogEntry } from './simulatorTypes.ts';

/** Throws at injection time, where the test that got it wrong is still on the stack. */
export function checkFault(fault: Fault): void {
  if ((fault.kind === 'gzip-bomb' || fault.kind === 'oversized') && !(Number.isSafeInteger(fault.bytes) && (fault.bytes ?? 0) >= 2)) {
    throw new Error(`a ${fault.kind} fault needs bytes >= 2 (the body is "[", spaces, "]")`);
  }
  if (fault.kind === 'short' && fault.drop !== undefined && !(Number.isInteger(fault.drop) && fault.drop >= 0)) {
    throw new Error('a short fault needs drop >= 0');
  }
}

function faultMatches({ match }: Fault, entry: RequestLogEntry): boolean {
  return (
    (match?.path === undefined || match.path === entry.path)
    && (match?.page === undefined || match.page === entry.page)
    && (match?.hwid === undefined || match.hwid === entry.hwid)
  );
}

export function takeFault(state: State, entry: RequestLogEntry): Fault | undefined {
  const index = state.faults.findIndex((fault) => faultMatches(fault, entry));
  const fault = state.faults[index];
  if (!fault) return undefined;
  const left = (fault.times ?? 1) - 1;
  if (left <= 0) state.faults.splice(index, 1);
  else state.faults[index] = { ...fault, times: left };
  return fault;
}

/** `delay` and `short` alter the normal reply; every other kind replaces it. */
export function replacesReply(fault: Fault): boolean {
  return fault.kind !== 'delay' && fault.kind !== 'short';
}

/** A truncated page: the list still holds these devices, the page just left them out. */
export function shortenPage(reply: Reply, drop: number): Reply {
  if (reply.status !== 200) return reply;
  const devices = JSON.parse(reply.body) as unknown[];
  return { ...reply, body: JSON.stringify(devices.slice(0, Math.max(0, devices.length - drop))) };
}

export async function applyFault(state: State, res: ServerResponse, entry: RequestLogEntry, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'status': {
      const status = fault.status ?? 500;
      const body = fault.body ?? JSON.stringify({ result: status, msg: STATUS_CODES[status] ?? 'Error' });
      return respond(state, res, entry, { status, body, headers: fault.headers });
    }
    case 'garbage':
      return respond(state, res, entry, {
        status: 200,
        body: fault.body ?? '<html><body>Bad Gateway</body></html>',
        headers: fault.headers,
      });
    case 'empty':
      return respond(state, res, entry, { status: 200, body: '[]', headers: fault.headers });
    case 'gzip-bomb':
      return sendGzipBomb(state, res, entry, fault.bytes ?? 2);
    case 'oversized':
      return sendOversized(state, res, entry, fault.bytes ?? 2);
    case 'reset':
    default:
      await wait(state, latency(state));
      record(state, entry, 0);
      // An RST rather than a FIN, so the client sees ECONNRESET as with a dropped connection.
      res.socket?.resetAndDestroy();
  }
}

const CHUNK = Buffer.alloc(64 * 1024, 0x20);

/** `[`, spaces, `]`: exactly `bytes` bytes of valid JSON, produced without ever holding them. */
function* paddedJson(bytes: number): Generator<Buffer> {
  yield Buffer.from('[');
  for (let left = bytes - 2; left > 0; left -= CHUNK.length) yield left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
  yield Buffer.from(']');
}

/**
 * Compressed once per size and kept: deflating hundreds of megabytes is slow, and the result
 * (about a thousandth of it) never changes. Immutable, so simulators may share it.
 */
const bombs = new Map<number, Promise<Buffer>>();

function gzipBomb(bytes: number): Promise<Buffer> {
  let bomb = bombs.get(bytes);
  if (!bomb) {
    const parts: Buffer[] = [];
    bomb = pipeline(Readable.from(paddedJson(bytes)), createGzip({ level: 9 }), async (gz: AsyncIterable<Buffer>) => {
      for await (const part of gz) parts.push(part);
    }).then(() => Buffer.concat(parts));
    bombs.set(bytes, bomb);
  }
  return bomb;
}

async function sendGzipBomb(state: State, res: ServerResponse, entry: RequestLogEntry, bytes: number): Promise<void> {
  const [body] = await Promise.all([gzipBomb(bytes), wait(state, latency(state))]);
  record(state, entry, 200);
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', 'content-length': body.length });
  res.end(body);
}

/** Chunked, with backpressure: the simulator's memory stays flat however large the body. */
async function sendOversized(state: State, res: ServerResponse, entry: RequestLogEntry, bytes: number): Promise<void> {
  await wait(state, latency(state));
  record(state, entry, 200);
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  // A client that stops reading (its size limit) closes the connection: expected, not an error.
  await pipeline(Readable.from(paddedJson(bytes)), res).catch(() => undefined);
}
