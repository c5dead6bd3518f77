import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { demoCommand } from '../src/cli/demoCommand.ts';
import { migrateCommand } from '../src/cli/migrateCommand.ts';
import { runsCommand } from '../src/cli/runsCommand.ts';
import { scheduleCommand } from '../src/cli/scheduleCommand.ts';
import { simulateCommand } from '../src/cli/simulateCommand.ts';
import { syncCommand } from '../src/cli/syncCommand.ts';
import { CONFIG_VARIABLES, loadConfig, type Config, type Env } from '../src/config/config.ts';
import { ConfigError } from '../src/lib/errors.ts';

/**
 * The deployment examples in deploy/ and the Dockerfile are checked against the code (variable
 * names, commands, the health port), so renaming any of them breaks this test, not a deployment.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMMANDS: string[] = [migrateCommand, syncCommand, scheduleCommand, runsCommand, demoCommand, simulateCommand].map((c) => c.name);
const SECRETS = ['DATABASE_URL', 'METAACCESS_ACCESS_TOKEN', 'METAACCESS_CLIENT_ID', 'METAACCESS_CLIENT_SECRET'];
const DEFAULT_PORT = loadConfig({}).httpPort;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface EnvVar { name: string; value?: unknown; valueFrom?: unknown }
interface Probe { httpGet?: { path?: string; port?: number | string } }
interface Container {
  name: string; command?: string[]; args?: string[]; env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe; readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[]; restartPolicy?: string;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; secret?: { secretName: string } }[];
}
interface Manifest { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, any> }
interface ComposeService {
  image?: string; build?: { context: string; dockerfile?: string }; command?: string[];
  environment?: Record<string, string | number | boolean | null>; secrets?: (string | { source: string })[];
  depends_on?: Record<string, unknown>; ports?: string[]; healthcheck?: { test: string[] }; profiles?: string[];
}

/** Kubernetes reads manifests as YAML 1.1 (e.g. `defaultMode: 0440` is octal). */
function readManifest(path: string): Manifest {
  const docs = parseAllDocuments(read(path), { version: '1.1' });
  if (!Array.isArray(docs)) throw new Error(`${path}: no YAML document`);
  expect(docs).toHaveLength(1);
  expect(docs[0]!.errors, path).toEqual([]);
  return docs[0]!.toJS() as Manifest;
}

/** Every name must be one the worker reads; `X_FILE` only for secrets, and the code must honour it. */
function expectKnownVariables(names: string[]): void {
  for (const name of names) {
    const base = name.replace(/_FILE$/, '');
    expect(CONFIG_VARIABLES as readonly string[], `${name} is not a variable the worker reads`).toContain(base);
    if (base === name) continue;
    expect(SECRETS, `${name}: only secrets may be given as *_FILE`).toContain(base);
    let thrown: unknown;
    try {
      loadConfig({ [name]: '/nonexistent/deploy-test' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown, `loadConfig ignores ${name}`).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(name);
  }
}

/** The configuration a container would get: *_FILE point at files with plausible values. */
const tmp = mkdtempSync(join(tmpdir(), 'deploy-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function effectiveConfig(env: Record<string, string>): Config {
  const withFiles: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_FILE')) {
      withFiles[name] = value;
      continue;
    }
    const file = join(tmp, name);
    writeFileSync(file, name === 'DATABASE_URL_FILE' ? 'postgres://deploy:test@db:5432/inventory\n' : `deploy-test-${name}\n`);
    withFiles[name] = file;
  }
  return loadConfig(withFiles, { requireCredentials: true });
}

function podSpecOf(m: Manifest): PodSpec {
  return (m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec) as PodSpec;
}

function probePort(c: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  return typeof port === 'string' ? c.ports?.find((p) => p.name === port)?.containerPort : port;
}

/** The checks both Kubernetes examples share; returns the container and its effective config. */
function checkWorkload(path: string, kind: string, command: string) {
  const m = readManifest(path);
  expect(m.kind).toBe(kind);
  const pod = podSpecOf(m);
  expect(pod.containers).toHaveLength(1);
  const c = pod.containers[0]!;
  expect(c.command, 'keep the image ENTRYPOINT').toBeUndefined();
  expect(COMMANDS).toContain(c.args?.[0]);
  expect(c.args?.[0]).toBe(command);

  const env = c.env ?? [];
  expectKnownVariables(env.map((e) => e.name));
  for (const e of env) {
    if (SECRETS.includes(e.name)) expect(e.value, `${e.name} must come from a file or valueFrom`).toBeUndefined();
  }
  // *_FILE paths lie in the mounted Secret.
  const secretMounts = (c.volumeMounts ?? []).filter((vm) => pod.volumes?.find((v) => v.name === vm.name)?.secret);
  const secretNames = secretMounts.map((vm) => pod.volumes!.find((v) => v.name === vm.name)!.secret!.secretName);
  for (const e of env.filter((v) => v.name.endsWith('_FILE'))) {
    expect(typeof e.value).toBe('string');
    expect(secretMounts.map((vm) => vm.mountPath), e.name).toContain(posix.dirname(String(e.value)));
  }
  const config = effectiveConfig(Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, String(e.value)])));
  expect(config.databaseUrl, 'without DATABASE_URL the worker would use an embedded database in the pod').toBeDefined();

  expect(pod.securityContext?.runAsNonRoot).toBe(true);
  expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
  expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
  expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
  expect(c.resources?.limits?.memory).toBe('256Mi');
  return { m, pod, c, env, config, secretNames };
}

