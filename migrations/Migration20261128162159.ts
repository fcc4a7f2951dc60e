import { Migration } from '@mikro-orm/migrations';

export class Migration20261128162159 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "api_key" ("id" uuid not null, "name" text not null, "role" text check ("role" in ('ADMIN', 'SERVICE', 'VIEWER')) not null, "user_id" text null, "project_id" text null, "service" text null, "prefix" text not null, "secret_hash" text not null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_key_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_key" add constraint "api_key_prefix_unique" unique ("prefix");`);

    this.addSql(`create table "budget" ("id" uuid not null, "name" text not null, "budget_type" text check ("budget_type" in ('USER', 'PROJECT', 'SERVICE', 'GLOBAL')) not null, "user_id" text null, "project_id" text null, "scope_id" text null, "limit_type" text check ("limit_type" in ('COST', 'TOKENS')) not null, "limit_period" text check ("limit_period" in ('HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'TOTAL')) not null, "limit_value" numeric(30,12) not null, "warning_threshold" double precision not null default 0.8, "critical_threshold" double precision not null default 0.95, "fallback_threshold" double precision not null default 0.9, "enable_fallback" boolean not null default false, "fallback_provider" text null, "fallback_model" text null, "hard_limit_enabled" boolean not null default false, "block_on_exceeded" boolean not null default true, "is_active" boolean not null default true, "is_enforced" boolean not null default true, "allowed_providers" text[] null, "blocked_models" text[] null, "max_cost_per_request" numeric(30,12) null, "enable_spike_detection" boolean not null default false, "spike_threshold_multiplier" double precision not null default 3, "spike_window_hours" int not null default 1, "alert_on_spike" boolean not null default true, "alert_channels" text[] not null, "alert_recipients" text[] not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, constraint "budget_pkey" primary key ("id"), constraint budget_limit_positive check (limit_value > 0));`);
    this.addSql(`create index "budget_budget_type_is_active_index" on "budget" ("budget_type", "is_active");`);
    this.addSql(`create unique index "budget_name_live_unique" on "budget" ("name") where "deleted_at" is null;`);

    this.addSql(`create table "budget_ledger" ("budget_id" uuid not null, "period_start" timestamptz not null, "used" numeric(30,12) not null default 0, "reserved" numeric(30,12) not null default 0, "updated_at" timestamptz not null default now(), constraint "budget_ledger_pkey" primary key ("budget_id", "period_start"), constraint budget_ledger_non_negative check (used >= 0 and reserved >= 0));`);

    this.addSql(`create table "budget_reservation" ("id" uuid not null, "budget_id" uuid not null, "period_start" timestamptz not null, "amount" numeric(30,12) not null, "request_id" text not null, "expires_at" timestamptz not null, "created_at" timestamptz not null default now(), constraint "budget_reservation_pkey" primary key ("id"));`);
    this.addSql(`create index "budget_reservation_request_id_index" on "budget_reservation" ("request_id");`);
    this.addSql(`create index "budget_reservation_expires_at_index" on "budget_reservation" ("expires_at");`);

    this.addSql(`create table "cost_alert" ("id" uuid not null, "dedup_key" text not null, "budget_id" uuid null, "alert_type" text check ("alert_type" in ('WARNING', 'CRITICAL', 'EXCEEDED', 'SPIKE')) not null, "severity" text check ("severity" in ('INFO', 'WARNING', 'CRITICAL')) not null, "status" text check ("status" in ('ACTIVE', 'ACKNOWLEDGED', 'RESOLVED')) not null default 'ACTIVE', "message" text not null, "usage_percentage" double precision null, "current_value" numeric(30,12) null, "limit_value" numeric(30,12) null, "spike_multiplier" double precision null, "user_id" text null, "project_id" text null, "provider" text null, "model" text null, "action_taken" text null, "period_start" timestamptz null, "created_at" timestamptz not null default now(), "acknowledged_at" timestamptz null, "acknowledged_by" text null, "resolved_at" timestamptz null, "resolved_by" text null, constraint "cost_alert_pkey" primary key ("id"));`);
    this.addSql(`alter table "cost_alert" add constraint "cost_alert_dedup_key_unique" unique ("dedup_key");`);
    this.addSql(`create index "cost_alert_budget_id_created_at_index" on "cost_alert" ("budget_id", "created_at");`);
    this.addSql(`create index "cost_alert_status_created_at_index" on "cost_alert" ("status", "created_at");`);

    this.addSql(`create table "alert_notification" ("id" uuid not null, "alert_id" uuid not null, "channel" text check ("channel" in ('SLACK', 'EMAIL', 'PAGERDUTY', 'ALERTMANAGER', 'WEBHOOK')) not null, "recipient" text not null, "event" text check ("event" in ('TRIGGER', 'RESOLVE')) not null default 'TRIGGER', "status" text check ("status" in ('PENDING', 'SENT', 'FAILED')) not null default 'PENDING', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "locked_until" timestamptz null, "last_error" text null, "sent_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "alert_notification_pkey" primary key ("id"));`);
    this.addSql(`create index "alert_notification_alert_id_index" on "alert_notification" ("alert_id");`);
    this.addSql(`create index "alert_notification_status_next_attempt_at_index" on "alert_notification" ("status", "next_attempt_at");`);

    this.addSql(`create table "idempotency_record" ("caller_id" text not null, "key" text not null, "request_id" text not null, "result" jsonb null, "expires_at" timestamptz not null, "created_at" timestamptz not null default now(), constraint "idempotency_record_pkey" primary key ("caller_id", "key"));`);

    this.addSql(`create table "model_price" ("id" uuid not null, "provider" text not null, "model" text not null, "input_per_million" numeric(24,12) not null, "output_per_million" numeric(24,12) not null, "cached_input_per_million" numeric(24,12) null, "cache_write_per_million" numeric(24,12) null, "effective_from" timestamptz not null, "created_at" timestamptz not null default now(), constraint "model_price_pkey" primary key ("id"));`);
    this.addSql(`create index "model_price_provider_model_effective_from_index" on "model_price" ("provider", "model", "effective_from");`);

    this.addSql(`create table "token_usage" ("id" bigserial primary key, "request_id" text not null, "user_id" text null, "project_id" text null, "service" text null, "endpoint" text null, "requested_provider" text not null, "requested_model" text not null, "provider" text not null, "model" text not null, "fallback_used" boolean not null default false, "fallback_reason" text null, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cached_tokens" bigint not null default 0, "cache_write_tokens" bigint not null default 0, "total_tokens" bigint not null default 0, "input_cost" numeric(30,12) not null default 0, "output_cost" numeric(30,12) not null default 0, "total_cost" numeric(30,12) not null default 0, "input_price_per_million" numeric(24,12) null, "output_price_per_million" numeric(24,12) null, "cached_price_per_million" numeric(24,12) null, "cache_write_price_per_million" numeric(24,12) null, "duration_ms" int not null default 0, "provider_duration_ms" int not null default 0, "success" boolean not null, "error_code" text null, "api_key_id" uuid null, "created_at" timestamptz not null default now());`);
    this.addSql(`alter table "token_usage" add constraint "token_usage_request_id_unique" unique ("request_id");`);
    this.addSql(`create index "token_usage_service_created_at_index" on "token_usage" ("service", "created_at");`);
    this.addSql(`create index "token_usage_project_id_created_at_index" on "token_usage" ("project_id", "created_at");`);
    this.addSql(`create index "token_usage_user_id_created_at_index" on "token_usage" ("user_id", "created_at");`);
    this.addSql(`create index "token_usage_created_at_id_index" on "token_usage" ("created_at", "id");`);

    this.addSql(`create table "token_usage_budget" ("usage_id" bigint not null, "budget_id" uuid not null, "period_start" timestamptz not null, "amount" numeric(30,12) not null, constraint "token_usage_budget_pkey" primary key ("usage_id", "budget_id"));`);
    this.addSql(`create index "token_usage_budget_budget_id_period_start_index" on "token_usage_budget" ("budget_id", "period_start");`);

    this.addSql(`create table "usage_hourly" ("hour" timestamptz not null, "user_id" text not null default '', "project_id" text not null default '', "service" text not null default '', "provider" text not null, "model" text not null, "request_count" bigint not null default 0, "success_count" bigint not null default 0, "input_tokens" bigint not null default 0, "output_tokens" bigint not null default 0, "cached_tokens" bigint not null default 0, "total_tokens" bigint not null default 0, "total_cost" numeric(30,12) not null default 0, "duration_ms_sum" bigint not null default 0, constraint "usage_hourly_pkey" primary key ("hour", "user_id", "project_id", "service", "provider", "model"));`);
    this.addSql(`create index "usage_hourly_project_id_hour_index" on "usage_hourly" ("project_id", "hour");`);
    this.addSql(`create index "usage_hourly_user_id_hour_index" on "usage_hourly" ("user_id", "hour");`);

    this.addSql(`alter table "budget_ledger" add constraint "budget_ledger_budget_id_foreign" foreign key ("budget_id") references "budget" ("id") on update cascade;`);

    this.addSql(`alter table "budget_reservation" add constraint "budget_reservation_budget_id_foreign" foreign key ("budget_id") references "budget" ("id") on update cascade;`);

    this.addSql(`alter table "cost_alert" add constraint "cost_alert_budget_id_foreign" foreign key ("budget_id") references "budget" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "alert_notification" add constraint "alert_notification_alert_id_foreign" foreign key ("alert_id") references "cost_alert" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "token_usage_budget" add constraint "token_usage_budget_usage_id_foreign" foreign key ("usage_id") references "token_usage" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "token_usage_budget" add constraint "token_usage_budget_budget_id_foreign" foreign key ("budget_id") references "budget" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "budget_ledger" drop constraint "budget_ledger_budget_id_foreign";`);

    this.addSql(`alter table "budget_reservation" drop constraint "budget_reservation_budget_id_foreign";`);

    this.addSql(`alter table "cost_alert" drop constraint "cost_alert_budget_id_foreign";`);

    this.addSql(`alter table "token_usage_budget" drop constraint "token_usage_budget_budget_id_foreign";`);

    this.addSql(`alter table "alert_notification" drop constraint "alert_notification_alert_id_foreign";`);

    this.addSql(`alter table "token_usage_budget" drop constraint "token_usage_budget_usage_id_foreign";`);

    this.addSql(`drop table if exists "api_key" cascade;`);

    this.addSql(`drop table if exists "budget" cascade;`);

    this.addSql(`drop table if exists "budget_ledger" cascade;`);

    this.addSql(`drop table if exists "budget_reservation" cascade;`);

    this.addSql(`drop table if exists "cost_alert" cascade;`);

    this.addSql(`drop table if exists "alert_notification" cascade;`);

    this.addSql(`drop table if exists "idempotency_record" cascade;`);

    this.addSql(`drop table if exists "model_price" cascade;`);

    this.addSql(`drop table if exists "token_usage" cascade;`);

    this.addSql(`drop table if exists "token_usage_budget" cascade;`);

    this.addSql(`drop table if exists "usage_hourly" cascade;`);
  }

}
