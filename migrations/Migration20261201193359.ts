import { Migration } from '@mikro-orm/migrations';

export class Migration20261201193359 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "completion_hold" ("request_id" text not null, "draft" jsonb not null, "expires_at" timestamptz not null, "created_at" timestamptz not null default now(), constraint "completion_hold_pkey" primary key ("request_id"));`);
    this.addSql(`create index "completion_hold_expires_at_index" on "completion_hold" ("expires_at");`);

    this.addSql(`alter table "token_usage" add column "estimated" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "completion_hold" cascade;`);

    this.addSql(`alter table "token_usage" drop column "estimated";`);
  }

}