describe('deploy/kubernetes', () => {
  it('cronjob.yaml runs `sync` once per schedule, never two at once, with secrets from files', () => {
    const { m, pod, c, env, secretNames } = checkWorkload('deploy/kubernetes/cronjob.yaml', 'CronJob', syncCommand.name);
    expect(m.apiVersion).toBe('batch/v1');
    expect(m.spec.concurrencyPolicy).toBe('Forbid');
    expect(typeof m.spec.schedule).toBe('string');
    expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
    expect(secretNames).toEqual(['metaaccess-sync']);
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['METAACCESS_CLIENT_ID_FILE', 'METAACCESS_CLIENT_SECRET_FILE', 'DATABASE_URL_FILE']));
    // The zone that decides a run's day must be the zone the CronJob fires in.
    const zone = env.find((e) => e.name === 'SYNC_TIMEZONE')?.value;
    if (m.spec.timeZone !== undefined || zone !== undefined) expect(zone).toBe(m.spec.timeZone);
    for (const rule of m.spec.jobTemplate.spec.podFailurePolicy?.rules ?? []) {
      expect(rule.onExitCodes?.containerName ?? c.name).toBe(c.name);
    }
  });

  it('deployment.yaml runs one `schedule` with /healthz readiness and /livez liveness on the metrics port', () => {
    const { m, c, env, config, secretNames } = checkWorkload('deploy/kubernetes/deployment.yaml', 'Deployment', scheduleCommand.name);
    expect(m.apiVersion).toBe('apps/v1');
    expect(m.spec.replicas).toBe(1);
    expect(m.spec.template.metadata.labels).toMatchObject(m.spec.selector.matchLabels);
    expect(secretNames).toEqual(['metaaccess-sync']);
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['METAACCESS_CLIENT_ID_FILE', 'METAACCESS_CLIENT_SECRET_FILE', 'DATABASE_URL_FILE']));
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'metrics', containerPort: DEFAULT_PORT }));
    expect(c.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/livez');
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      expect(probePort(c, probe)).toBe(DEFAULT_PORT);
      expect(probePort(c, probe)).toBe(config.httpPort);
    }
    expect(c.resources?.requests?.memory).toBeDefined();
  });
});

/** Compose interpolation of `${VAR:-default}`, `${VAR-default}` and `${VAR}` with VAR unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_all, _name: string, fallback?: string) => fallback ?? '').replace(/\$\$/g, '$');
}

/** The JavaScript of `node -e <js>` in a healthcheck, and the port it targets by default. */
function healthcheckScript(words: string[]): { js: string; port: number } {
  const i = words.indexOf('-e');
  expect(words.slice(0, i)).toEqual(expect.arrayContaining(['node']));
  const js = words[i + 1] ?? '';
  expect(js).toContain('/healthz');
  const port = /(?:127\.0\.0\.1:|HTTP_PORT\|\|)(\d+)/.exec(js)?.[1];
  return { js, port: Number(port) };
}

