import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ComponentName, StackConfig } from './config';
import type { ComponentSpec } from './components';

/**
 * Background processes the stack started, tracked by PID file. A PID is only ever
 * signalled after /proc confirms it still runs our command line: PIDs get reused,
 * and `stack down` must never kill somebody else's process.
 */

export interface PidRecord {
  component: ComponentName;
  pid: number;
  marker: string;
  startedAt: string;
  log: string;
}

export function pidFile(config: StackConfig, name: ComponentName): string {
  return path.join(config.pidDir, `${name}.json`);
}

export function logFile(config: StackConfig, name: ComponentName): string {
  return path.join(config.logDir, `${name}.log`);
}

export function readPid(config: StackConfig, name: ComponentName): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(config, name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its command line carries `marker`. */
export function isOurs(pid: number, marker: string): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/** The recorded process if it is still ours and running; clears a stale PID file. */
export function runningProcess(config: StackConfig, name: ComponentName): PidRecord | undefined {
  const record = readPid(config, name);
  if (!record) return undefined;
  if (isOurs(record.pid, record.marker)) return record;
  fs.rmSync(pidFile(config, name), { force: true });
  return undefined;
}

export function startDetached(config: StackConfig, spec: ComponentSpec, cwd: string): PidRecord {
  fs.mkdirSync(config.logDir, { recursive: true });
  fs.mkdirSync(config.pidDir, { recursive: true });
  const log = logFile(config, spec.name);
  const fd = fs.openSync(log, 'a');
  fs.writeSync(fd, `\n=== kafka-dr stack: starting ${spec.name} at ${new Date().toISOString()} ===\n`);
  // detached: the process outlives `stack up` and gets its own process group, so
  // `stack down` can stop the JVM and anything it forked together.
  const child = spawn(spec.command, spec.args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not spawn ${spec.command} for ${spec.name}`);
  child.unref();
  const record: PidRecord = {
    component: spec.name,
    pid: child.pid,
    marker: spec.marker,
    startedAt: new Date().toISOString(),
    log,
  };
  fs.writeFileSync(pidFile(config, spec.name), JSON.stringify(record, null, 2));
  return record;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * SIGTERM (Kafka and Connect shut down cleanly on it), then SIGKILL after `graceMs`.
 * Returns how it ended, for the operator's log.
 */
export async function stopProcess(
  config: StackConfig,
  name: ComponentName,
  graceMs: number,
): Promise<'not-running' | 'stopped' | 'killed'> {
  const record = runningProcess(config, name);
  if (!record) return 'not-running';
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(record.pid, record.marker)) {
      fs.rmSync(pidFile(config, name), { force: true });
      return 'stopped';
    }
    await sleep(200);
  }
  signalGroup(record.pid, 'SIGKILL');
  while (isOurs(record.pid, record.marker)) await sleep(100);
  fs.rmSync(pidFile(config, name), { force: true });
  return 'killed';
}

/** Whether something already listens on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.once('listening', () => server.close(() => resolve(false)));
    server.listen({ port, host: '127.0.0.1', exclusive: true });
  });
}

/** Resident memory of a process in MiB, from /proc (for `stack status` and the notes). */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export function tail(file: string, lines: number): string[] {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines);
  } catch {
    return [];
  }
}

/** Live processes whose command line contains `needle` (from /proc; Linux only). */
export function processesMentioning(needle: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}
