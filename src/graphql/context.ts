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

export function buildContext(services: AppServices, auth: AuthInfo, requestId: string): GraphQLContext {
  const em = services.db.orm.em.fork() as EntityManager;
  return {
    requestId,
    auth,
    em,
    services,
    loaders: createLoaders(services, em),
    log: services.log.child({ requestId, keyId: auth.keyId }),
  };
}
