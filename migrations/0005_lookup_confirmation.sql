ALTER TABLE "metaaccess"."sync_runs" DROP CONSTRAINT "sync_runs_status_check";--> statement-breakpoint
ALTER TABLE "metaaccess"."devices" ADD COLUMN "lookup_found_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "end_page" integer;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD CONSTRAINT "sync_runs_status_check" CHECK ("metaaccess"."sync_runs"."status" in ('running', 'succeeded', 'incomplete', 'failed', 'cancelled', 'abandoned'));--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."missed_runs" IS 'Consecutive complete runs whose device list did not show this device (reset when the list shows it again)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."lookup_found_at" IS 'When Device Details last found this device while the list did not show it (REMOVAL_CONFIRM=lookup); NULL once the list shows it again';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."end_page" IS 'The page that ended the device list (answered 413 or an empty array); later runs do not prefetch past it';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."status" IS 'running, succeeded, incomplete (the removal guard tripped: the list looked truncated, so no device was removed and no snapshot added), failed, cancelled or abandoned';
