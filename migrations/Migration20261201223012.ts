import { Migration } from '@mikro-orm/migrations';

export class Migration20261201223012 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "token_usage" add column "time_to_first_token_ms" int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "token_usage" drop column "time_to_first_token_ms";`);
  }

}
