import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { simulatorEnv, startSimulator } from './providers';
import { startTestServer, type TestServer } from './server';

/** The live references of {@link useSimulatedServer}: usable from the tests on (its `beforeAll` starts them). */
export interface SimulatedServer {
  sim: ProviderSimulator;
  s: TestServer;
}

/**
 * A handle that forwards to what `current()` returns, for a fixture a `beforeAll` creates: the
 * handle exists when the spec file is read, so the spec can name it at the top level; using it
 * before the `beforeAll` has run throws, naming `fixture`.
 */
export function lateBound<T extends object>(current: () => T | undefined, fixture: string): T {
  return new Proxy({} as T, {
    get: (_target, key) => {
      const value = current();
      if (!value) throw new Error(`${fixture}: started in beforeAll, use it from the tests`);
      return Reflect.get(value, key) as unknown;
    },
  });
}

/**
 * A provider simulator for a whole spec file that starts its servers itself: started in
 * `beforeAll`, closed in `afterAll`, its controls reset before each test. The handle is usable as
 * the simulator from the tests on.
 */
export function useSimulator(): ProviderSimulator {
  let sim: ProviderSimulator | undefined;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim?.close();
  });
  beforeEach(() => sim!.control.reset());
  return lateBound(() => sim, 'useSimulator');
}

/**
 * A provider simulator and a test server pointed at it, for a whole spec file: both started in
 * `beforeAll` (`env` is added to the simulator's environment), closed in `afterAll` (the
 * simulator first: it ends a provider call left hanging, which the server's drain would otherwise
 * wait for), and the simulator's controls reset before each test. The handles are usable as the
 * simulator and the server from the tests on.
 */
export function useSimulatedServer(env: Record<string, string> = {}, opts: Parameters<typeof startTestServer>[1] = {}): SimulatedServer {
  let sim: ProviderSimulator | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    sim = await startSimulator();
    server = await startTestServer({ ...simulatorEnv(sim), ...env }, opts);
  });
  afterAll(async () => {
    await sim?.close();
    await server?.close();
  });
  beforeEach(() => sim!.control.reset());
  return { sim: lateBound(() => sim, 'useSimulatedServer'), s: lateBound(() => server, 'useSimulatedServer') };
}

/**
 * A test server for a whole spec file (no simulator): started in `beforeAll`, closed in
 * `afterAll`. The handle is usable as the server from the tests on (it forwards to the server
 * once started).
 */
export function useTestServer(env: Record<string, string> = {}, opts: Parameters<typeof startTestServer>[1] = {}): TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(env, opts);
  });
  afterAll(async () => {
    await server?.close();
  });
  return lateBound(() => server, 'useTestServer');
}