describe('deploy/docker-compose.yml', () => {
  const compose = parse(read('deploy/docker-compose.yml')) as { services: Record<string, ComposeService>; secrets?: Record<string, { file?: string }> };
  const [workerName, worker] = Object.entries(compose.services).find(([, s]) => s.build) ?? [];

  it('builds the worker from the Dockerfile and runs `schedule` next to PostgreSQL 16', () => {
    expect(worker, 'a service built from ../Dockerfile').toBeDefined();
    expect(existsSync(join(resolve(ROOT, 'deploy', worker!.build!.context), worker!.build!.dockerfile ?? 'Dockerfile'))).toBe(true);
    expect(worker!.command?.[0]).toBe(scheduleCommand.name);
    expect(COMMANDS).toContain(worker!.command?.[0]);
    const db = Object.entries(compose.services).find(([, s]) => s.image?.startsWith('postgres:16'));
    expect(db, 'a postgres:16 service').toBeDefined();
    expect(Object.keys(worker!.depends_on ?? {})).toContain(db![0]);
    const bi = compose.services.metabase;
    if (bi) expect(bi.profiles).toEqual(['bi']);
  });

  it('passes only variables the worker reads, and secrets only as files', () => {
    const env = Object.fromEntries(Object.entries(worker!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''))]));
    expectKnownVariables(Object.keys(env));
    for (const name of SECRETS) expect(env, `${name} must be given as ${name}_FILE`).not.toHaveProperty(name);
    const mounted = (worker!.secrets ?? []).map((s) => (typeof s === 'string' ? s : s.source));
    for (const [name, value] of Object.entries(env).filter(([k]) => k.endsWith('_FILE'))) {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(value)?.[1];
      expect(mounted, `${name}=${value} is not a secret of ${workerName}`).toContain(secret);
      expect(compose.secrets?.[secret!]?.file, `secret ${secret} comes from a file`).toBeDefined();
    }
    expect(env).toHaveProperty('DATABASE_URL_FILE');
    expect(effectiveConfig(env).httpPort).toBe(DEFAULT_PORT);
  });

  it('health-checks /healthz and publishes the metrics port', () => {
    expect(healthcheckScript(worker!.healthcheck?.test ?? []).port).toBe(DEFAULT_PORT);
    expect((worker!.ports ?? []).map((p) => Number(String(p).split(':').at(-1)))).toContain(DEFAULT_PORT);
  });
});

/** Instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage(): { op: string; rest: string }[] {
  const lines = read('Dockerfile').replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const from = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  return lines.slice(from).map((l) => {
    const [op = '', ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), rest: rest.join(' ') };
  });
}

describe('Dockerfile', () => {
  const stage = finalStage();
  const last = (op: string) => stage.filter((i) => i.op === op).at(-1)?.rest;

  it('final stage: production dependencies, migrations, non-root user, default command', () => {
    expect(stage.some((i) => i.op === 'RUN' && i.rest.includes('npm ci') && i.rest.includes('--omit=dev'))).toBe(true);
    expect(stage.some((i) => i.op === 'COPY' && /(^|\s)\.?\/?migrations\b/.test(i.rest))).toBe(true);
    const user = last('USER');
    expect(user).toBeDefined();
    expect(['root', '0'].includes(user!.split(':')[0]!)).toBe(false);
    expect(JSON.parse(last('ENTRYPOINT') ?? '[]')).toEqual(['node', 'dist/cli.js']);
    const cmd = JSON.parse(last('CMD') ?? '[]') as string[];
    expect(COMMANDS).toContain(cmd[0]);
    expect(cmd[0]).toBe(scheduleCommand.name);
  });

  it('HEALTHCHECK hits /healthz on the default HTTP_PORT', () => {
    const check = last('HEALTHCHECK');
    expect(check).toMatch(/CMD\s+\[/);
    const words = JSON.parse(check!.slice(check!.indexOf('['))) as string[];
    expect(healthcheckScript(words).port).toBe(DEFAULT_PORT);
  });
});

describe('healthcheck scripts', () => {
  const run = (js: string, port: number) => new Promise<number>((done) => {
    // The default port is swapped for the stub's; the Dockerfile's script also reads HTTP_PORT.
    const script = js.replace(String(DEFAULT_PORT), String(port));
    execFile(process.execPath, ['-e', script], { env: { ...process.env, HTTP_PORT: String(port) }, timeout: 10_000 },
      (err) => done(err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0));
  });

  it('exit 0 on 200, 1 on 503 and when nothing listens', async () => {
    const stage = finalStage().filter((i) => i.op === 'HEALTHCHECK').at(-1)!.rest;
    const compose = parse(read('deploy/docker-compose.yml')) as { services: Record<string, ComposeService> };
    const scripts = [
      healthcheckScript(JSON.parse(stage.slice(stage.indexOf('['))) as string[]).js,
      ...Object.values(compose.services).filter((s) => s.build).map((s) => healthcheckScript(s.healthcheck?.test ?? []).js),
    ];
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const js of scripts) {
        status = 200;
        expect(await run(js, port)).toBe(0);
        status = 503;
        expect(await run(js, port)).toBe(1);
      }
    } finally {
      await new Promise((ok) => server.close(ok));
    }
    expect(new Set(paths)).toEqual(new Set(['/healthz']));
    for (const js of scripts) expect(await run(js, port)).toBe(1);
  });
});
