-- The month grain of the label-set level read by label set (issue 12,
-- docs/decisions/label-rollup.md).
--
-- A label-filtered report joins the tenant's label sets that match the
-- filter to `gap_label_month`; through `gap_label_month_question`
-- (tenant, question, month) it read every set's month rows and kept the
-- matching ones (132,944 rows read for 33,209 kept at 1M answers with a
-- filter matching 9 of 36 sets: 65 ms). Leading with the set, each
-- matching set is one range of this index (27 ms, the same rows).
-- `group_by`, which reads every set, keeps the question index. The month
-- grain is written only by the compactor's fold, so ingest pays nothing.
CREATE INDEX gap_label_month_set ON gap_label_month (tenant_id, label_set, question, month)
    INCLUDE (role, score, survey_id, answers);
