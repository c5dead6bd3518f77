ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "rate_limit_wait_ms" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "next_page" integer;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "attempt_of" integer;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "resumed_from" integer;--> statement-breakpoint
ALTER TABLE "metaaccess"."sync_runs" ADD COLUMN "resume_page" integer;
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."next_page" IS 'The first page of the list this run had not yet committed: where a run that resumes it starts reading';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."attempt_of" IS 'For a run that resumed an interrupted one: the id of the first attempt of the same logical sync (removals and the snapshot cover what every attempt saw)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."resumed_from" IS 'The interrupted run this run continued (NULL: it started from page 1)';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."resume_page" IS 'The page this run started reading at when it resumed another';
--> statement-breakpoint
COMMENT ON COLUMN "metaaccess"."sync_runs"."rate_limit_wait_ms" IS 'Wall time during which at least one of the run''s requests waited for a rate-limit slot';
