import { Migration } from '@mikro-orm/migrations';

export class Migration20261128191409 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "usage_daily_user" ("day" timestamptz not null, "user_id" text not null default '', "project_id" text not null default '', "service" text not null default '', "provider" text not null, "model" text not null, "request_count" bigint not null default 0, "success_count" bigint not null default 0, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cached_tokens" bigint not null default 0, "total_tokens" bigint not null default 0, "total_cost" numeric(30,12) not null default 0, "duration_ms_sum" bigint not null default 0, constraint "usage_daily_user_pkey" primary key ("day", "user_id", "project_id", "service", "provider", "model"));`);
    this.addSql(`create index "usage_daily_user_project_id_day_index" on "usage_daily_user" ("project_id", "day");`);
    this.addSql(`create index "usage_daily_user_user_id_day_index" on "usage_daily_user" ("user_id", "day");`);

    // Backfill from the per-user hourly rollup so user queries that switch to this table keep their history.
    // Instances still on the previous version do not write it: upgrade them all before serving traffic.
    this.addSql(`set local statement_timeout = 0;`);
    this.addSql(`insert into "usage_daily_user" ("day", "user_id", "project_id", "service", "provider", "model", "request_count", "success_count", "input_tokens", "output_tokens", "cached_tokens", "total_tokens", "total_cost", "duration_ms_sum") select date_trunc('day', "hour", 'UTC'), "user_id", "project_id", "service", "provider", "model", sum("request_count"), sum("success_count"), sum("input_tokens"), sum("output_tokens"), sum("cached_tokens"), sum("total_tokens"), sum("total_cost"), sum("duration_ms_sum") from "usage_hourly" group by 1, "user_id", "project_id", "service", "provider", "model";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "usage_daily_user" cascade;`);
  }

}
