import { createServer, type Server, type Socket } from 'node:net';
import { LoadGenerator, taskDeadlineMs } from '../bench/loadgen-client';
import type { HttpTask } from '../bench/loadgen-protocol';

/** The bench's load generator gives up on a server that stops answering instead of hanging the run. */
describe('bench load generator (bench/loadgen-client.ts)', () => {
  let loadgen: LoadGenerator | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  afterAll(async () => {
    await loadgen?.stop();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('rejects a task that overruns its deadline, naming it', async () => {
    // Accepts connections and reads requests, never answers: a wedged server.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const task: HttpTask = {
      kind: 'http',
      label: 'wedged-row',
      origin: `http://127.0.0.1:${port}`,
      connections: 2,
      warmupSeconds: 0,
      durationSeconds: 30,
      targets: [{ method: 'GET', path: '/health/live', headers: {} }],
      bodies: [],
      seed: 1,
    };
    // The default leaves the row its time three times over, plus five minutes.
    expect(taskDeadlineMs(task)).toBe((30 * 3 + 300) * 1000);
    loadgen = await LoadGenerator.start();
    const started = Date.now();
    await expect(loadgen.run(task, undefined, 1500)).rejects.toThrow(
      /^wedged-row: no result after 1\.5 s/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
