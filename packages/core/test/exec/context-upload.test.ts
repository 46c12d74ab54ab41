import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextTar } from '../../src/exec/context-upload.js';
import { contextFilter, readIgnoreRules, walkContext } from '../../src/model/context-files.js';
import { uploadLayout } from '../../src/plan/upload.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A spec directory holding these files (path -> content). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orchestrate-ctx-'));
  made.push(dir);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

async function tarBytes(specDir: string, context: string, containerfile: string, into = 'img'): Promise<Buffer> {
  const { upload } = uploadLayout(context, containerfile, into);
  const chunks: Buffer[] = [];
  for await (const chunk of await contextTar(specDir, upload)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** The entry names, as a real tar lists them. */
async function entries(specDir: string, context: string, containerfile: string, into = 'img'): Promise<string[]> {
  const listed = spawnSync('tar', ['-t', '-f', '-'], {
    input: await tarBytes(specDir, context, containerfile, into),
    encoding: 'utf8',
  });
  expect(listed.status, listed.stderr).toBe(0);
  return listed.stdout.split('\n').filter(Boolean).sort();
}

/** Files only (directories end in "/"). */
const files = (names: readonly string[]): string[] => names.filter((n) => !n.endsWith('/'));

describe('uploadLayout', () => {
  it('a containerfile inside the context: the context alone goes, as the image directory', () => {
    expect(uploadLayout('app', 'app/Containerfile', 'img')).toEqual({
      upload: { base: 'app', paths: ['.'], context: 'app', containerfile: 'app/Containerfile', into: 'img' },
      remoteContext: 'img',
      remoteContainerfile: 'img/Containerfile',
    });
    expect(uploadLayout('services/api', 'services/api/docker/prod.Containerfile', 'api')).toMatchObject({
      upload: { base: 'services/api', paths: ['.'] },
      remoteContext: 'api',
      remoteContainerfile: 'api/docker/prod.Containerfile',
    });
  });

  it('a containerfile outside the context: both go, relative to their common directory', () => {
    expect(uploadLayout('app', 'docker/app.Containerfile', 'img')).toEqual({
      upload: {
        base: '.',
        paths: ['app', 'docker/app.Containerfile'],
        context: 'app',
        containerfile: 'docker/app.Containerfile',
        into: 'img',
      },
      remoteContext: 'img/app',
      remoteContainerfile: 'img/docker/app.Containerfile',
    });
    expect(uploadLayout('services/api', 'services/docker/api.Containerfile', 'img')).toMatchObject({
      upload: { base: 'services', paths: ['api', 'docker/api.Containerfile'] },
      remoteContext: 'img/api',
      remoteContainerfile: 'img/docker/api.Containerfile',
    });
    // A sibling whose name starts like the context's is not inside it.
    expect(uploadLayout('app', 'app2/Containerfile', 'img')).toMatchObject({
      upload: { base: '.', paths: ['app', 'app2/Containerfile'] },
      remoteContainerfile: 'img/app2/Containerfile',
    });
  });

  it('the spec directory as context', () => {
    expect(uploadLayout('.', 'Containerfile', 'img')).toEqual({
      upload: { base: '.', paths: ['.'], context: '.', containerfile: 'Containerfile', into: 'img' },
      remoteContext: 'img',
      remoteContainerfile: 'img/Containerfile',
    });
  });

  it('contexts above the spec directory: nothing climbs out of the image directory', () => {
    const up = uploadLayout('../app', '../docker/Containerfile', 'img');
    expect(up).toMatchObject({
      upload: { base: '..', paths: ['app', 'docker/Containerfile'] },
      remoteContext: 'img/app',
      remoteContainerfile: 'img/docker/Containerfile',
    });
  });

  // A containerfile above its context's tree (more ".." than the context) cannot be given a
  // path under the image's directory without the spec directory's own name: the upload refuses
  // it with a message instead of writing outside `into`.
  it('refuses to send a containerfile that climbs higher than its context, and says what to do', async () => {
    for (const [context, containerfile] of [
      ['app', '../shared/Containerfile'],
      ['.', '../Containerfile'],
      ['..', '../../docker/Containerfile'],
    ] as const) {
      const { upload } = uploadLayout(context, containerfile, 'img');
      await expect(contextTar('/nonexistent', upload), `${context} ${containerfile}`).rejects.toThrow(
        /outside its context .* move it into the context/,
      );
    }
  });
});

describe('contextTar', () => {
  const CONTEXT = {
    'app/a.txt': 'a',
    'app/node_modules/x.js': 'module.exports = 1',
    'app/.env': 'SECRET=1',
    'app/keep/.env.example': 'SECRET=',
    'app/sub/dir/file': 'kept by the exception',
    'app/sub/other.txt': 'ignored by sub/**',
    'app/x.log': 'log',
    'app/deep/er/y.log': 'log',
    'app/deep/er/y.txt': 'text',
    'app/Containerfile': 'FROM scratch\n',
    'app/.dockerignore': '# comment\nnode_modules\n.env\n**/*.log\nsub/**\n!sub/dir/file\n',
    'outside.txt': 'not part of the context',
  };

  it('sends what the .dockerignore lets through, under the image directory, and nothing else', async () => {
    const names = await entries(tree(CONTEXT), 'app', 'app/Containerfile');
    expect(files(names)).toEqual(
      [
        'img/.dockerignore',
        'img/Containerfile',
        'img/a.txt',
        'img/deep/er/y.txt',
        'img/keep/.env.example',
        'img/sub/dir/file',
      ].sort(),
    );
    // With a "!" exception, directories are walked (and may go empty); none of their ignored files do.
    expect(names).toContain('img/');
    expect(names).toContain('img/sub/dir/');
    expect(names.every((n) => n === 'img/' || n.startsWith('img/'))).toBe(true);
    expect(names.some((n) => n.includes('..'))).toBe(false);
  });

  it('the bytes extract to the same files, with their content', async () => {
    const specDir = tree(CONTEXT);
    const out = tree({});
    const extracted = spawnSync('tar', ['-x', '-f', '-', '-C', out], {
      input: await tarBytes(specDir, 'app', 'app/Containerfile'),
    });
    expect(extracted.status, extracted.stderr.toString()).toBe(0);
    expect(readFileSync(path.join(out, 'img/sub/dir/file'), 'utf8')).toBe('kept by the exception');
    expect(readFileSync(path.join(out, 'img/Containerfile'), 'utf8')).toBe('FROM scratch\n');
    expect(existsSync(path.join(out, 'img/.env'))).toBe(false);
    expect(existsSync(path.join(out, 'img/node_modules/x.js'))).toBe(false);
    expect(existsSync(path.join(out, 'outside.txt'))).toBe(false);
  });

  it('without exceptions, an ignored directory does not go at all', async () => {
    const names = await entries(
      tree({ ...CONTEXT, 'app/.dockerignore': 'node_modules\n.env\n**/*.log\nsub\n' }),
      'app',
      'app/Containerfile',
    );
    expect(names.filter((n) => n.startsWith('img/node_modules') || n.startsWith('img/sub'))).toEqual([]);
    expect(files(names)).toEqual(
      ['img/.dockerignore', 'img/Containerfile', 'img/a.txt', 'img/deep/er/y.txt', 'img/keep/.env.example'].sort(),
    );
  });

  it('always sends the containerfile and the ignore file, even when the rules name them', async () => {
    const names = await entries(
      tree({ ...CONTEXT, 'app/.dockerignore': 'Containerfile\n.dockerignore\n*.txt\n' }),
      'app',
      'app/Containerfile',
    );
    expect(names).toContain('img/Containerfile');
    expect(names).toContain('img/.dockerignore');
    expect(names).not.toContain('img/a.txt');
    // Rules are relative to the context: "*.txt" is the context's top level only.
    expect(names).toContain('img/deep/er/y.txt');
  });

  it('.containerignore wins over .dockerignore', async () => {
    const specDir = tree({ ...CONTEXT, 'app/.containerignore': 'a.txt\n' });
    expect(readIgnoreRules(path.join(specDir, 'app'))).toEqual({ file: '.containerignore', patterns: ['a.txt'] });
    const names = await entries(specDir, 'app', 'app/Containerfile');
    expect(names).not.toContain('img/a.txt');
    // The .dockerignore's rules do not apply at all.
    expect(names).toContain('img/node_modules/x.js');
    expect(names).toContain('img/.env');
    expect(names).toContain('img/x.log');
    // Both files go: podman on the host decides again which one it reads, and must find the same.
    expect(names).toContain('img/.containerignore');
    expect(names).toContain('img/.dockerignore');
  });

  it('no ignore file: everything in the context goes', async () => {
    const specDir = tree({ 'app/a.txt': 'a', 'app/.env': 'x', 'app/Containerfile': 'FROM scratch\n' });
    expect(readIgnoreRules(path.join(specDir, 'app'))).toEqual({ patterns: [] });
    expect(files(await entries(specDir, 'app', 'app/Containerfile'))).toEqual([
      'img/.env',
      'img/Containerfile',
      'img/a.txt',
    ]);
  });

  it("a containerfile outside the context goes beside it, with the context's rules applied to the context only", async () => {
    const specDir = tree({
      ...CONTEXT,
      'docker/app.Containerfile': 'FROM scratch\n',
      'docker/other.Containerfile': 'not sent',
    });
    rmSync(path.join(specDir, 'app/Containerfile'));
    const names = await entries(specDir, 'app', 'docker/app.Containerfile');
    expect(files(names)).toEqual(
      [
        'img/app/.dockerignore',
        'img/app/a.txt',
        'img/app/deep/er/y.txt',
        'img/app/keep/.env.example',
        'img/app/sub/dir/file',
        'img/docker/app.Containerfile',
      ].sort(),
    );
    const { remoteContext, remoteContainerfile } = uploadLayout('app', 'docker/app.Containerfile', 'img');
    expect(names).toContain(remoteContainerfile);
    expect(names.filter((n) => n.startsWith(`${remoteContext}/`)).length).toBeGreaterThan(0);
  });

  it('the spec directory as context: its ignore file applies from there', async () => {
    const specDir = tree({
      Containerfile: 'FROM scratch\n',
      '.dockerignore': 'secrets\n',
      'secrets/key': 'k',
      'src/main.c': 'int main;',
    });
    expect(files(await entries(specDir, '.', 'Containerfile'))).toEqual([
      'img/.dockerignore',
      'img/Containerfile',
      'img/src/main.c',
    ]);
  });

  // Was a bug, found in review and fixed (src/exec/context-upload.ts:34-40, contextFilter): a containerfile in a subdirectory the
  // rules ignore (with no "!" exception) is dropped with its directory: the filter is never asked
  // about the file, because tar does not walk into a directory the filter refused. podman on the
  // host then finds no containerfile at remoteContainerfile.
  it('always sends a containerfile that sits in an ignored directory of the context', async () => {
    const specDir = tree({
      'app/a.txt': 'a',
      'app/ci/Containerfile': 'FROM scratch\n',
      'app/ci/notes.md': 'x',
      'app/.dockerignore': 'ci\n',
    });
    const { remoteContainerfile } = uploadLayout('app', 'app/ci/Containerfile', 'img');
    expect(remoteContainerfile).toBe('img/ci/Containerfile');
    const names = await entries(specDir, 'app', 'app/ci/Containerfile');
    expect(names).toContain('img/ci/Containerfile');
    expect(names).not.toContain('img/ci/notes.md');
  });

  // Was a bug, found in review and fixed (src/exec/context-upload.ts:36, contextFilter): a file of the context whose name starts
  // with ".." (say "..env") is taken for a path outside the context (`inContext.startsWith('..')`)
  // and is sent whatever the ignore rules say.
  it('applies the rules to a file whose name starts with ".."', async () => {
    const specDir = tree({
      'app/a.txt': 'a',
      'app/..env': 'SECRET=1',
      'app/Containerfile': 'FROM scratch\n',
      'app/.dockerignore': '..env\n',
    });
    expect(await entries(specDir, 'app', 'app/Containerfile')).not.toContain('img/..env');
  });
});

/** The promise's value, or a failure saying it hung (an upload that blocks on a FIFO never settles). */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`still running after ${ms} ms: the upload hangs`)), ms).unref(),
    ),
  ]);
}

