import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';
import { CONFIG_VARIABLES, loadConfig } from '../config';

const text = readFileSync(resolve(__dirname, '../../../.env.example'), 'utf8');
const example = parse(text);

describe('.env.example against the configuration schema', () => {
  it('lists every variable of the schema once, and no other', () => {
    const assigned = text.split('\n').flatMap((line) => /^([A-Z0-9_]+)=/.exec(line)?.[1] ?? []);
    expect(assigned.length).toBe(new Set(assigned).size);
    expect(assigned.sort()).toEqual(CONFIG_VARIABLES.map((v) => v.name).sort());
  });

  it.each(CONFIG_VARIABLES.map((v) => [v.name, v] as const))('%s is written with its default (empty when it has none)', (name, v) => {
    if (v.fallback === undefined) expect(example[name]).toBe('');
    else {
      expect(example[name]).not.toBe('');
      expect(v.read({ [name]: example[name] })).toEqual(v.fallback);
    }
  });

  it('loads as exactly the default configuration', () => {
    expect(loadConfig(example)).toEqual(loadConfig({}));
  });
});
