import { Migration } from '@mikro-orm/migrations';

export class Migration20261201193447 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "cost_alert" drop constraint if exists "cost_alert_alert_type_check";`);

    this.addSql(`alter table "cost_alert" add constraint "cost_alert_alert_type_check" check("alert_type" in ('WARNING', 'CRITICAL', 'EXCEEDED', 'SPIKE', 'FORECAST'));`);
  }

  override async down(): Promise<void> {
    // The old constraint cannot hold FORECAST alerts: going down drops them (and their notifications, by cascade).
    this.addSql(`delete from "cost_alert" where "alert_type" = 'FORECAST';`);
    this.addSql(`alter table "cost_alert" drop constraint if exists "cost_alert_alert_type_check";`);

    this.addSql(`alter table "cost_alert" add constraint "cost_alert_alert_type_check" check("alert_type" in ('WARNING', 'CRITICAL', 'EXCEEDED', 'SPIKE'));`);
  }

}
