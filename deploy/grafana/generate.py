#!/usr/bin/env python3
"""Writes deploy/grafana/gapscore.json, the Grafana dashboard of gapscore.

Run it after editing the panels below: `python3 deploy/grafana/generate.py`.
CI checks the committed JSON is what this script writes, and that every
panel's query is valid PromQL (`promtool check rules` on them).
"""
import json
import pathlib

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job="$job", instance=~"$instance"'

# (title, unit, [(legend, expr)], width)
ROWS = [
    ("gRPC", [
        ("gRPC calls per second by method", "reqps", [
            ("{{grpc_service}}/{{grpc_method}}",
             f'sum by (grpc_service, grpc_method) (rate(grpc_server_handled_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("gRPC calls per second by code", "reqps", [
            ("{{grpc_code}}",
             f'sum by (grpc_code) (rate(grpc_server_handled_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("gRPC server-side error ratio", "percentunit", [
            ("server errors",
             f'sum(rate(grpc_server_handled_total{{{SEL}, grpc_code=~"Unknown|Internal|Unavailable|DataLoss|DeadlineExceeded"}}[$__rate_interval]))'
             f' / sum(rate(grpc_server_handled_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("Unary gRPC latency", "s", [
            (f"p{q}",
             f'histogram_quantile(0.{q}, sum by (le) (rate(grpc_server_handling_seconds_bucket{{{SEL}, grpc_type="unary"}}[$__rate_interval])))')
            for q in ("50", "95", "99")
        ]),
        ("Unary gRPC p99 latency by method", "s", [
            ("{{grpc_service}}/{{grpc_method}}",
             f'histogram_quantile(0.99, sum by (grpc_service, grpc_method, le) (rate(grpc_server_handling_seconds_bucket{{{SEL}, grpc_type="unary"}}[$__rate_interval])))'),
        ]),
        ("Calls in progress (started minus handled)", "short", [
            ("in progress",
             f'sum(grpc_server_started_total{{{SEL}}}) - sum(grpc_server_handled_total{{{SEL}}})'),
        ]),
    ]),
    ("JSON over HTTP", [
        ("HTTP requests per second by route", "reqps", [
            ("{{method}} {{route}}",
             f'sum by (method, route) (rate(http_server_requests_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("HTTP requests per second by status", "reqps", [
            ("{{code}}",
             f'sum by (code) (rate(http_server_requests_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("HTTP p99 latency by route", "s", [
            ("{{method}} {{route}}",
             f'histogram_quantile(0.99, sum by (method, route, le) (rate(http_server_request_duration_seconds_bucket{{{SEL}}}[$__rate_interval])))'),
        ]),
    ]),
    ("Data and database", [
        ("Records ingested per second", "short", [
            ("{{kind}} {{result}}",
             f'sum by (kind, result) (rate(gapscore_records_ingested_total{{{SEL}}}[$__rate_interval]))'),
        ]),
        ("Database pool connections", "short", [
            ("{{instance}} {{state}}", f'gapscore_db_pool_connections{{{SEL}}}'),
        ]),
        ("Database reachable", "short", [
            ("{{instance}}", f'gapscore_database_up{{{SEL}}}'),
        ]),
    ]),
]


def dashboard():
    panels, panel_id, y = [], 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"type": "row", "title": row_title, "id": panel_id,
                       "collapsed": False,
                       "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
        panel_id += 1
        y += 1
        for i, (title, unit, targets) in enumerate(row_panels):
            panels.append({
                "type": "timeseries",
                "title": title,
                "id": panel_id,
                "datasource": DS,
                "gridPos": {"x": (i % 3) * 8, "y": y + (i // 3) * 8, "w": 8, "h": 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                            "tooltip": {"mode": "multi"}},
                "targets": [
                    {"refId": chr(ord("A") + n), "datasource": DS,
                     "expr": expr, "legendFormat": legend}
                    for n, (legend, expr) in enumerate(targets)
                ],
            })
            panel_id += 1
        y += ((len(row_panels) + 2) // 3) * 8
    variable = lambda name, query, multi: {
        "name": name, "label": name, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": name}, "refresh": 2,
        "includeAll": multi, "multi": multi,
        **({"allValue": ".*"} if multi else {}),
    }
    return {
        "title": "gapscore",
        "uid": "gapscore",
        "description": "gapscore: gRPC and JSON-over-HTTP traffic, errors and latency; ingest; database.",
        "tags": ["gapscore", "grpc"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {"list": [
            {"name": "datasource", "label": "Prometheus", "type": "datasource",
             "query": "prometheus"},
            variable("job", "label_values(gapscore_build_info, job)", False),
            variable("instance", 'label_values(gapscore_build_info{job="$job"}, instance)', True),
        ]},
        "panels": panels,
    }


if __name__ == "__main__":
    out = pathlib.Path(__file__).with_name("gapscore.json")
    out.write_text(json.dumps(dashboard(), indent=2) + "\n")
