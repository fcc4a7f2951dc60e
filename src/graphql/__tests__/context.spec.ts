import type { AppServices } from '../../app.types';
import { ApiKeyRole } from '../../common/enums';
import { buildContext } from '../context';

/** Services with only what the context touches: a fork counter and a child-logger counter. */
function fakeServices() {
  const calls = { fork: 0, child: 0 };
  const services = {
    db: { orm: { em: { fork: () => ({ id: ++calls.fork }) } } },
    log: { child: (b: object) => (calls.child++, { bindings: b }) },
    config: { budget: { forecastMinElapsed: 0.1 } },
  } as unknown as AppServices;
  return { services, calls };
}

describe('the GraphQL context', () => {
  const auth = { keyId: 'k1', role: ApiKeyRole.ADMIN, service: null, userId: null, projectId: null } as never;

  it('forks no EntityManager and makes no logger until a resolver asks, also after Apollo copies it', () => {
    const { services, calls } = fakeServices();
    const ctx = buildContext(services, auth, 'req-1');
    // What Apollo does with a context for each operation (ApolloServer.cloneObject).
    const copy = Object.assign(Object.create(Object.getPrototypeOf(ctx) as object) as object, ctx) as typeof ctx;
    expect(calls).toEqual({ fork: 0, child: 0 });
    expect(copy.requestId).toBe('req-1');
    expect(copy.auth).toBe(auth);
  });

  it('makes each part once per operation, the loaders on the same EntityManager', () => {
    const { services, calls } = fakeServices();
    const ctx = buildContext(services, auth, 'req-2');
    expect(ctx.em).toBe(ctx.em);
    void ctx.loaders;
    void ctx.loaders;
    expect(calls.fork).toBe(1);
    expect(ctx.log).toBe(ctx.log);
    expect(calls.child).toBe(1);
    expect((ctx.log as unknown as { bindings: object }).bindings).toEqual({ requestId: 'req-2', keyId: 'k1' });
  });
});
