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

interface EnvVar {
  name: string;
  value?: unknown;
  valueFrom?: unknown;
}
interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  image?: string;
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type?: string };
  };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
  volumes?: { name: string; secret?: { secretName: string } }[];
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}
interface JobSpec {
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  podFailurePolicy?: { rules?: { onExitCodes?: { containerName?: string } }[] };
  template: PodTemplate;
}
/** The fields the tests read: a Deployment or a Job has `template`, a CronJob `jobTemplate`. */
interface WorkloadSpec extends Partial<JobSpec> {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  schedule?: string;
  timeZone?: string;
  concurrencyPolicy?: string;
  startingDeadlineSeconds?: number;
  jobTemplate?: { spec: JobSpec };
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: WorkloadSpec;
}
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  secrets?: (string | { source: string })[];
  depends_on?: Record<string, { condition?: string }>;
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  mem_limit?: string;
  logging?: { driver?: string; options?: Record<string, string> };
  volumes?: string[];
  user?: string;
  entrypoint?: string[];
  restart?: string;
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
function effectiveConfig(env: Record<string, string>, requireCredentials = true): Config {
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
  return loadConfig(withFiles, { requireCredentials });
}

function podSpecOf(m: Manifest): PodSpec {
  return m.kind === 'CronJob' ? m.spec.jobTemplate!.spec.template.spec : m.spec.template!.spec;
}

function probePort(c: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  return typeof port === 'string' ? c.ports?.find((p) => p.name === port)?.containerPort : port;
}

/** The checks both Kubernetes examples share; returns the container and its effective config. */
function checkWorkload(path: string, kind: string, command: string) {
  const requireCredentials = command !== migrateCommand.name;
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
    expect(
      secretMounts.map((vm) => vm.mountPath),
      e.name,
    ).toContain(posix.dirname(String(e.value)));
  }
  const config = effectiveConfig(
    Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, String(e.value)])),
    requireCredentials,
  );
  expect(config.databaseUrl, 'without DATABASE_URL the worker would use an embedded database in the pod').toBeDefined();

  expectHardenedPod(pod, c);
  return { m, pod, c, env, config, secretNames };
}

