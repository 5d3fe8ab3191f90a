"""What `/metrics` shows (Prometheus text, prometheus-client): counted where things happen,
read by the web server. One registry per process; a process that does not serve HTTP just
counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

UPDATES = Counter("vstbpn_updates", "Updates handled, by channel and outcome (ok, error)",
                  ["channel", "outcome"], registry=REGISTRY)
HANDLER_SECONDS = Histogram(
    "vstbpn_handler_seconds", "Our own time to answer one update (sending not included)",
    ["channel"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
REMINDERS = Counter("vstbpn_reminders", "Outbox messages planned, sent, skipped (by reason) "
                    "or failed", ["event", "reason"], registry=REGISTRY)
OUTBOX_LAG = Gauge("vstbpn_outbox_lag_seconds", "How long the oldest message due has waited "
                   "(0: none waiting)", registry=REGISTRY)
CHECKINS = Counter("vstbpn_checkins", "Check-ins stored, by channel", ["channel"],
                   registry=REGISTRY)
LEADER = Gauge("vstbpn_leader", "1 while this process runs the clock (planner, dispatcher)",
               registry=REGISTRY)


def leading() -> bool:
    return bool(REGISTRY.get_sample_value("vstbpn_leader"))
