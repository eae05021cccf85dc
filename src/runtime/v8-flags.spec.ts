import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { missingStartupFlags, STARTUP_NODE_FLAGS, workerExecArgv } from './v8-flags';

/** v8-flags.ts as CommonJS: the child loads it without ts-node, whose own start-up allocates a lot. */
function compiledModule(): string {
  const source = readFileSync(path.join(__dirname, 'v8-flags.ts'), 'utf8');
  return ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  }).outputText;
}

/**
 * Runs a child node that allocates long-lived objects (enough scavenges for V8 to digest
 * pretenuring feedback) and returns how many allocation sites V8 reported feedback for.
 * `--trace-pretenuring-statistics` prints one line per site each time V8 processes that feedback.
 */
function pretenuringReports(applyFlags: boolean): { reports: number; finished: boolean } {
  const script = `
    const mod = { exports: {} };
    new Function('module', 'exports', 'require', ${JSON.stringify(compiledModule())})(mod, mod.exports, require);
    if (${applyFlags}) mod.exports.applyV8Flags();
    const keep = [];
    const make = (i) => ({ a: i, b: [i, i + 1], c: { d: i } });
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 200000; i++) keep.push(make(i));
      if (keep.length > 2e6) keep.length = 0;
    }
    process.stdout.write('finished\\n');
  `;
  const out = execFileSync(process.execPath, ['--trace-pretenuring-statistics', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  return {
    reports: out.split('\n').filter((l) => /pretenuring: AllocationSite/.test(l)).length,
    finished: out.includes('finished'),
  };
}

describe('applyV8Flags', () => {
  it('leaves V8 digesting pretenuring feedback when not called (the check below can fail)', () => {
    const { reports, finished } = pretenuringReports(false);
    expect(finished).toBe(true);
    expect(reports).toBeGreaterThan(0);
  });

  it('turns allocation-site pretenuring off at run time: V8 digests no feedback afterwards', () => {
    const { reports, finished } = pretenuringReports(true);
    expect(finished).toBe(true);
    expect(reports).toBe(0);
  });
});

/** The young generation's size (new space, both semi-spaces) of a child node started with `args`. */
function newSpaceBytes(args: string[], setAtRunTime: string[] = []): number {
  const script = `
    const v8 = require('node:v8');
    for (const f of ${JSON.stringify(setAtRunTime)}) v8.setFlagsFromString(f);
    let keep = [];
    for (let i = 0; i < 300000; i++) { keep.push({ i }); if (keep.length > 100) keep = []; }
    const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    process.stdout.write(String(s.space_size));
  `;
  const out = execFileSync(process.execPath, [...args, '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  return Number(out);
}

describe('STARTUP_NODE_FLAGS (decision 95)', () => {
  const MiB = 2 ** 20;

  it('starts the young generation at two 16 MiB semi-spaces, from the command line only', () => {
    // A light allocation load: V8 leaves the young generation where it started.
    expect(newSpaceBytes([])).toBeLessThan(16 * MiB);
    expect(newSpaceBytes([...STARTUP_NODE_FLAGS])).toBeGreaterThanOrEqual(32 * MiB);
    // Set at run time, as applyV8Flags does with V8_FLAGS, it does nothing: hence the command line.
    expect(newSpaceBytes([], [...STARTUP_NODE_FLAGS])).toBeLessThan(16 * MiB);
  });

  it('adds the flags a primary lacks to its workers, keeping what it was started with', () => {
    expect(workerExecArgv([])).toEqual([...STARTUP_NODE_FLAGS]);
    expect(workerExecArgv(['-r', 'ts-node/register'])).toEqual([
      '-r',
      'ts-node/register',
      ...STARTUP_NODE_FLAGS,
    ]);
    expect(missingStartupFlags(['--inspect'])).toEqual([...STARTUP_NODE_FLAGS]);
  });

  it("keeps an operator's own value of a flag, in any spelling, and adds nothing twice", () => {
    for (const own of [
      '--min-semi-space-size=4',
      '--min_semi_space_size=4',
      '--min-semi-space-size',
    ]) {
      expect(workerExecArgv([own])).toEqual([own]);
      expect(missingStartupFlags([own])).toEqual([]);
    }
    expect(workerExecArgv([...STARTUP_NODE_FLAGS])).toEqual([...STARTUP_NODE_FLAGS]);
  });

  it('is what `npm start` and the Docker image start the api with', () => {
    const root = path.join(__dirname, '..', '..');
    const start = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts.start;
    expect(start).toContain(`node ${STARTUP_NODE_FLAGS.join(' ')} dist/src/main.js`);
    const cmd = readFileSync(path.join(root, 'Dockerfile'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('CMD '))
      .pop();
    expect(cmd).toBe(
      `CMD ${JSON.stringify(['node', ...STARTUP_NODE_FLAGS, 'dist/src/main.js']).replace(/,/g, ', ')}`,
    );
  });
});
