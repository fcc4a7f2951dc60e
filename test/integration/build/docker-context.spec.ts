/**
 * The Docker build compiles tsconfig.build.json inside the build context that .dockerignore lets
 * through. A source the build imports but the context leaves out fails `docker build` (bench/
 * importing test/utils once did), and no engine runs on the CI machine to catch it: so every
 * file of the build's program must be in the context.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '../../..');

/** .dockerignore's rules in order: Docker's path patterns (`*` within a segment, `**` across), `!` re-includes; the last match wins. */
function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/');
      return { negate, re: new RegExp(`^${source}(/.*)?$`) };
    });
  return (path) => rules.reduce((ignored, r) => (r.re.test(path) ? !r.negate : ignored), false);
}

function buildProgramFiles(): string[] {
  const configPath = join(ROOT, 'tsconfig.build.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  return program
    .getSourceFiles()
    .map((f) => relative(ROOT, f.fileName).split(sep).join('/'))
    .filter((f) => !f.startsWith('..') && !f.includes('node_modules/'));
}

describe('the Docker build context', () => {
  const ignored = dockerIgnore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

  it('reads .dockerignore as Docker does (a sanity check of the matcher)', () => {
    expect(ignored('node_modules/x/index.js')).toBe(true);
    expect(ignored('test/integration/budgets.spec.ts')).toBe(true);
    expect(ignored('test/fixtures/provider-simulator.ts')).toBe(false);
    expect(ignored('.env')).toBe(true);
    expect(ignored('.env.example')).toBe(false);
    expect(ignored('src/main.ts')).toBe(false);
  });

  it('holds every file the build compiles', () => {
    const files = buildProgramFiles();
    expect(files).toContain('src/main.ts');
    expect(files.filter(ignored)).toEqual([]);
  }, 120_000);
});
