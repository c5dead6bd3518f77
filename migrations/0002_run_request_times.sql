ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "recent_requests" jsonb;--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."recent_requests" IS 'Epoch milliseconds of the run''s last requests (up to METAACCESS_RATE_LIMIT): the next run continues the same rate window instead of starting a fresh one';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."id" IS 'Compact device key (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."hwid" IS 'Hardware ID';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."hostname" IS 'Hostname';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."nickname" IS 'Admin-editable nickname';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."agent_type" IS 'Agent type';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."agent_version" IS 'Agent version';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."machine_type" IS 'Device type';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."country" IS 'Region of the device IP';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."active" IS 'Connected to the cloud';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."status" IS 'Compliance status: 0 compliant, 1 not compliant, 3 still reporting';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."critical_status" IS '1 = has critical issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."exempt" IS 'Exempted from the policy';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."total_issue" IS 'Number of issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."total_critical_issue" IS 'Number of critical issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."last_seen" IS 'Agent last report time (GMT)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."remediation_link" IS 'Remediation page URL';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."user_group" IS 'The API field "user"';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."logged_in_username" IS 'Logged-in user';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."logged_in_domain" IS 'Logged-in user domain';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."first_seen_at" IS 'Start of the run that first stored the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."last_synced_at" IS 'Start of the last run that saw the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_family" IS 'OS family';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_name" IS 'OS name';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_vendor" IS 'OS vendor';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_version" IS 'OS version';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_service_pack_version" IS 'OS service pack';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_architecture" IS 'OS architecture';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."os_language" IS 'OS language';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices_current"."user_password_set" IS 'Whether the OS user has a password';
