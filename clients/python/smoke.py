"""Smoke test of the Python client generated from the protos (grpcio-tools):
submit survey responses, read the scorecard, check the NPS it reports.

Usage: smoke.py GENERATED_DIR HOST:PORT API_KEY
"""

import sys
import time

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

from gapscore.v1 import common_pb2, scoring_pb2, scoring_pb2_grpc  # noqa: E402
from gapscore.v1 import survey_pb2, survey_pb2_grpc  # noqa: E402

target, key = sys.argv[2], sys.argv[3]
metadata = [("authorization", f"Bearer {key}")]
channel = grpc.insecure_channel(target)
grpc.channel_ready_future(channel).result(timeout=30)

# 20 customers: 10 promoters (10), 5 passives (8), 5 detractors (3):
# NPS = 100 * (10 - 5) / 20 = 25.
scores = [10] * 10 + [8] * 5 + [3] * 5
now = Timestamp()
now.FromSeconds(int(time.time()) - 60)
responses = [
    survey_pb2.SurveyResponse(
        id=f"py-{i}",
        role=common_pb2.RESPONDENT_ROLE_CUSTOMER,
        submitted_at=now,
        answers=[survey_pb2.Answer(question="likelihood_to_recommend", score=s)],
    )
    for i, s in enumerate(scores)
]
survey = survey_pb2_grpc.SurveyServiceStub(channel)
request = survey_pb2.SubmitSurveyResponsesRequest(responses=responses)
counts = survey.SubmitSurveyResponses(request, metadata=metadata).counts
assert counts.inserted + counts.unchanged == 20, counts
again = survey.SubmitSurveyResponses(request, metadata=metadata).counts
assert again.unchanged == 20, again

scoring = scoring_pb2_grpc.ScoringServiceStub(channel)
card = scoring.GetScorecard(scoring_pb2.GetScorecardRequest(), metadata=metadata)
nps = card.customer_nps
assert nps.respondents == 20, nps
assert abs(nps.net_score - 25.0) < 1e-9, nps

try:
    scoring.GetScorecard(scoring_pb2.GetScorecardRequest())
    raise AssertionError("a call without a key succeeded")
except grpc.RpcError as err:
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err

print(f"python client: ok (submitted 20 responses twice, scorecard NPS {nps.net_score:g} of {nps.respondents})")
