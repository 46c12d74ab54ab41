import { describe, expect, it } from 'vitest';
import { LocalRunner } from '../../src/exec/local-runner.js';

const quiet = { onLine: () => {} };

// Real processes (sh), no podman: what the runner itself promises.
describe('LocalRunner', () => {
  it('keeps variables that hold secrets from the command, and passes the rest', async () => {
    process.env['ORCHESTRATE_TEST_SECRET'] = 'hunter2';
    process.env['ORCHESTRATE_TEST_PLAIN'] = 'visible';
    const outcome = await new LocalRunner().run(
      {
        argv: ['sh', '-c', 'echo "${ORCHESTRATE_TEST_SECRET:-unset} ${ORCHESTRATE_TEST_PLAIN:-unset} $LC_ALL"'],
        cwd: '/',
        hideEnv: ['ORCHESTRATE_TEST_SECRET'],
      },
      { ...quiet, signal: new AbortController().signal },
    );
    expect(outcome.stdout.trim()).toBe('unset visible C');
  });

  it('writes stdin and streams output by line', async () => {
    const lines: string[] = [];
    const outcome = await new LocalRunner().run(
      { argv: ['sh', '-c', 'cat; echo done >&2; exit 3'], cwd: '/', stdin: 'one\ntwo\n' },
      { onLine: (line) => lines.push(line), signal: new AbortController().signal },
    );
    expect(outcome.exitCode).toBe(3);
    expect(lines).toEqual(['one', 'two', 'done']);
  });

  it('on abort, kills what the command started in another session too', async () => {
    const abort = new AbortController();
    const marker = `sleep 60.${process.pid}`;
    // setsid: the child leaves the process group, as a RUN step's process does under podman.
    const running = new LocalRunner(500).run(
      { argv: ['sh', '-c', `setsid ${marker} & wait`], cwd: '/' },
      { ...quiet, signal: abort.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    const outcome = await running;
    expect(outcome.terminated).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const { execFileSync } = await import('node:child_process');
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith(marker));
    expect(left).toEqual([]);
  });

  it('says when a command is not installed', async () => {
    const outcome = await new LocalRunner().run(
      { argv: ['orchestrate-no-such-command'], cwd: '/' },
      { ...quiet, signal: new AbortController().signal },
    );
    expect(outcome.spawnError).toBeDefined();
  });

  it('stops a command that neither prints nor moves a byte for the idle timeout, and says it stalled', async () => {
    const started = Date.now();
    const outcome = await new LocalRunner(200).run(
      { argv: ['sleep', '30'], cwd: '/' },
      { ...quiet, idleTimeoutMs: 600, signal: new AbortController().signal },
    );
    expect(outcome.stalled).toBe(true);
    expect(outcome.terminated).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('leaves alone a command that prints nothing but keeps moving bytes (a large upload)', async () => {
    // ~2.5 s of silent writes, past an idle timeout of 0.8 s: I/O alone counts as progress.
    const script =
      "const fs=require('fs');const fd=fs.openSync('/dev/null','w');let n=0;const t=setInterval(()=>{fs.writeSync(fd,Buffer.alloc(4096));if(++n===50){clearInterval(t)}},50)";
    const outcome = await new LocalRunner(200).run(
      { argv: [process.execPath, '-e', script], cwd: '/' },
      { ...quiet, idleTimeoutMs: 800, signal: new AbortController().signal },
    );
    expect(outcome.stalled).toBeUndefined();
    expect(outcome.exitCode).toBe(0);
  });

  it('leaves alone a command that keeps printing', async () => {
    const outcome = await new LocalRunner(200).run(
      { argv: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do echo $i; sleep 0.25; done'], cwd: '/' },
      { ...quiet, idleTimeoutMs: 800, signal: new AbortController().signal },
    );
    expect(outcome.stalled).toBeUndefined();
    expect(outcome.stdout.trim().split('\n')).toHaveLength(8);
  });

  it('on abort, leaves nothing that the command kept starting up to the last moment', async () => {
    const abort = new AbortController();
    const marker = `sleep 61.${process.pid}`;
    // A loop that starts a new session child every 10 ms, ignoring SIGTERM as a container's PID 1 does.
    const script = `trap '' TERM; while :; do setsid ${marker} & sleep 0.01; done`;
    const running = new LocalRunner(300).run(
      { argv: ['sh', '-c', script], cwd: '/' },
      { ...quiet, signal: abort.signal },
    );
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await running;
    await new Promise((r) => setTimeout(r, 200));
    const { execFileSync, spawnSync } = await import('node:child_process');
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.startsWith(marker));
    spawnSync('pkill', ['-f', marker.replace('.', '\\.')]); // whatever a failing run left
    expect(left).toEqual([]);
  });
});
