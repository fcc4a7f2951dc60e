import { openDatabase, migrate, type Database } from '../../db/orm';
import { AppError } from '../../common/errors';
import { parseUnits } from '../../common/money';
import { PriceCatalog } from '../price-catalog';

let db: Database;

beforeAll(async () => {
  db = await openDatabase({ kind: 'pglite', dataDir: null });
  await migrate(db.orm);
}, 60_000);
afterAll(() => db?.close());
beforeEach(async () => {
  await db.orm.em.fork().execute('delete from model_price');
});

const at = (iso: string) => new Date(iso);

describe('PriceCatalog', () => {
  it('resolves seed prices, aliases included, and catalog prices beyond the seed', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    expect(await catalog.resolve('openai', 'gpt-4o')).toMatchObject({
      source: 'seed',
      model: 'gpt-4o',
      inputPerMillion: parseUnits('2.5'),
    });
    expect(await catalog.resolve('anthropic', 'claude-3-5-sonnet-latest')).toMatchObject({ source: 'seed', model: 'claude-3-5-sonnet' });
    expect(await catalog.resolve('anthropic', 'claude-3-5-sonnet-20241022')).toMatchObject({ source: 'seed', model: 'claude-3-5-sonnet' });
    expect(await catalog.resolve('openai', 'gpt-4.1-mini', at('2025-06-01T12:00:00Z'))).toMatchObject({
      source: 'catalog',
      model: 'gpt-4.1-mini',
    });
  });

  it('prices every Ollama model at zero', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    expect(await catalog.resolve('ollama', 'llama3.1:8b')).toMatchObject({ source: 'free', inputPerMillion: 0n, outputPerMillion: 0n });
  });

  it('refuses an unknown model with MODEL_PRICE_UNKNOWN, or prices it at zero when allowed', async () => {
    const strict = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    await expect(strict.resolve('openai', 'gpt-9-ultra')).rejects.toMatchObject({
      code: 'MODEL_PRICE_UNKNOWN',
      extensions: { provider: 'openai', model: 'gpt-9-ultra' },
    });
    await expect(strict.resolve('nobody', 'x')).rejects.toBeInstanceOf(AppError);
    const lax = new PriceCatalog(db.orm, { allowUnpricedModels: true });
    expect(await lax.resolve('openai', 'gpt-9-ultra')).toMatchObject({ source: 'unpriced', inputPerMillion: 0n, outputPerMillion: 0n });
  });

  it('applies an override to new resolutions only and keeps the history', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    const before = await catalog.resolve('openai', 'gpt-4o');
    const t1 = at('2030-01-01T00:00:00Z');
    await catalog.setOverride(
      { provider: 'openai', model: 'gpt-4o', inputPerMillion: '2', outputPerMillion: '8', cachedInputPerMillion: '0.5' },
      t1,
    );
    const t2 = at('2030-02-01T00:00:00Z');
    await catalog.setOverride({ provider: 'openai', model: 'gpt-4o', inputPerMillion: '1.234567', outputPerMillion: '4' }, t2);

    expect(before).toMatchObject({ source: 'seed', inputPerMillion: parseUnits('2.5') }); // what was resolved stays resolved
    expect(await catalog.resolve('openai', 'gpt-4o', at('2029-12-31T23:59:59Z'))).toMatchObject({ source: 'seed' });
    expect(await catalog.resolve('openai', 'gpt-4o', at('2030-01-15T00:00:00Z'))).toMatchObject({
      source: 'override',
      inputPerMillion: parseUnits('2'),
      outputPerMillion: parseUnits('8'),
      cachedInputPerMillion: parseUnits('0.5'),
      cacheWritePerMillion: null,
    });
    expect(await catalog.resolve('openai', 'gpt-4o-2024-08-06', at('2030-03-01T00:00:00Z'))).toMatchObject({
      source: 'override',
      inputPerMillion: parseUnits('1.234567'),
    });

    const rows = await db.orm.em
      .fork()
      .execute<{ input: string }[]>(
        `select input_per_million::text as input from model_price where model = 'gpt-4o' order by effective_from`,
      );
    expect(rows.map((r: { input: string }) => parseUnits(r.input))).toEqual([parseUnits('2'), parseUnits('1.234567')]);
  });

  it('takes effect at once for the instance that set it, and within refreshMs for others', async () => {
    let clock = 1_000_000;
    const a = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    const b = new PriceCatalog(db.orm, { allowUnpricedModels: false, refreshMs: 5_000, now: () => clock });
    expect((await b.resolve('deepseek', 'deepseek-chat')).source).toBe('seed');
    await a.setOverride({ provider: 'deepseek', model: 'deepseek-chat', inputPerMillion: '0.27', outputPerMillion: '1.1' });
    expect(await a.resolve('deepseek', 'deepseek-chat')).toMatchObject({ source: 'override', inputPerMillion: parseUnits('0.27') });
    clock += 4_000;
    expect((await b.resolve('deepseek', 'deepseek-chat')).source).toBe('seed'); // cached
    clock += 2_000;
    expect((await b.resolve('deepseek', 'deepseek-chat')).source).toBe('override');
  });

  it('reads the table once per refresh interval, not per resolution', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    const conn = db.orm.em.getConnection();
    const spy = jest.spyOn(Object.getPrototypeOf(conn) as { execute: () => unknown }, 'execute');
    try {
      await Promise.all(Array.from({ length: 50 }, () => catalog.resolve('openai', 'gpt-4o-mini')));
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('lists seed models and the overrides in force, an override replacing its seed model', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    await catalog.setOverride({ provider: 'anthropic', model: 'claude-3-haiku', inputPerMillion: '0.3', outputPerMillion: '1.5' });
    await catalog.setOverride({ provider: 'ollama', model: 'llama3.1', inputPerMillion: '0.01', outputPerMillion: '0.02' });
    await catalog.setOverride(
      { provider: 'openai', model: 'gpt-5', inputPerMillion: '1', outputPerMillion: '2' },
      at('2999-01-01T00:00:00Z'),
    );
    const list = await catalog.listInForce();
    expect(list.map((p) => `${p.provider}/${p.model}:${p.source}`)).toEqual([
      'anthropic/claude-3-5-sonnet:seed',
      'anthropic/claude-3-haiku:override',
      'anthropic/claude-3-opus:seed',
      'deepseek/deepseek-chat:seed',
      'deepseek/deepseek-coder:seed',
      'ollama/llama3.1:override',
      'openai/gpt-4-turbo:seed',
      'openai/gpt-4o:seed',
      'openai/gpt-4o-mini:seed',
    ]);
  });

  it.each([
    ['inputPerMillion', { inputPerMillion: '-1' }],
    ['inputPerMillion', { inputPerMillion: 'NaN' }],
    ['outputPerMillion', { outputPerMillion: 'Infinity' }],
    ['outputPerMillion', { outputPerMillion: '0.0000001' }],
    ['cachedInputPerMillion', { cachedInputPerMillion: '1e-3' }],
    ['cacheWritePerMillion', { cacheWritePerMillion: 'abc' }],
    ['provider', { provider: 'mistral' }],
    ['model', { model: ' ' }],
  ])('refuses a bad %s with BAD_USER_INPUT naming the field', async (field, bad) => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    const input = { provider: 'openai', model: 'gpt-4o', inputPerMillion: '1', outputPerMillion: '2', ...bad };
    await expect(catalog.setOverride(input)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field } });
  });

  it('accepts 6 decimals and trailing zeros beyond them', async () => {
    const catalog = new PriceCatalog(db.orm, { allowUnpricedModels: false });
    const p = await catalog.setOverride({
      provider: 'openai',
      model: 'gpt-4o',
      inputPerMillion: '0.000001',
      outputPerMillion: '3.10000000',
    });
    expect(p).toMatchObject({ inputPerMillion: 1_000_000n, outputPerMillion: parseUnits('3.1') });
  });
});