/** Non-root, read-only, no capabilities, the runtime's seccomp profile, bounded memory, a pinned image. */
function expectHardenedPod(pod: PodSpec, c: Container): void {
  expect(pod.securityContext?.runAsNonRoot).toBe(true);
  expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
  expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(c.securityContext).toMatchObject({
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(c.securityContext?.capabilities?.add ?? []).toEqual([]);
  expect(c.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  expect(c.resources?.limits?.memory).toBe('256Mi');
  expectPinned(c.image);
  // The only writable paths: /tmp (emptyDir) and the read-only secret mounts.
  expect((c.volumeMounts ?? []).map((v) => v.mountPath)).toContain('/tmp');
}

/** An exact release (x.y or x.y.z after the name) or a digest: never `latest` or a bare major. */
function expectPinned(image: string | undefined): void {
  expect(image, 'an image').toBeDefined();
  if (/@sha256:[0-9a-f]{64}$/.test(image!)) return;
  const tag = /:([^/:]+)$/.exec(image!)?.[1];
  expect(tag, `${image} has no tag`).toBeDefined();
  expect(tag, `${image} is not pinned to a release`).toMatch(/^v?\d+\.\d+(\.\d+)*([.-][\w.-]+)?$/);
}

describe('deploy/kubernetes', () => {
  it('cronjob.yaml runs `sync` once per schedule, never two at once, with secrets from files', () => {
    const { m, pod, c, env, secretNames } = checkWorkload('deploy/kubernetes/cronjob.yaml', 'CronJob', syncCommand.name);
    expect(m.apiVersion).toBe('batch/v1');
    expect(m.spec.concurrencyPolicy).toBe('Forbid');
    expect(typeof m.spec.schedule).toBe('string');
    expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
    expect(secretNames).toEqual(['metaaccess-sync']);
    expect(env.map((e) => e.name)).toEqual(
      expect.arrayContaining(['METAACCESS_CLIENT_ID_FILE', 'METAACCESS_CLIENT_SECRET_FILE', 'DATABASE_URL_FILE']),
    );
    // The zone that decides a run's day must be the zone the CronJob fires in.
    const zone = env.find((e) => e.name === 'SYNC_TIMEZONE')?.value;
    if (m.spec.timeZone !== undefined || zone !== undefined) expect(zone).toBe(m.spec.timeZone);
    for (const rule of m.spec.jobTemplate!.spec.podFailurePolicy?.rules ?? []) {
      expect(rule.onExitCodes?.containerName ?? c.name).toBe(c.name);
    }
  });

  it('cronjob.yaml: a hung run is stopped before it blocks the next night; a missed night is not run late', () => {
    const m = readManifest('deploy/kubernetes/cronjob.yaml');
    const job = m.spec.jobTemplate!.spec;
    // Room for the longest healthy run (100,000 devices at 10 requests/min: about 3.5 h) …
    expect(job.activeDeadlineSeconds).toBeGreaterThanOrEqual(4 * 3600);
    // … and over well before the next daily run, which Forbid would otherwise skip.
    expect(job.activeDeadlineSeconds).toBeLessThanOrEqual(12 * 3600);
    expect(m.spec.startingDeadlineSeconds).toBeGreaterThan(0);
    expect(job.backoffLimit).toBeGreaterThanOrEqual(0);
    expect(job.backoffLimit).toBeLessThanOrEqual(3);
  });

  it("migrate-job.yaml runs `migrate` with the owner's URL from a Secret the worker pods do not mount", () => {
    const { m, env, secretNames } = checkWorkload('deploy/kubernetes/migrate-job.yaml', 'Job', migrateCommand.name);
    expect(m.spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(secretNames).toHaveLength(1);
    expect(secretNames).not.toContain('metaaccess-sync');
    const cron = podSpecOf(readManifest('deploy/kubernetes/cronjob.yaml')).containers[0]!;
    const zone = (e: EnvVar[] | undefined) => e?.find((v) => v.name === 'SYNC_TIMEZONE')?.value;
    expect(zone(env)).toBe(zone(cron.env));
  });

  it('deployment.yaml runs one `schedule` with /healthz readiness and /livez liveness on the metrics port', () => {
    const { m, c, env, config, secretNames } = checkWorkload('deploy/kubernetes/deployment.yaml', 'Deployment', scheduleCommand.name);
    expect(m.apiVersion).toBe('apps/v1');
    expect(m.spec.replicas).toBe(1);
    expect(m.spec.template!.metadata!.labels).toMatchObject(m.spec.selector!.matchLabels!);
    expect(secretNames).toEqual(['metaaccess-sync']);
    expect(env.map((e) => e.name)).toEqual(
      expect.arrayContaining(['METAACCESS_CLIENT_ID_FILE', 'METAACCESS_CLIENT_SECRET_FILE', 'DATABASE_URL_FILE']),
    );
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
  const compose = parse(read('deploy/docker-compose.yml')) as {
    services: Record<string, ComposeService>;
    secrets?: Record<string, { file?: string }>;
  };
  const [workerName, worker] = Object.entries(compose.services).find(([, s]) => s.build) ?? [];
  const mountedSecrets = (service: ComposeService) => (service.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source));

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

  /** The environment of a service built from the image: known variables, secrets only as files of that service. */
  function expectImageEnvironment(name: string, service: ComposeService): Record<string, string> {
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''))]));
    expectKnownVariables(Object.keys(env));
    for (const secret of SECRETS) expect(env, `${secret} must be given as ${secret}_FILE`).not.toHaveProperty(secret);
    for (const [variable, value] of Object.entries(env).filter(([k]) => k.endsWith('_FILE'))) {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(value)?.[1];
      expect(mountedSecrets(service), `${variable}=${value} is not a secret of ${name}`).toContain(secret);
      expect(compose.secrets?.[secret!]?.file, `secret ${secret} comes from a file`).toBeDefined();
    }
    expect(env).toHaveProperty('DATABASE_URL_FILE');
    return env;
  }

  it('passes only variables the worker reads, and secrets only as files', () => {
    const env = expectImageEnvironment(workerName!, worker!);
    expect(effectiveConfig(env).httpPort).toBe(DEFAULT_PORT);
  });

  it('the worker logs in as the writer; only the one-shot `migrate` uses the schema owner', () => {
    const [migrateName, migrate] = Object.entries(compose.services).find(([, s]) => s.command?.[0] === migrateCommand.name) ?? [];
    expect(migrate, 'a service running `migrate`').toBeDefined();
    expect(migrate!.image).toBe(worker!.image);
    expect(migrate!.restart).toBe('no');
    const migrateEnv = expectImageEnvironment(migrateName!, migrate!);
    const workerEnv = expectImageEnvironment(workerName!, worker!);
    expect(migrateEnv.SYNC_TIMEZONE, "the calendar 0007 moves days to is the worker's").toBe(workerEnv.SYNC_TIMEZONE);
    const ownerSecret = migrateEnv.DATABASE_URL_FILE!.split('/').at(-1)!;
    expect(workerEnv.DATABASE_URL_FILE).not.toBe(migrateEnv.DATABASE_URL_FILE);
    const db = Object.values(compose.services).find((x) => x.environment?.POSTGRES_USER)!;
    const adminPassword = String(db.environment!.POSTGRES_PASSWORD_FILE).split('/').at(-1)!;
    expect(mountedSecrets(worker!)).not.toContain(ownerSecret);
    expect(mountedSecrets(worker!)).not.toContain(adminPassword);
    expect(worker!.depends_on?.[migrateName!]?.condition).toBe('service_completed_successfully');

    // The writer login is made by docs/writer-role.sql, through the script, before `migrate`.
    const [rolesName, roles] = Object.entries(compose.services).find(([, x]) => x.environment?.WRITER_LOGIN) ?? [];
    expect(roles, 'a service making the writer login').toBeDefined();
    expect(migrate!.depends_on?.[rolesName!]?.condition).toBe('service_completed_successfully');
    expect(roles!.environment!.WRITER_LOGIN).not.toBe(db.environment!.POSTGRES_USER);
    const mounts = new Map(
      (roles!.volumes ?? []).map((v) => String(v).split(':') as [string, string, string?]).map(([from, to]) => [to, from]),
    );
    const script = mounts.get(roles!.entrypoint?.at(-1) ?? '');
    expect(script, 'the entrypoint script is mounted').toBeDefined();
    expect(existsSync(resolve(ROOT, 'deploy', script!))).toBe(true);
    const scriptText = read(join('deploy', script!));
    const sqlPath = /WRITER_ROLE_SQL:=([^}]+)\}/.exec(scriptText)?.[1];
    expect(resolve(ROOT, 'deploy', mounts.get(sqlPath!) ?? '')).toBe(join(ROOT, 'docs', 'writer-role.sql'));
    for (const file of scriptText.matchAll(/\/run\/secrets\/(\w+)/g)) expect(mountedSecrets(roles!)).toContain(file[1]);
  });

  it('every service: pinned image, no new privileges, no capabilities it does not need, a memory limit, rotated logs', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image !== worker!.image) expectPinned(service.image);
      expect(service.security_opt, name).toContain('no-new-privileges:true');
      expect(service.cap_drop, name).toEqual(['ALL']);
      // Only the official postgres and Metabase entrypoints, which start as root and step down.
      if (service.image === worker!.image) expect(service.cap_add, name).toBeUndefined();
      for (const cap of service.cap_add ?? []) expect(['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID'], name).toContain(cap);
      expect(service.mem_limit, name).toMatch(/^\d+[kmg]$/);
      expect(service.logging?.driver, name).toBe('json-file');
      expect(service.logging?.options, name).toMatchObject({
        'max-size': expect.stringMatching(/^\d+[km]$/),
        'max-file': expect.stringMatching(/^\d+$/),
      });
    }
  });

  it('read-only root filesystems (Metabase excepted), /tmp on tmpfs for the worker image, healthchecks on long-running services', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name !== 'metabase') expect(service.read_only, name).toBe(true);
      if (service.image === worker!.image)
        expect(
          (service.tmpfs ?? []).map((t) => t.split(':')[0]),
          name,
        ).toContain('/tmp');
      if (service.restart === 'unless-stopped') {
        expect(service.healthcheck?.disable, name).not.toBe(true);
        expect(service.healthcheck?.test?.length, `${name} has a healthcheck`).toBeGreaterThan(0);
      }
    }
  });

  it('health-checks /healthz and publishes the metrics port', () => {
    expect(healthcheckScript(worker!.healthcheck?.test ?? []).port).toBe(DEFAULT_PORT);
    expect((worker!.ports ?? []).map((p) => Number(String(p).split(':').at(-1)))).toContain(DEFAULT_PORT);
  });
});

/** Instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage(): { op: string; rest: string }[] {
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
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

  it('no VOLUME (an anonymous volume on every run, even with DATABASE_URL); a pinned Node release the code supports', () => {
    const all = read('Dockerfile')
      .replace(/\\\r?\n/g, ' ')
      .split(/\r?\n/)
      .map((l) => l.trim());
    expect(all.filter((l) => /^VOLUME\s/i.test(l))).toEqual([]);
    const base = /^ARG\s+NODE_IMAGE=(\S+)/m.exec(all.join('\n'))?.[1];
    expectPinned(base);
    expect(all.filter((l) => /^FROM\s/i.test(l)).every((l) => l.includes('${NODE_IMAGE}'))).toBe(true);
    const [major = 0, minor = 0] = (/^node:(\d+)\.(\d+)/.exec(base!) ?? []).slice(1).map(Number);
    const engines = JSON.parse(read('package.json')) as { engines: { node: string } };
    const [minMajor = 0, minMinor = 0] = (/>=\s*(\d+)\.(\d+)/.exec(engines.engines.node) ?? []).slice(1).map(Number);
    expect(major > minMajor || (major === minMajor && minor >= minMinor), `${base} satisfies ${engines.engines.node}`).toBe(true);
  });

  it('HEALTHCHECK hits /healthz on the default HTTP_PORT', () => {
    const check = last('HEALTHCHECK');
    expect(check).toMatch(/CMD\s+\[/);
    const words = JSON.parse(check!.slice(check!.indexOf('['))) as string[];
    expect(healthcheckScript(words).port).toBe(DEFAULT_PORT);
  });
});

/**
 * Whether the build context leaves `path` out, as Docker reads .dockerignore: each pattern is
 * matched against the whole path from the context root (`**` spans directories, `*` does not), a
 * matched directory takes its contents with it, and the last matching line wins (`!` re-includes).
 */
