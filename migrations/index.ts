import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261128162159 } from './Migration20261128162159';
import { Migration20261128175716 } from './Migration20261128175716';
import { Migration20261128191409 } from './Migration20261128191409';
import { Migration20261201193359 } from './Migration20261201193359';
import { Migration20261201193447 } from './Migration20261201193447';
import { Migration20261201223012 } from './Migration20261201223012';
import { Migration20261201223130 } from './Migration20261201223130';

/** Every migration, in order. Listed explicitly so tsc, swc and jest load the same set. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261128162159', class: Migration20261128162159 },
  { name: 'Migration20261128175716', class: Migration20261128175716 },
  { name: 'Migration20261128191409', class: Migration20261128191409 },
  { name: 'Migration20261201193359', class: Migration20261201193359 },
  { name: 'Migration20261201193447', class: Migration20261201193447 },
  { name: 'Migration20261201223012', class: Migration20261201223012 },
  { name: 'Migration20261201223130', class: Migration20261201223130 },
];
