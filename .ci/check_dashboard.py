#!/usr/bin/env python3
"""CI: deploy/grafana/gapscore.json is what deploy/grafana/generate.py
writes, and every query in it is valid PromQL over metrics the server
exports (each query becomes a recording rule that `promtool check rules`
parses, with Grafana's variables replaced by values)."""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

root = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / "deploy" / "grafana"))
import generate  # noqa: E402

committed = json.loads((root / "deploy/grafana/gapscore.json").read_text())
if committed != generate.dashboard():
    sys.exit("deploy/grafana/gapscore.json is stale: run `python3 deploy/grafana/generate.py`")

# The names the server exports (src/metrics.rs), histograms with their series.
exported = {
    "grpc_server_started_total", "grpc_server_handled_total",
    "grpc_server_handling_seconds_bucket", "http_server_requests_total",
    "http_server_request_duration_seconds_bucket", "gapscore_records_ingested_total",
    "gapscore_db_pool_connections", "gapscore_database_up", "gapscore_build_info",
}
exprs = [t["expr"] for p in committed["panels"] for t in p.get("targets", [])]
for expr in exprs:
    for name in re.findall(r"\b((?:grpc|http|gapscore)_[a-z_]+)\s*\{", expr):
        if name not in exported:
            sys.exit(f"dashboard query uses {name}, which the server does not export: {expr}")

values = {"$__rate_interval": "5m", "$job": "gapscore", "$instance": ".*"}
rules = []
for n, expr in enumerate(exprs):
    for variable, value in values.items():
        expr = expr.replace(variable, value)
    rules.append({"record": f"dashboard:query_{n}", "expr": expr})
with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
subprocess.run(["promtool", "check", "rules", f.name], check=True)
print(f"{len(exprs)} dashboard queries are valid PromQL")