function mkfifo(file: string): void {
  const made = spawnSync('mkfifo', [file], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
}

/** `tar -tv` lines by entry name: the first character is the type ("-" file, "l" link, "p" FIFO). */
async function verbose(specDir: string, context: string, containerfile: string): Promise<Map<string, string>> {
  const listed = spawnSync('tar', ['-tv', '-f', '-'], {
    input: await tarBytes(specDir, context, containerfile),
    encoding: 'utf8',
  });
  expect(listed.status, listed.stderr).toBe(0);
  return new Map(
    listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => [line.split(/\s+/)[5]!, line]),
  );
}

describe('what is not a regular file, directory or symlink', () => {
  // node-tar blocked on a FIFO depending on where it came in the walk (the last entry of a directory, say): one at the top and one below.
  it('a FIFO is never sent: the walk lists it, and the tar finishes without it', async () => {
    const specDir = tree({ 'app/Containerfile': 'FROM scratch\n', 'app/a.txt': 'a', 'app/run/.keep': '' });
    mkfifo(path.join(specDir, 'app/run/events.pipe'));
    mkfifo(path.join(specDir, 'app/pipe'));
    expect(walkContext(path.join(specDir, 'app'), 'Containerfile').special).toEqual([
      { path: 'pipe', kind: 'FIFO' },
      { path: 'run/events.pipe', kind: 'FIFO' },
    ]);
    const names = await within(5000, entries(specDir, 'app', 'app/Containerfile'));
    expect(names.filter((n) => n.includes('pipe'))).toEqual([]);
    expect(files(names)).toEqual(['img/Containerfile', 'img/a.txt', 'img/run/.keep']);
  });

  it('a FIFO the ignore file leaves out is not even listed', () => {
    const specDir = tree({
      'app/Containerfile': 'FROM scratch\n',
      'app/.containerignore': 'run\n',
      'app/run/.keep': '',
    });
    mkfifo(path.join(specDir, 'app/run/events.pipe'));
    // (The ignore file goes by its content, not as an entry of the walk.)
    expect(walkContext(path.join(specDir, 'app'), 'Containerfile')).toEqual({ entries: [], special: [] });
  });

  it('a socket is left out too, and listed as one', async () => {
    const specDir = tree({ 'app/Containerfile': 'FROM scratch\n' });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path.join(specDir, 'app/dev.sock'), resolve));
    try {
      expect(walkContext(path.join(specDir, 'app'), 'Containerfile').special).toEqual([
        { path: 'dev.sock', kind: 'socket' },
      ]);
      expect(files(await within(5000, entries(specDir, 'app', 'app/Containerfile')))).toEqual(['img/Containerfile']);
    } finally {
      server.close();
    }
  });

  it('a containerfile that is a FIFO is refused with a message, never read', async () => {
    const specDir = tree({ 'app/a.txt': 'a' });
    mkfifo(path.join(specDir, 'app/Containerfile'));
    await expect(within(5000, tarBytes(specDir, 'app', 'app/Containerfile'))).rejects.toThrow(
      /app\/Containerfile is not a regular file/,
    );
  });
});

