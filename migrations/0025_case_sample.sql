-- The bootstrap's case sample in the order of an index (issue 12, SPEC §11,
-- docs/decisions/statistics.md "The bootstrap's sample").
--
-- GetKeyDrivers resamples at most 20,000 complete cases; above that it
-- takes the first 20,000 in a fixed pseudo-random order. That order was
-- `hashint8extended(rid, seed)`, which no index can hold, so every call
-- grouped every answer in scope by response and sorted all the complete
-- cases to keep the first 20,000 (2.4 s at 10 million answers). The order
-- is now `hashint8extended(rid, 0), rid`, the same for every seed (the seed
-- still drives the resampling), and this index holds it for the CUSTOMER
-- responses (role 3, the only ones that are cases): the sample is read by
-- walking the index and keeping the complete cases in scope until there
-- are enough (`store::drivers::complete_cases`).
CREATE INDEX survey_responses_case_sample
    ON survey_responses (tenant_id, hashint8extended(rid, 0), rid)
    WHERE role = 3;
