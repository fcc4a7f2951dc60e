import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthInfo } from '../auth/auth.types';
import type { Logger } from '../common/logger';
import type { AppServices } from '../app.services';
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
 * (bench/README.md, "complete"), and `complete` and most queries need none of the three.
 */
export function buildContext(services: AppServices, auth: AuthInfo, requestId: string): GraphQLContext {
  let em: EntityManager | undefined;
  let loaders: Loaders | undefined;
  let log: Logger | undefined;
  const fork = () => (em ??= services.db.orm.em.fork() as EntityManager);
  return {
    requestId,
    auth,
    services,
    get em() {
      return fork();
    },
    get loaders() {
      return (loaders ??= createLoaders(services, fork()));
    },
    get log() {
      return (log ??= services.log.child({ requestId, keyId: auth.keyId }));
    },
  };
}
