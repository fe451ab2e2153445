// Smoke test of the TypeScript client generated from the protos
// (@bufbuild/protoc-gen-es, @connectrpc/connect-node over gRPC): submit
// survey responses, read the scorecard, check the NPS it reports.
//
// Usage: node smoke.js HOST:PORT API_KEY (after tsc, see clients/run).

import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { RespondentRole } from "./gen/gapscore/v1/common_pb.js";
import { ScoringService } from "./gen/gapscore/v1/scoring_pb.js";
import {
  AnswerSchema,
  SurveyResponseSchema,
  SurveyService,
} from "./gen/gapscore/v1/survey_pb.js";

const [target, key] = process.argv.slice(2);
const transport = createGrpcTransport({ baseUrl: `http://${target}` });
const headers = { authorization: `Bearer ${key}` };
const survey = createClient(SurveyService, transport);
const scoring = createClient(ScoringService, transport);

const counts = (c?: { inserted: bigint; updated: bigint; unchanged: bigint }) =>
  `inserted ${c?.inserted}, updated ${c?.updated}, unchanged ${c?.unchanged}`;

function check(ok: boolean, what: string): void {
  if (!ok) {
    throw new Error(what);
  }
}

// 20 customers: 10 promoters (10), 5 passives (8), 5 detractors (3):
// NPS = 100 * (10 - 5) / 20 = 25.
const scores = [...Array(10).fill(10), ...Array(5).fill(8), ...Array(5).fill(3)];
const submittedAt = timestampFromMs(Date.now() - 60_000);
const responses = scores.map((score, i) =>
  create(SurveyResponseSchema, {
    id: `ts-${i}`,
    role: RespondentRole.CUSTOMER,
    submittedAt,
    answers: [create(AnswerSchema, { question: "likelihood_to_recommend", score })],
  }),
);

const first = await survey.submitSurveyResponses({ responses }, { headers });
check(first.counts?.inserted === 20n, `first submit: ${counts(first.counts)}`);
const again = await survey.submitSurveyResponses({ responses }, { headers });
check(again.counts?.unchanged === 20n, `second submit: ${counts(again.counts)}`);

const card = await scoring.getScorecard({}, { headers });
const nps = card.customerNps;
check(nps?.respondents === 20n, `respondents: ${nps?.respondents}`);
check(Math.abs((nps?.netScore ?? NaN) - 25) < 1e-9, `NPS: ${nps?.netScore}`);

try {
  await scoring.getScorecard({});
  throw new Error("a call without a key succeeded");
} catch (err) {
  check(
    err instanceof ConnectError && err.code === Code.Unauthenticated,
    `without a key: ${err}`,
  );
}

console.log(
  `typescript client: ok (submitted 20 responses twice, scorecard NPS ${nps?.netScore} of ${nps?.respondents})`,
);
