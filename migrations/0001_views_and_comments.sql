-- Hand-written: the BI view and the documentation every table and column carries.
CREATE VIEW "metaaccess"."devices_current" AS
SELECT d.id, d.hwid, d.hostname, d.nickname, d.agent_type, d.agent_version, d.machine_type, d.country,
       d.active, d.status, d.critical_status, d.exempt, d.total_issue, d.total_critical_issue, d.last_seen,
       d.remediation_link, d.user_group, d.logged_in_username, d.logged_in_domain,
       d.first_seen_at, d.last_synced_at,
       o.family AS os_family, o.name AS os_name, o.vendor AS os_vendor, o.version AS os_version,
       o.service_pack_version AS os_service_pack_version, o.architecture AS os_architecture,
       o.os_language, o.user_password_set
FROM "metaaccess"."devices" d
LEFT JOIN "metaaccess"."device_os" o ON o.hwid = d.hwid
WHERE d.removed_at IS NULL;
--> statement-breakpoint
COMMENT ON SCHEMA "metaaccess" IS 'OPSWAT MetaAccess device inventory, written by metaaccess-sync';
--> statement-breakpoint
COMMENT ON VIEW "metaaccess"."devices_current" IS 'Devices present in the account now (not removed), one row each, with their OS. Start BI dashboards here.';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."devices" IS 'Current state of every device ever seen, keyed by the API hwid; removed devices keep their row with removed_at set';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."hwid" IS 'Hardware ID: the device identity in MetaAccess';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."id" IS 'Compact surrogate key used by device_snapshots';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."hostname" IS 'Hostname reported by the agent';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."nickname" IS 'Admin-editable nickname';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."agent_type" IS 'Agent type (managed, guest, persistent, ...)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."agent_version" IS 'MetaAccess agent version on the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."machine_type" IS 'Device type (desktop, laptop, server, vm, phone, tablet, ...)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."country" IS 'Region the device IP geolocates to';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."active" IS 'true = connected to the MetaAccess cloud, false = disconnected (API active 1/0)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."status" IS 'Compliance status: 0 compliant, 1 not compliant, 3 still reporting; other values stored as received';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."critical_status" IS '0 no critical issue, 1 has critical issues';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."exempt" IS 'true = exempted from the compliance policy (API exempt 1/0)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."total_issue" IS 'Number of issues seen on the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."total_critical_issue" IS 'Number of critical issues seen on the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."last_seen" IS 'When the agent last reported to the cloud (API last_seen, GMT)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."remediation_link" IS 'URL of the device remediation page';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."user_group" IS 'The API field "user": username of a group';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."logged_in_username" IS 'Currently logged-in user (API user_info.username)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."logged_in_domain" IS 'Domain of the logged-in user (API user_info.domain)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."raw" IS 'The device object exactly as received (NUL characters removed), including fields not mapped to columns';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."content_hash" IS 'Hash of the normalized fields except last_seen; a different hash counts the device as changed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."first_seen_at" IS 'Start of the run that first stored this device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."last_synced_at" IS 'Start of the last run that saw this device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."removed_at" IS 'When a complete run confirmed the device gone; NULL while present';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."first_run_id" IS 'sync_runs.id of the run that first stored this device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."last_run_id" IS 'sync_runs.id of the last run that saw this device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."devices"."missed_runs" IS 'Consecutive complete runs that did not see this device (REMOVAL_CONFIRM=next-run removes at 2)';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."device_os" IS 'Operating system of each device that reported os_info';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."hwid" IS 'The device (devices.hwid)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."family" IS 'OS family (Windows, macOS, android, ...)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."name" IS 'OS name, e.g. Windows 11 Enterprise';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."vendor" IS 'OS vendor';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."version" IS 'OS version';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."service_pack_version" IS 'OS service pack version';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."architecture" IS 'OS architecture, e.g. 64-Bit';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."os_language" IS 'OS language';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_os"."user_password_set" IS 'Whether the OS user has a password (API "1"/"0")';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."network_adapters" IS 'One row per entry of a device network_info; replaced as a set on every sync of the device';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."network_adapters"."hwid" IS 'The device (devices.hwid)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."network_adapters"."position" IS 'Index of the entry in network_info';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."network_adapters"."mac_addr" IS 'MAC address; NULL when empty or invalid (raw text in devices.raw)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."network_adapters"."ipv4_addr" IS 'IPv4 address; NULL when empty or invalid';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."network_adapters"."ipv6_addr" IS 'IPv6 address (zone id dropped); NULL when empty or invalid';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."sync_runs" IS 'One row per sync run: outcome, API usage and device counts';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."id" IS 'Run number';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."started_at" IS 'When the run started';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."finished_at" IS 'When the run ended (any outcome)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."status" IS 'running, succeeded, failed, cancelled, or abandoned (its process died)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."trigger" IS 'What started the run: cli, schedule, demo';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."pages" IS 'Device pages stored';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."requests" IS 'HTTP requests sent to the API, retries and token requests included';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."retries" IS 'Requests repeated after a 429, 5xx, timeout or reset';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."rate_limited" IS 'HTTP 429 answers received';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."devices_seen" IS 'Distinct devices read';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."devices_added" IS 'Devices new to the database, or back after being removed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."devices_changed" IS 'Known devices whose fields, OS or adapters changed (last_seen alone does not count)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."devices_removed" IS 'Devices this run marked removed';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."records_rejected" IS 'Records written to rejected_records';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."error_code" IS 'Error code of a failed run (API_SERVER_ERROR, API_BAD_BODY, ...)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."error" IS 'Error message of a failed run (secrets redacted)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."notes" IS 'Warnings of a run, e.g. why the removal guard kept devices';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."device_snapshots" IS 'Compliance fields of every device seen by each succeeded run; the history for trends';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."device_id" IS 'The device (devices.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."run_id" IS 'The succeeded run (sync_runs.id)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."captured_at" IS 'When the run finished';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."status" IS 'Compliance status then (0 compliant, 1 not compliant, 3 still reporting)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."critical_status" IS 'Critical status then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."exempt" IS 'Exempt then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."active" IS 'Connected to the cloud then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."total_issue" IS 'Issues then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."total_critical_issue" IS 'Critical issues then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."agent_version" IS 'Agent version then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."os_name" IS 'OS name then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."os_version" IS 'OS version then';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."device_snapshots"."last_seen" IS 'Agent last report time as of the run';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."rejected_records" IS 'Device records that could not be normalized, with the reason; the run stored the rest';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."rejected_records"."id" IS 'Row number';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."rejected_records"."run_id" IS 'The run that received it';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."rejected_records"."page" IS 'API page it came from';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."rejected_records"."reason" IS 'Why it was rejected';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."rejected_records"."raw" IS 'The record as received (NUL characters removed)';
--> statement-breakpoint
COMMENT ON TABLE "metaaccess"."compliance_daily" IS 'Per-day compliance totals from the last succeeded run of the day (SYNC_TIMEZONE); survives snapshot retention';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."day" IS 'Calendar day of the run start in SYNC_TIMEZONE';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."run_id" IS 'The run the figures come from';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."captured_at" IS 'When that run finished';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."devices" IS 'Devices present';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."compliant" IS 'Devices with status 0';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."non_compliant" IS 'Devices with status 1';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."in_progress" IS 'Devices with status 3 (still reporting)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."critical" IS 'Devices with critical_status 1';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."exempt" IS 'Exempted devices';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."compliance_daily"."active" IS 'Devices connected to the cloud';
