CREATE SCHEMA IF NOT EXISTS "metaaccess";
--> statement-breakpoint
CREATE TABLE "metaaccess"."compliance_daily" (
	"day" date PRIMARY KEY NOT NULL,
	"run_id" integer NOT NULL,
	"captured_at" timestamp with time zone NOT NULL,
	"devices" integer NOT NULL,
	"compliant" integer NOT NULL,
	"non_compliant" integer NOT NULL,
	"in_progress" integer NOT NULL,
	"critical" integer NOT NULL,
	"exempt" integer NOT NULL,
	"active" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."device_os" (
	"hwid" text PRIMARY KEY NOT NULL,
	"family" text,
	"name" text,
	"vendor" text,
	"version" text,
	"service_pack_version" text,
	"architecture" text,
	"os_language" text,
	"user_password_set" boolean
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."device_snapshots" (
	"device_id" integer NOT NULL,
	"run_id" integer NOT NULL,
	"captured_at" timestamp with time zone NOT NULL,
	"status" smallint,
	"critical_status" smallint,
	"exempt" boolean,
	"active" boolean,
	"total_issue" integer,
	"total_critical_issue" integer,
	"agent_version" text,
	"os_name" text,
	"os_version" text,
	"last_seen" timestamp with time zone,
	CONSTRAINT "device_snapshots_device_id_run_id_pk" PRIMARY KEY("device_id","run_id")
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."devices" (
	"hwid" text PRIMARY KEY NOT NULL,
	"id" integer GENERATED ALWAYS AS IDENTITY (sequence name "metaaccess"."devices_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"hostname" text,
	"nickname" text,
	"agent_type" text,
	"agent_version" text,
	"machine_type" text,
	"country" text,
	"active" boolean,
	"status" smallint,
	"critical_status" smallint,
	"exempt" boolean,
	"total_issue" integer,
	"total_critical_issue" integer,
	"last_seen" timestamp with time zone,
	"remediation_link" text,
	"user_group" text,
	"logged_in_username" text,
	"logged_in_domain" text,
	"raw" jsonb NOT NULL,
	"content_hash" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_synced_at" timestamp with time zone NOT NULL,
	"removed_at" timestamp with time zone,
	"first_run_id" integer NOT NULL,
	"last_run_id" integer NOT NULL,
	"missed_runs" smallint DEFAULT 0 NOT NULL,
	CONSTRAINT "devices_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."network_adapters" (
	"hwid" text NOT NULL,
	"position" smallint NOT NULL,
	"mac_addr" "macaddr",
	"ipv4_addr" "inet",
	"ipv6_addr" "inet",
	CONSTRAINT "network_adapters_hwid_position_pk" PRIMARY KEY("hwid","position")
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."rejected_records" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metaaccess"."rejected_records_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" integer NOT NULL,
	"page" integer NOT NULL,
	"reason" text NOT NULL,
	"raw" jsonb
);
--> statement-breakpoint
CREATE TABLE "metaaccess"."sync_runs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metaaccess"."sync_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"pages" integer DEFAULT 0 NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"rate_limited" integer DEFAULT 0 NOT NULL,
	"devices_seen" integer DEFAULT 0 NOT NULL,
	"devices_added" integer DEFAULT 0 NOT NULL,
	"devices_changed" integer DEFAULT 0 NOT NULL,
	"devices_removed" integer DEFAULT 0 NOT NULL,
	"records_rejected" integer DEFAULT 0 NOT NULL,
	"error_code" text,
	"error" text,
	"notes" text,
	CONSTRAINT "sync_runs_status_check" CHECK ("metaaccess"."sync_runs"."status" in ('running', 'succeeded', 'failed', 'cancelled', 'abandoned'))
);
--> statement-breakpoint
ALTER TABLE "metaaccess"."device_os" ADD CONSTRAINT "device_os_hwid_devices_hwid_fk" FOREIGN KEY ("hwid") REFERENCES "metaaccess"."devices"("hwid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_snapshots" ADD CONSTRAINT "device_snapshots_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "metaaccess"."devices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."device_snapshots" ADD CONSTRAINT "device_snapshots_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."network_adapters" ADD CONSTRAINT "network_adapters_hwid_devices_hwid_fk" FOREIGN KEY ("hwid") REFERENCES "metaaccess"."devices"("hwid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metaaccess"."rejected_records" ADD CONSTRAINT "rejected_records_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "metaaccess"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "device_snapshots_captured_at_idx" ON "metaaccess"."device_snapshots" USING btree ("captured_at");--> statement-breakpoint
CREATE INDEX "devices_last_run_id_idx" ON "metaaccess"."devices" USING btree ("last_run_id");--> statement-breakpoint
CREATE INDEX "rejected_records_run_id_idx" ON "metaaccess"."rejected_records" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "sync_runs_status_idx" ON "metaaccess"."sync_runs" USING btree ("status","id");