import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthInfo } from '../auth/auth.types';
import type { Logger } from '../common/logger';
import type { AppServices } from '../app.types';
import { createLoaders, type Loaders } from './loaders';

/** What every resolver gets. Services take `em` and plain arguments, never this object. */
export interface GraphQLContext {
  requestId: string;
  auth: AuthInfo;
  /** A fork of the ORM's EntityManager for this request only. */
  em: EntityManager;
  services: AppServices;
  loaders: Loaders;
  log: Logger;
}

/**
 * The context of one operation. The EntityManager fork, the DataLoaders and the child logger
 * are made when a resolver first asks for them: a fork costs more than a whole `{ __typename }`
 * (bench/README.md, "complete"), and `complete` and most queries need none of the three. The
 * getters live on the prototype: Apollo copies the context's own properties for each operation
 * (`Object.assign` onto `Object.create(prototype)`), which would call own getters at once.
 */
class OperationContext implements GraphQLContext {
  private forked: EntityManager | undefined;
  private made: Loaders | undefined;
  private logger: Logger | undefined;

  readonly services: AppServices;
  readonly auth: AuthInfo;
  readonly requestId: string;

  constructor(deps: { services: AppServices; auth: AuthInfo; requestId: string }) {
    this.services = deps.services;
    this.auth = deps.auth;
    this.requestId = deps.requestId;
  }

  get em(): EntityManager {
    return (this.forked ??= this.services.db.orm.em.fork() as EntityManager);
  }

  get loaders(): Loaders {
    return (this.made ??= createLoaders(this.services, this.em));
  }

  get log(): Logger {
    return (this.logger ??= this.services.log.child({ requestId: this.requestId, keyId: this.auth.keyId }));
  }
}

export function buildContext(services: AppServices, auth: AuthInfo, requestId: string): GraphQLContext {
  return new OperationContext({ services, auth, requestId });
}
