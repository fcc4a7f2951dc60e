import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { simulatorEnv, startSimulator } from './providers';
import { startTestServer, type TestServer } from './server';

/** The live references of {@link useSimulatedServer}: set once its `beforeAll` has run. */
export interface SimulatedServer {
  sim: ProviderSimulator;
  s: TestServer;
}

/**
 * A provider simulator and a test server pointed at it, for a whole spec file: both started in
 * `beforeAll` (`env` is added to the simulator's environment), closed in `afterAll` (the
 * simulator first: it ends a provider call left hanging, which the server's drain would otherwise
 * wait for), and the simulator's controls reset before each test.
 */
export function useSimulatedServer(env: Record<string, string> = {}, opts: Parameters<typeof startTestServer>[1] = {}): SimulatedServer {
  const fx = {} as SimulatedServer;
  beforeAll(async () => {
    fx.sim = await startSimulator();
    fx.s = await startTestServer({ ...simulatorEnv(fx.sim), ...env }, opts);
  });
  afterAll(async () => {
    await fx.sim?.close();
    await fx.s?.close();
  });
  beforeEach(() => fx.sim.control.reset());
  return fx;
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
  return new Proxy({} as TestServer, {
    get: (_target, key) => {
      if (!server) throw new Error('useTestServer: the server is started in beforeAll, use it from the tests');
      return Reflect.get(server, key) as unknown;
    },
  });
}
