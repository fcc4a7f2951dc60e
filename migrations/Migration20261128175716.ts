import { Migration } from '@mikro-orm/migrations';

export class Migration20261128175716 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "usage_daily_scope" ("day" timestamptz not null, "project_id" text not null default '', "service" text not null default '', "provider" text not null, "model" text not null, "request_count" bigint not null default 0, "success_count" bigint not null default 0, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cached_tokens" bigint not null default 0, "total_tokens" bigint not null default 0, "total_cost" numeric(30,12) not null default 0, "duration_ms_sum" bigint not null default 0, constraint "usage_daily_scope_pkey" primary key ("day", "project_id", "service", "provider", "model"));`);
    this.addSql(`create index "usage_daily_scope_service_day_index" on "usage_daily_scope" ("service", "day");`);
    this.addSql(`create index "usage_daily_scope_project_id_day_index" on "usage_daily_scope" ("project_id", "day");`);

    this.addSql(`create table "usage_hourly_scope" ("hour" timestamptz not null, "project_id" text not null default '', "service" text not null default '', "provider" text not null, "model" text not null, "request_count" bigint not null default 0, "success_count" bigint not null default 0, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cached_tokens" bigint not null default 0, "total_tokens" bigint not null default 0, "total_cost" numeric(30,12) not null default 0, "duration_ms_sum" bigint not null default 0, constraint "usage_hourly_scope_pkey" primary key ("hour", "project_id", "service", "provider", "model"));`);
    this.addSql(`create index "usage_hourly_scope_service_hour_index" on "usage_hourly_scope" ("service", "hour");`);
    this.addSql(`create index "usage_hourly_scope_project_id_hour_index" on "usage_hourly_scope" ("project_id", "hour");`);

    // Backfill from the per-user rollup so queries that switch to these tables keep their history.
    // Instances still on the previous version do not write them: upgrade them all before serving traffic.
    // The backfill reads all of usage_hourly (minutes at tens of millions of rows): lift the app's statement timeout for this transaction.
    this.addSql(`set local statement_timeout = 0;`);
    this.addSql(`insert into "usage_hourly_scope" ("hour", "project_id", "service", "provider", "model", "request_count", "success_count", "input_tokens", "output_tokens", "cached_tokens", "total_tokens", "total_cost", "duration_ms_sum") select "hour", "project_id", "service", "provider", "model", sum("request_count"), sum("success_count"), sum("input_tokens"), sum("output_tokens"), sum("cached_tokens"), sum("total_tokens"), sum("total_cost"), sum("duration_ms_sum") from "usage_hourly" group by "hour", "project_id", "service", "provider", "model";`);
    this.addSql(`insert into "usage_daily_scope" ("day", "project_id", "service", "provider", "model", "request_count", "success_count", "input_tokens", "output_tokens", "cached_tokens", "total_tokens", "total_cost", "duration_ms_sum") select date_trunc('day', "hour", 'UTC'), "project_id", "service", "provider", "model", sum("request_count"), sum("success_count"), sum("input_tokens"), sum("output_tokens"), sum("cached_tokens"), sum("total_tokens"), sum("total_cost"), sum("duration_ms_sum") from "usage_hourly_scope" group by 1, "project_id", "service", "provider", "model";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "usage_daily_scope" cascade;`);

    this.addSql(`drop table if exists "usage_hourly_scope" cascade;`);
  }

}