describe('symlinks', () => {
  it("a containerfile that links outside the context arrives as a regular file with the target's content", async () => {
    const specDir = tree({ 'shared/Containerfile': 'FROM scratch\nCOPY a.txt /\n', 'app/a.txt': 'a' });
    symlinkSync('../shared/Containerfile', path.join(specDir, 'app/Containerfile'));
    const listed = await verbose(specDir, 'app', 'app/Containerfile');
    expect(listed.get('img/Containerfile')).toMatch(/^-/);
    const out = tree({});
    const extracted = spawnSync('tar', ['-x', '-f', '-', '-C', out], {
      input: await tarBytes(specDir, 'app', 'app/Containerfile'),
    });
    expect(extracted.status, extracted.stderr.toString()).toBe(0);
    expect(readFileSync(path.join(out, 'img/Containerfile'), 'utf8')).toBe('FROM scratch\nCOPY a.txt /\n');
  });

  it('so does one beside the context, and an ignore file that is a link', async () => {
    const specDir = tree({
      'shared/base.Containerfile': 'FROM scratch\n',
      'shared/ignore': 'secret\n',
      'app/a.txt': 'a',
      'app/secret': 's',
    });
    mkdirSync(path.join(specDir, 'docker'));
    symlinkSync('../shared/base.Containerfile', path.join(specDir, 'docker/app.Containerfile'));
    symlinkSync('../shared/ignore', path.join(specDir, 'app/.dockerignore'));
    const listed = await verbose(specDir, 'app', 'docker/app.Containerfile');
    expect(listed.get('img/docker/app.Containerfile')).toMatch(/^-/);
    expect(listed.get('img/app/.dockerignore')).toMatch(/^-/);
    // The linked ignore file's rules apply, as podman here reads them through the link.
    expect(listed.has('img/app/secret')).toBe(false);
  });

  // As Docker sends it: the link goes as it is, and one that points outside the context dangles on the host.
  it('a symlink in the context goes as a link, wherever it points', async () => {
    const specDir = tree({ 'app/Containerfile': 'FROM scratch\n', 'outside.txt': 'o' });
    symlinkSync('../outside.txt', path.join(specDir, 'app/link'));
    expect((await verbose(specDir, 'app', 'app/Containerfile')).get('img/link')).toMatch(/^l.* -> \.\.\/outside\.txt$/);
  });
});

describe('contextFilter', () => {
  it('judges paths relative to the context', () => {
    const keep = contextFilter(['*.log', 'build'], '../docker/app.Containerfile');
    expect(keep('x.log', false)).toBe(false);
    expect(keep('deep/x.log', false)).toBe(true);
    expect(keep('build', true)).toBe(false);
    expect(keep('src', true)).toBe(true);
    expect(keep('.dockerignore', false)).toBe(true);
  });

  it('walks directories only when an exception may bring a file back', () => {
    expect(contextFilter(['build'], 'Containerfile')('build', true)).toBe(false);
    const withException = contextFilter(['build', '!build/keep.txt'], 'Containerfile');
    expect(withException('build', true)).toBe(true);
    expect(withException('build/other.txt', false)).toBe(false);
    expect(withException('build/keep.txt', false)).toBe(true);
  });
});