function dockerIgnores(patterns: string[], path: string): boolean {
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/^\/+|\/+$/g, '')
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/'
            ? '(?:.*/)?'
            : part === '**'
              ? '.*'
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
  const prefixes = path.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const line of patterns) {
    const negated = line.startsWith('!');
    const re = toRegExp(negated ? line.slice(1) : line);
    if (prefixes.some((p) => re.test(p))) ignored = !negated;
  }
  return ignored;
}

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps secrets and env files out of the build context, wherever they are', () => {
    for (const path of [
      '.env',
      'deploy/.env',
      'deploy/.env.local',
      'deploy/secrets/worker_database_url',
      'deploy/secrets',
      'secrets/client_secret',
      'server.pem',
      'deploy/tls/server.pem',
      'deploy/tls/server.key',
      '.npmrc',
      'node_modules/pg/index.js',
      '.git/config',
    ]) {
      expect(dockerIgnores(patterns, path), `${path} must be ignored`).toBe(true);
    }
  });

  it('still sends what the image is built from', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/cli.ts',
      'src/db/partitions.ts',
      'migrations/0008_writer_role.sql',
      'migrations/meta/_journal.json',
    ]) {
      expect(dockerIgnores(patterns, path), `${path} must reach the build`).toBe(false);
    }
  });
});

describe('healthcheck scripts', () => {
  const run = (js: string, port: number) =>
    new Promise<number>((done) => {
      // The default port is swapped for the stub's; the Dockerfile's script also reads HTTP_PORT.
      const script = js.replace(String(DEFAULT_PORT), String(port));
      execFile(process.execPath, ['-e', script], { env: { ...process.env, HTTP_PORT: String(port) }, timeout: 10_000 }, (err) =>
        done(err ? Number((err as { code?: unknown }).code ?? 1) || 1 : 0),
      );
    });

  it('exit 0 on 200, 1 on 503 and when nothing listens', async () => {
    const stage = finalStage()
      .filter((i) => i.op === 'HEALTHCHECK')
      .at(-1)!.rest;
    const compose = parse(read('deploy/docker-compose.yml')) as { services: Record<string, ComposeService> };
    const scripts = [
      healthcheckScript(JSON.parse(stage.slice(stage.indexOf('['))) as string[]).js,
      ...Object.values(compose.services)
        .filter((s) => s.build)
        .map((s) => healthcheckScript(s.healthcheck?.test ?? []).js),
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
