import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { startStallWatchdog } from './stall-watchdog';

/** stall-watchdog.ts as CommonJS, for a plain child node. */
const compiled = ts.transpileModule(
  readFileSync(path.join(__dirname, 'stall-watchdog.ts'), 'utf8'),
  {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  },
).outputText;

interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `body` in a child node that has started the watchdog (timeout 1 s) first. */
function runChild(body: string, nodeArgs: string[] = []): Promise<ChildEnd> {
  const script = `
    const mod = { exports: {} };
    new Function('module', 'exports', 'require', ${JSON.stringify(compiled)})(mod, mod.exports, require);
    const watchdog = mod.exports.startStallWatchdog(1000, 'test-child');
    process.stdout.write(watchdog.active ? '' : 'inactive\\n');
    ${body}
  `;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '-e', script], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('startStallWatchdog', () => {
  it('kills a process whose main thread is stuck, and says why on stderr', async () => {
    const end = await runChild(`process.stdout.write('spinning\\n'); for (;;) {}`);
    expect(end.stdout).toBe('spinning\n');
    expect(end.signal).toBe('SIGKILL');
    const line = end.stderr.split('\n').find((l) => l.includes('event_loop_stalled'));
    expect(line).toBeDefined();
    const entry = JSON.parse(line!) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 60, name: 'test-child', alert: 'event_loop_stalled' });
    expect(entry.stalledMs).toBeGreaterThanOrEqual(1000);
    expect(end.ms).toBeLessThan(20_000);
  }, 40_000);

  it('leaves a busy but turning event loop alone, blocks shorter than the timeout included', async () => {
    const end = await runChild(`
      let rounds = 0;
      const tick = () => {
        const until = Date.now() + 400; // a 400 ms synchronous block, well under the 1 s timeout
        while (Date.now() < until) {}
        if (++rounds < 8) setTimeout(tick, 10);
        else process.stdout.write('done\\n');
      };
      tick();
    `);
    expect(end.signal).toBeNull();
    expect(end.code).toBe(0);
    expect(end.stdout).toBe('done\n');
    expect(end.stderr).not.toContain('event_loop_stalled');
  }, 40_000);

  it('does not keep an idle process alive', async () => {
    const end = await runChild(`setTimeout(() => process.stdout.write('bye\\n'), 50);`);
    expect(end.code).toBe(0);
    expect(end.stdout).toBe('bye\n');
    expect(end.ms).toBeLessThan(10_000);
  }, 40_000);

  it('stays out of the way of a debugger: with the inspector open a long block is not a stall', async () => {
    const end = await runChild(
      `const until = Date.now() + 2500; while (Date.now() < until) {} process.stdout.write('done\\n');`,
      ['--inspect=127.0.0.1:0'],
    );
    expect(end.signal).toBeNull();
    expect(end.code).toBe(0);
    expect(end.stdout).toBe('inactive\ndone\n');
    expect(end.stderr).not.toContain('event_loop_stalled');
  }, 40_000);

  it('refuses a timeout it could not keep', () => {
    expect(() => startStallWatchdog(999, 'x')).toThrow(/at least 1000/);
    expect(() => startStallWatchdog(1500.5, 'x')).toThrow(/whole number/);
  });
});
