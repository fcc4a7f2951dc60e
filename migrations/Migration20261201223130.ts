import { Migration } from '@mikro-orm/migrations';

export class Migration20261201223130 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "budget_lease" ("instance_id" text not null, "budget_id" uuid not null, "period_start" timestamptz not null, "granted" numeric(30,12) not null default 0, "used" numeric(30,12) not null default 0, "held" numeric(30,12) not null default 0, "expires_at" timestamptz not null, "updated_at" timestamptz not null default now(), constraint "budget_lease_pkey" primary key ("instance_id", "budget_id", "period_start"), constraint budget_lease_non_negative check (granted >= 0 and used >= 0 and held >= 0));`);
    this.addSql(`create index "budget_lease_expires_at_index" on "budget_lease" ("expires_at");`);
    this.addSql(`create index "budget_lease_budget_id_period_start_index" on "budget_lease" ("budget_id", "period_start");`);

    this.addSql(`alter table "budget_lease" add constraint "budget_lease_budget_id_foreign" foreign key ("budget_id") references "budget" ("id") on update cascade;`);

    this.addSql(`alter table "budget_reservation" add column "lease_instance" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "budget_lease" cascade;`);

    this.addSql(`alter table "budget_reservation" drop column "lease_instance";`);
  }

}
