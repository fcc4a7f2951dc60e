import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';
import { loadConfig } from '../config';

const root = resolve(__dirname, '../../..');
/** Every variable name loadConfig reads, taken from its source (r.str('NAME'…), r.int('NAME'…), …). */
const readByConfig = () =>
  [...readFileSync(resolve(root, 'src/config/config.ts'), 'utf8').matchAll(/\br\.\w+\('([A-Z0-9_]+)'/g)].map((m) => m[1]);

describe('.env.example', () => {
  const example = parse(readFileSync(resolve(root, '.env.example')));

  it('lists every variable the configuration reads, and no other', () => {
    expect(Object.keys(example).sort()).toEqual([...new Set(readByConfig())].sort());
  });

  it('loads as exactly the default configuration', () => {
    expect(loadConfig(example)).toEqual(loadConfig({}));
  });
});

describe('loadConfig', () => {
  it.each([
    ['PORT', '70000'],
    ['BUDGET_ENABLED', 'maybe'],
    ['DATABASE_URL', 'mysql://x'],
    ['BUDGET_SPIKE_MULTIPLIER', '0.5'],
    ['LOG_LEVEL', 'loud'],
    ['OPENAI_BASE_URL', 'not a url'],
  ])('stops on %s=%s with one line naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}=`));
  });
});
