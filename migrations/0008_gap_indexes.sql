-- Perception-gap scans (SPEC §5), store::gap.
--
-- answers_question_time already covers (role, score), so a window-only gap
-- query is an index-only scan. Queries that scope by labels or survey_id, or
-- group by a label, join survey_responses on rid, which that index lacks:
-- PostgreSQL fell back to a bitmap heap scan of answers (every heap page of
-- the window; answers rows carry comments, so the heap is the big part).
-- The same index with rid added makes those joins index-only as well.
--
-- Measured on 2 million answers / 400,000 responses over two tenants
-- (PostgreSQL 15, 2 cores, warm cache), 9 RATING questions:
--   window only, 1 year of 2         index-only scan, 600k rows, ~0.4 s
--   labels @> {region}, 1 year       before: bitmap heap scan of answers
--                                    after: index-only scan + hash join
--   group_by region, 1 month         window applied to survey_responses as
--                                    well: 0.44 s -> 0.14 s (index on
--                                    survey_responses_time instead of a
--                                    full scan of the tenant's responses)
--   group_by region, everything      1.2M rows joined: ~1.7 s serial,
--                                    ~1.0 s with 2 parallel workers
-- The index replaces answers_question_time, of which it is a superset, so
-- writes maintain one index, not two.
CREATE INDEX answers_question_scores ON answers (tenant_id, question, submitted_at)
    INCLUDE (role, score, rid);
DROP INDEX answers_question_time;
